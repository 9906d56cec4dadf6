#include "daemon/ops/test_clock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/support/wait.h"

namespace tact::ops {
namespace {

TEST(OffsetFileClock, ParsesDurationsAndRejectsJunk) {
  absl::Duration d;
  ASSERT_TRUE(OffsetFileClock::ParseOffset(" 8h\n", &d));
  EXPECT_EQ(d, absl::Hours(8));
  ASSERT_TRUE(OffsetFileClock::ParseOffset("-90m", &d));
  EXPECT_EQ(d, absl::Minutes(-90));
  ASSERT_TRUE(OffsetFileClock::ParseOffset("", &d));
  EXPECT_EQ(d, absl::ZeroDuration());
  EXPECT_FALSE(OffsetFileClock::ParseOffset("8 hours", &d));
  EXPECT_FALSE(OffsetFileClock::ParseOffset("inf", &d));
}

TEST(OffsetFileClock, FollowsTheFile) {
  char dir[] = "/tmp/tact-clock-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/offset";
  OffsetFileClock clock(path);
  EXPECT_LT(absl::AbsDuration(clock.Now() - absl::Now()), absl::Minutes(1));  // no file: real time
  std::ofstream(path) << "48h\n";
  EXPECT_TRUE(testing::WaitFor([&] { return clock.Now() - absl::Now() > absl::Hours(47); }, absl::Seconds(5), "offset 48h"));
  std::ofstream(path) << "-1h\n";
  EXPECT_TRUE(testing::WaitFor([&] { return clock.Now() - absl::Now() < absl::Minutes(-59); }, absl::Seconds(5), "offset -1h"));
  std::remove(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace tact::ops
