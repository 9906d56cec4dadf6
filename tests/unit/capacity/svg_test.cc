// The plan chart's layout (daemon/capacity/svg.h), checked by text boxes (tests/support/svg_layout.h), and the
// box check itself. The PNG rendering (rsvg-convert) is in tests/integration/capacity_cli_test.cc.
#include "daemon/capacity/svg.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_join.h"
#include "tests/support/svg_layout.h"

namespace tact::capacity {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using tact::testing::ParseSvgLayout;
using tact::testing::SvgLayoutProblems;

constexpr double kEm = 0.65;  // the conservative width of a character, in em (as the layout assumes)

std::string Svg(const std::string& body) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"200\" font-size=\"10\">\n" + body +
         "</svg>\n";
}

TEST(SvgLayoutCheckTest, BoxesFollowAnchorAndFontSize) {
  const auto l = ParseSvgLayout(Svg("<text x=\"100\" y=\"50\" text-anchor=\"middle\" font-size=\"20\">abcd</text>"
                                    "<text x=\"100\" y=\"80\" text-anchor=\"end\">a&amp;b</text>"
                                    "<text x=\"10\" y=\"110\">xy</text>"),
                                kEm);
  ASSERT_EQ(l.texts.size(), 3u);
  EXPECT_DOUBLE_EQ(l.texts[0].box.x0, 100 - 4 * kEm * 20 / 2);
  EXPECT_DOUBLE_EQ(l.texts[0].box.x1, 100 + 4 * kEm * 20 / 2);
  EXPECT_DOUBLE_EQ(l.texts[0].box.y0, 30);
  EXPECT_DOUBLE_EQ(l.texts[1].box.x0, 100 - 3 * kEm * 10);  // "&amp;" is one character
  EXPECT_EQ(l.texts[1].text, "a&b");
  EXPECT_DOUBLE_EQ(l.texts[2].box.x0, 10);
  EXPECT_DOUBLE_EQ(l.texts[2].box.y1, 113);
  EXPECT_EQ(l.width, 400);
  EXPECT_EQ(l.height, 200);
}

TEST(SvgLayoutCheckTest, FindsOverlapsPlotIntrusionsAndTextOffTheCanvas) {
  EXPECT_THAT(SvgLayoutProblems(Svg("<text x=\"10\" y=\"20\">first label</text>"
                                    "<text x=\"40\" y=\"25\">second</text>"),
                                kEm),
              Contains("overlap: 'first label' and 'second'"));
  // Side by side and one above the other, not touching: fine.
  EXPECT_THAT(SvgLayoutProblems(Svg("<text x=\"10\" y=\"20\">abc</text><text x=\"40\" y=\"20\">def</text>"
                                    "<text x=\"10\" y=\"40\">ghi</text>"),
                                kEm),
              IsEmpty());
  EXPECT_THAT(SvgLayoutProblems(Svg("<rect class=\"plot\" x=\"100\" y=\"50\" width=\"100\" height=\"100\"/>"
                                    "<text x=\"95\" y=\"60\" text-anchor=\"end\">left of it</text>"
                                    "<text x=\"150\" y=\"100\">inside</text>"),
                                kEm),
              ::testing::ElementsAre("in plot: 'inside'"));
  EXPECT_THAT(SvgLayoutProblems(Svg("<text x=\"350\" y=\"20\">too long for the width</text>"
                                    "<text x=\"10\" y=\"5\">above</text>"),
                                kEm),
              ::testing::ElementsAre("off canvas: 'too long for the width'", "off canvas: 'above'"));
}

// The chart as `tactctl plan --svg` drew it before the layout (tests/fixtures/capacity/
// plan_chart_old_layout.svg): the check finds the title cut off and the legend across the date labels.
TEST(SvgLayoutCheckTest, FailsOnTheOldLayout) {
  std::ifstream in(std::string(TACT_SOURCE_DIR) + "/tests/fixtures/capacity/plan_chart_old_layout.svg");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::vector<std::string> problems = SvgLayoutProblems(ss.str(), kEm);
  EXPECT_THAT(problems, Contains(HasSubstr("off canvas: 'spring-sale-2026-loyalty-members-reactivation: PACE")));
  EXPECT_THAT(problems, Contains(HasSubstr("overlap: '2026-11-25' and 'grey: baseline")));
}

// A week of 15-minute rows, with the campaign's calls and batches in the first hours.
CampaignPlan WeekPlan(std::string id, std::string reason, size_t rows, double peak) {
  CampaignPlan p;
  p.campaign_id = std::move(id);
  p.verdict = Verdict::kPace;
  p.reason = std::move(reason);
  const absl::Time start = absl::FromCivil(absl::CivilMinute(2026, 11, 23, 8, 0), absl::UTCTimeZone());
  for (size_t i = 0; i < rows; ++i) {
    IntervalRow r;
    r.start = start + absl::Minutes(15) * static_cast<double>(i);
    r.baseline_calls = peak * (0.3 + 0.5 * static_cast<double>(i % 48) / 48);
    r.campaign_calls = i < 12 ? peak / 4 : 0;
    r.sends = i < 6 ? 1000 : 0;
    r.capacity_calls = peak;
    r.target_service_level = 0.8;
    r.metrics.service_level = 0.85;
    r.breaks = i == 3;
    p.rows.push_back(r);
  }
  p.failing = {3};
  return p;
}

TEST(PlanSvgTest, LongTitleIsWrappedAndNoTextTouchesAnotherOrThePlots) {
  const std::string reason =
      "sending at once would break the target in 4 interval(s); paced in 5 batch(es), last batch at "
      "2026-11-23T10:00:00Z; the contact centre must acknowledge the notice before the first send & <check> it";
  const std::string id = "spring-sale-2026-loyalty-members-reactivation-with-an-uncommonly-long-campaign-identifier";
  for (const size_t rows : {size_t{8}, size_t{96}, size_t{672}, size_t{4 * 24 * 30}}) {
    const std::string svg = PlanSvg(WeekPlan(id, reason, rows, 1234));
    EXPECT_THAT(SvgLayoutProblems(svg, kEm), IsEmpty()) << rows << " rows";
    const auto layout = ParseSvgLayout(svg, kEm);
    EXPECT_EQ(layout.plots.size(), 2u);
    std::vector<std::string> title;
    for (const auto& t : layout.texts) {
      if (t.font_size == 14) title.push_back(t.text);
    }
    EXPECT_GE(title.size(), 2u);
    EXPECT_EQ(absl::StrJoin(title, " "), absl::StrCat(id, ": PACE — ", reason));  // every word, in order
  }
}

TEST(PlanSvgTest, TicksAreReadableAndAxesLabelled) {
  const std::string svg = PlanSvg(WeekPlan("c", "ok", 672, 80));
  const auto layout = ParseSvgLayout(svg, kEm);
  std::vector<std::string> texts;
  for (const auto& t : layout.texts) texts.push_back(t.text);
  EXPECT_THAT(texts, Contains("Offered calls per 15-minute interval"));
  EXPECT_THAT(texts, Contains(HasSubstr("Predicted service level")));
  EXPECT_THAT(texts, Contains("Interval start (UTC)"));
  EXPECT_THAT(texts, Contains("Tue 24 Nov"));   // a day tick
  EXPECT_THAT(texts, Contains("100%"));
  EXPECT_THAT(texts, Contains("service-level target 80%"));
  EXPECT_THAT(texts, Contains("this campaign makes the interval miss its target"));
  // A short plan gets hour ticks.
  const auto day = ParseSvgLayout(PlanSvg(WeekPlan("c", "ok", 16, 80)), kEm);
  std::vector<std::string> day_texts;
  for (const auto& t : day.texts) day_texts.push_back(t.text);
  EXPECT_THAT(day_texts, Contains("09:00"));
}

}  // namespace
}  // namespace tact::capacity
