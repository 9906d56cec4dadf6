#include "daemon/ops/log.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace tact::ops {
namespace {

std::string Line(absl::Time now, LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  std::string out;
  FormatLogLine(now, level, event, fields, &out);
  return out;
}

TEST(LogTest, ALineIsOneJsonObjectWithTimestampLevelEventAndTheFieldsInOrder) {
  const absl::Time t = absl::FromUnixMillis(1796388599987);  // 2026-12-04T12:49:59.987Z
  const std::string line = Line(t, LogLevel::kWarning, "store.unavailable", {{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(line,
            "{\"ts\":\"2026-12-04T12:49:59.987Z\",\"level\":\"warn\",\"event\":\"store.unavailable\","
            "\"b\":\"2\",\"a\":\"1\"}\n");
  // The next second on the same thread (the seconds are cached per thread), and a millisecond under 100.
  EXPECT_EQ(Line(t + absl::Milliseconds(20), LogLevel::kInfo, "e", {}).substr(0, 32),
            "{\"ts\":\"2026-12-04T12:50:00.007Z\"");
  EXPECT_EQ(Line(absl::FromUnixSeconds(0), LogLevel::kError, "e", {}).substr(0, 48),
            "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"error\"");
}

TEST(LogTest, BytesThatAreNotUtf8BecomeReplacementCharactersAndTheLineStillParses) {
  const std::string replacement = "\xef\xbf\xbd";
  struct Case {
    std::string in;
    std::string out;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"a\xff" "b", "a" + replacement + "b"},
           {"\xe2\x82", replacement + replacement},              // truncated at the end
           {"\xc0\xaf", replacement + replacement},              // overlong
           {"\xed\xa0\x80", replacement + replacement + replacement},  // a surrogate
           {"\xf4\x90\x80\x80", replacement + replacement + replacement + replacement},  // above U+10FFFF
           {"\x80 lone continuation", replacement + " lone continuation"}}) {
    const std::string line = Line(absl::UnixEpoch(), LogLevel::kInfo, "e", {{"v", c.in}});
    const nlohmann::json parsed = nlohmann::json::parse(line);
    EXPECT_EQ(parsed["v"].get<std::string>(), c.out);
  }
}

TEST(LogTest, LogEnabledFollowsTheLevel) {
  SetLogLevel(LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarning));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetLogLevel(LogLevel::kInfo);  // the default, for the tests after this one
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
}

}  // namespace
}  // namespace tact::ops
