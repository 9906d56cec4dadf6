// UTC calendar fields to and from seconds (daemon/core/utc_calendar.h), against absl's civil time in UTC.
#include "daemon/core/utc_calendar.h"

#include <gtest/gtest.h>

#include <random>
#include <tuple>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tact {
namespace {

CivilUtc FromAbsl(const absl::CivilSecond& cs) {
  return {.year = static_cast<int>(cs.year()), .month = cs.month(), .day = cs.day(),
          .hour = cs.hour(), .minute = cs.minute(), .second = cs.second()};
}

// Every second of the Timestamp range is as likely, plus both ends, the epoch, leap days and century years.
TEST(UtcCalendarTest, BothWaysAsAbslOverTheWholeRange) {
  std::vector<int64_t> seconds = {kMinTimestampSeconds, kMaxTimestampSeconds, 0, -1, 86'399, -86'401,
                                  951'782'400,      // 2000-02-29T00:00:00Z
                                  -2'203'891'200,   // 1900-03-01T00:00:00Z
                                  4'107'542'399};   // 2100-02-28T23:59:59Z
  std::mt19937_64 rng(2026);
  std::uniform_int_distribution<int64_t> any(kMinTimestampSeconds, kMaxTimestampSeconds);
  for (int i = 0; i < 50'000; ++i) seconds.push_back(any(rng));
  for (const int64_t s : seconds) {
    const absl::CivilSecond cs = absl::ToCivilSecond(absl::FromUnixSeconds(s), absl::UTCTimeZone());
    const CivilUtc want = FromAbsl(cs);
    const CivilUtc got = ToCivilUtc(s);
    ASSERT_EQ(std::tie(got.year, got.month, got.day, got.hour, got.minute, got.second),
              std::tie(want.year, want.month, want.day, want.hour, want.minute, want.second))
        << s;
    int64_t back = 0;
    ASSERT_TRUE(FromCivilUtc(want, &back)) << s;
    ASSERT_EQ(back, s);
  }
}

TEST(UtcCalendarTest, OnlyRealTimesHaveSeconds) {
  int64_t s = 7;
  EXPECT_TRUE(FromCivilUtc({.year = 2024, .month = 2, .day = 29}, &s));
  EXPECT_EQ(s, 1'709'164'800);  // 2024-02-29T00:00:00Z
  EXPECT_TRUE(FromCivilUtc({.year = 2000, .month = 2, .day = 29}, &s));
  s = 7;
  for (const CivilUtc bad : {CivilUtc{.year = 2026, .month = 2, .day = 29},  // not a leap year
                             CivilUtc{.year = 1900, .month = 2, .day = 29},  // a century, not a leap year
                             CivilUtc{.year = 2026, .month = 4, .day = 31}, CivilUtc{.year = 2026, .month = 13},
                             CivilUtc{.year = 2026, .month = 0}, CivilUtc{.year = 2026, .month = 1, .day = 0},
                             CivilUtc{.year = 2026, .month = 1, .day = 1, .hour = 24},
                             CivilUtc{.year = 2026, .month = 1, .day = 1, .minute = 60},
                             CivilUtc{.year = 2026, .month = 12, .day = 31, .hour = 23, .minute = 59, .second = 60}}) {
    EXPECT_FALSE(FromCivilUtc(bad, &s)) << bad.year << "-" << bad.month << "-" << bad.day << " " << bad.hour << ":"
                                        << bad.minute << ":" << bad.second;
  }
  EXPECT_EQ(s, 7) << "not written when refused";
}

}  // namespace
}  // namespace tact
