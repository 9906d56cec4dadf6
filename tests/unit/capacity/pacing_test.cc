#include "daemon/capacity/pacing.h"

#include <gtest/gtest.h>

namespace tact::capacity {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1795420800);  // 2026-11-23T08:00:00Z

TEST(AllowanceTest, GrowsBatchByBatch) {
  const std::vector<Batch> schedule{{kStart, 100}, {kStart + absl::Minutes(15), 40}, {kStart + absl::Hours(2), 7}};
  EXPECT_EQ(AllowanceAt(schedule, kStart - absl::Seconds(1)).releasable, 0);
  EXPECT_EQ(AllowanceAt(schedule, kStart - absl::Seconds(1)).next_batch, kStart);
  EXPECT_EQ(AllowanceAt(schedule, kStart).releasable, 100);
  EXPECT_EQ(AllowanceAt(schedule, kStart + absl::Minutes(14)).next_batch, kStart + absl::Minutes(15));
  EXPECT_EQ(AllowanceAt(schedule, kStart + absl::Minutes(15)).releasable, 140);
  EXPECT_EQ(AllowanceAt(schedule, kStart + absl::Hours(1)).next_batch, kStart + absl::Hours(2));
  const Allowance all = AllowanceAt(schedule, kStart + absl::Hours(3));
  EXPECT_EQ(all.releasable, 147);
  EXPECT_EQ(all.next_batch, absl::InfiniteFuture());
}

TEST(AllowanceTest, AReleasedPaceNeverRunsAheadOfItsPlan) {
  // Following AllowanceAt interval by interval reproduces the planned batches exactly.
  Staffing s;
  for (int i = 0; i < 96 * 4; ++i) {
    StaffingInterval si;
    si.start = kStart - absl::Hours(8) + i * kIntervalLength;
    const int hour = (i % 96) / 4;
    si.agents = hour >= 8 && hour < 20 ? 30 : 0;
    si.shrinkage = 0.3;
    si.aht_s = 300;
    si.baseline_calls = si.agents > 0 ? 40 : 0;
    s.intervals.push_back(si);
  }
  absl::StatusOr<CampaignPlan> plan = PlanCampaign(s, {}, {.id = "c", .audience = 8000, .start = kStart});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->verdict, Verdict::kPace) << plan->reason;
  int64_t released = 0;
  for (const IntervalRow& row : plan->rows) {
    const Allowance a = AllowanceAt(plan->schedule, row.start + absl::Minutes(14));
    const int64_t now_released = a.releasable - released;
    EXPECT_EQ(now_released, row.sends) << absl::FormatTime(row.start);
    released = a.releasable;
  }
  EXPECT_EQ(released, 8000);
}

}  // namespace
}  // namespace tact::capacity
