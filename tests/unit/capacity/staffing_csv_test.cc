#include "daemon/capacity/staffing_csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "daemon/capacity/svg.h"

namespace tact::capacity {
namespace {

using ::testing::HasSubstr;

constexpr char kCsv[] = R"(# two intervals
aht_s,start,agents,baseline_calls,patience_s
300,2026-11-23T08:00:00Z,30,40,120

300,2026-11-23T08:15:00Z,31,41.5,
)";

TEST(StaffingCsvTest, ParsesAnyColumnOrderWithDefaults) {
  absl::StatusOr<Staffing> s = ParseStaffingCsv("week.csv", kCsv);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->intervals.size(), 2u);
  const StaffingInterval& a = s->intervals[0];
  EXPECT_EQ(a.start, absl::FromUnixSeconds(1795420800));
  EXPECT_EQ(a.agents, 30);
  EXPECT_EQ(a.aht_s, 300);
  EXPECT_EQ(a.baseline_calls, 40);
  EXPECT_EQ(a.patience_s, 120);
  EXPECT_EQ(a.shrinkage, 0);
  EXPECT_EQ(a.target.service_level, 0.8);
  EXPECT_EQ(a.target.threshold_s, 20);
  EXPECT_EQ(s->intervals[1].baseline_calls, 41.5);
  EXPECT_EQ(s->intervals[1].patience_s, 0);  // empty cell: default
}

TEST(StaffingCsvTest, ErrorsNameFileLineAndColumn) {
  EXPECT_EQ(ParseStaffingCsv("w.csv", "start,agents,aht_s,baseline_calls,agnets\n").status().message(),
            "w.csv:1: unknown column 'agnets' (expected: start, agents, shrinkage, aht_s, baseline_calls, target_sl, "
            "threshold_s, patience_s, max_asa_s, max_abandon, max_occupancy, service_levels)");
  EXPECT_EQ(ParseStaffingCsv("w.csv", "start,agents,aht_s\n").status().message(),
            "w.csv:1: missing required column 'baseline_calls'");
  EXPECT_EQ(ParseStaffingCsv("w.csv", "start,agents,aht_s,baseline_calls\n2026-11-23T08:00:00Z,3,x,4\n")
                .status()
                .message(),
            "w.csv:2: column 'aht_s': 'x' is not a number");
  EXPECT_EQ(ParseStaffingCsv("w.csv", "start,agents,aht_s,baseline_calls\n2026-11-23T08:00:00Z,3,0,4\n")
                .status()
                .message(),
            "w.csv:2: column 'aht_s': must be in (0, 86400]");
  EXPECT_EQ(ParseStaffingCsv("w.csv", "start,agents,aht_s,baseline_calls\nmonday,3,300,4\n").status().message(),
            "w.csv:2: column 'start': 'monday' is not an RFC 3339 time");
  EXPECT_THAT(ParseStaffingCsv("w.csv",
                               "start,agents,aht_s,baseline_calls\n2026-11-23T08:00:00Z,3,300,4\n"
                               "# gap\n2026-11-23T08:30:00Z,3,300,4\n")
                  .status()
                  .message(),
              HasSubstr("w.csv:4: column 'start': must be 15 minutes after the previous interval"));
}

TEST(StaffingCsvTest, SampleWeekParsesAndPlans) {
  std::ifstream in(std::string(TACT_SOURCE_DIR) + "/tests/fixtures/capacity/staffing_week.csv");
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<Staffing> s = ParseStaffingCsv("staffing_week.csv", text.str());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->intervals.size(), 7u * 96);
  // Erlang A (the sample has a patience) at 85% in 20 s (80% + the default margin): 20,000 go at once, 40,000 pace.
  CampaignSpec c{.id = "winter-sale", .audience = 40000, .start = s->intervals[36].start};
  absl::StatusOr<CampaignPlan> p = PlanCampaign(*s, {}, c);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->verdict, Verdict::kPace) << p->reason;

  const std::string svg = PlanSvg(*p);
  EXPECT_TRUE(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_TRUE(svg.ends_with("</svg>\n"));
  EXPECT_THAT(svg, HasSubstr("winter-sale: PACE"));
  EXPECT_THAT(svg, HasSubstr("target 80%"));
  EXPECT_THAT(svg, HasSubstr("stroke=\"#06c\""));  // the capacity line
}

}  // namespace
}  // namespace tact::capacity
