// `tactctl plan --svg` as a planner opens it: the built binary writes the chart, rsvg-convert (Debian's
// librsvg2-bin) renders it to PNG at the size the SVG declares, and no text touches another text or a plot area
// (boxes estimated from each text's position, size and anchor: tests/support/svg_layout.h). Skipped only when
// rsvg-convert is not installed (deploy/install-deps.sh installs it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "tests/support/process.h"
#include "tests/support/svg_layout.h"

namespace tact {
namespace {

using ::testing::IsEmpty;
using testing::Subprocess;
using testing::TempDir;

const std::string kStaffing = std::string(TACT_SOURCE_DIR) + "/tests/fixtures/capacity/staffing_week.csv";

int RunTool(std::vector<std::string> argv, const std::string& log) {
  Subprocess p(std::move(argv), log);
  return p.Wait(absl::Seconds(60)).value_or(-1);
}

// Width and height from a PNG's IHDR chunk; {0, 0} when `png` is not a PNG.
std::pair<uint32_t, uint32_t> PngSize(const std::string& png) {
  if (png.size() < 24 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0 || png.compare(12, 4, "IHDR") != 0) return {0, 0};
  auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(png[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

TEST(PlanChartTest, RendersToPngAtItsSizeWithNoTextOverlapping) {
  const std::string rsvg = "/usr/bin/rsvg-convert";
  if (::access(rsvg.c_str(), X_OK) != 0) GTEST_SKIP() << "rsvg-convert is not installed (Debian librsvg2-bin)";
  TempDir dir;
  const std::string svg = dir.path() + "/plan.svg";
  const std::string png = dir.path() + "/plan.png";
  // A long id makes a title that must wrap; a week of intervals makes day ticks under a full legend.
  ASSERT_EQ(RunTool({TACTCTL_BIN, "plan", "--staffing", kStaffing, "--audience", "20000", "--channel", "email", "--start",
                 "2026-11-23T09:00:00Z", "--id", "spring-sale-2026-loyalty-members-reactivation-second-wave", "--svg",
                 svg},
                dir.path() + "/tactctl.out"),
            0)
      << testing::ReadFile(dir.path() + "/tactctl.out");
  const std::string drawing = testing::ReadFile(svg);
  EXPECT_THAT(testing::SvgLayoutProblems(drawing, 0.65), IsEmpty());
  const testing::SvgLayout layout = testing::ParseSvgLayout(drawing, 0.65);
  EXPECT_EQ(layout.plots.size(), 2u);

  ASSERT_EQ(RunTool({rsvg, "--format", "png", "--output", png, svg}, dir.path() + "/rsvg.out"), 0)
      << testing::ReadFile(dir.path() + "/rsvg.out");
  const auto [width, height] = PngSize(testing::ReadFile(png));
  EXPECT_EQ(width, static_cast<uint32_t>(layout.width));
  EXPECT_EQ(height, static_cast<uint32_t>(layout.height));
  EXPECT_EQ(width, 1200u);
  EXPECT_GT(height, 540u);  // room for the wrapped title, the axis labels and the legend under the plots
}

}  // namespace
}  // namespace tact
