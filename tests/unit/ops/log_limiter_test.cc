#include "daemon/ops/log_limiter.h"

#include <gtest/gtest.h>

namespace tact::ops {
namespace {

TEST(LogLimiterTest, OneLinePerKeyPerIntervalWithTheCountDropped) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  LogLimiter limiter(clock, absl::Seconds(10));
  int64_t suppressed = -1;
  EXPECT_TRUE(limiter.ShouldWrite("kafka.produce_failed", "tact.released X", &suppressed));
  EXPECT_EQ(suppressed, 0);
  // A retry loop failing 1000 times within the interval writes nothing more…
  for (int i = 0; i < 1000; ++i) {
    clock.Advance(absl::Milliseconds(9));
    EXPECT_FALSE(limiter.ShouldWrite("kafka.produce_failed", "tact.released X", &suppressed)) << i;
  }
  // …and the first line after it says how many were dropped.
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(limiter.ShouldWrite("kafka.produce_failed", "tact.released X", &suppressed));
  EXPECT_EQ(suppressed, 1000);
  EXPECT_FALSE(limiter.ShouldWrite("kafka.produce_failed", "tact.released X", &suppressed));
  clock.Advance(absl::Seconds(10));
  EXPECT_TRUE(limiter.ShouldWrite("kafka.produce_failed", "tact.released X", &suppressed));
  EXPECT_EQ(suppressed, 1);
}

TEST(LogLimiterTest, DistinctEventsAndKeysAreLimitedApart) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  LogLimiter limiter(clock, absl::Seconds(10));
  int64_t suppressed = 0;
  EXPECT_TRUE(limiter.ShouldWrite("kafka.produce_failed", "tact.released X", &suppressed));
  EXPECT_TRUE(limiter.ShouldWrite("kafka.produce_failed", "tact.decisions X", &suppressed));
  EXPECT_TRUE(limiter.ShouldWrite("kafka.delivery_failed", "tact.released X", &suppressed));
  EXPECT_TRUE(limiter.ShouldWrite("kafka.produce_failed", "tact.released Y", &suppressed));
  EXPECT_FALSE(limiter.ShouldWrite("kafka.produce_failed", "tact.released X", &suppressed));
}

TEST(LogLimiterTest, RemembersAtMostMaxKeys) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  LogLimiter limiter(clock, absl::Seconds(10), /*max_keys=*/2);
  int64_t suppressed = 0;
  EXPECT_TRUE(limiter.ShouldWrite("e", "a", &suppressed));
  EXPECT_TRUE(limiter.ShouldWrite("e", "b", &suppressed));
  EXPECT_TRUE(limiter.ShouldWrite("e", "c", &suppressed));  // forgets "a", the oldest
  EXPECT_FALSE(limiter.ShouldWrite("e", "c", &suppressed));
  EXPECT_TRUE(limiter.ShouldWrite("e", "a", &suppressed));  // new again
}

}  // namespace
}  // namespace tact::ops
