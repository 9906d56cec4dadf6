// Strict durations (daemon/core/duration.cc), shared by policy files and tactd's settings.
#include "daemon/core/duration.h"

#include <gtest/gtest.h>

namespace tact {
namespace {

TEST(DurationTest, DurationsAreStrict) {
  EXPECT_EQ(*ParseDuration("1d12h"), absl::Hours(36));
  EXPECT_EQ(*ParseDuration("2w"), absl::Hours(24 * 14));
  for (const char* bad : {"", "7 days", "-1d", "0d", "1.5h", "d", "7", "7D", "1d 2h", "9999999d"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseDuration("0s").status().message(), "duration '0s' must be longer than zero");
}

TEST(DurationTest, FormatReadsBack) {
  for (const char* text : {"72h", "15m", "1h30m", "45s", "336h"}) {
    EXPECT_EQ(DurationText(*ParseDuration(text)), text);
  }
  EXPECT_EQ(DurationText(*ParseDuration("3d")), "72h");
}

}  // namespace
}  // namespace tact
