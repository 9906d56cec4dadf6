// Planner targets (issue #28 items 4 and 6): one model for every figure, targets in the forms planners use,
// all of which must hold. Expected agent counts were checked by hand with an independent Erlang C / Erlang A
// computation (direct recurrences and birth–death sums in Python), listed next to each case.
#include <gtest/gtest.h>

#include "daemon/capacity/erlang.h"
#include "daemon/capacity/plan.h"

namespace tact::capacity {
namespace {

// 50 calls in 15 minutes at 180 s = 10 Erlangs. Erlang C: SL20(13) = 0.7956, SL20(14) = 0.8884,
// SL90(14) = 0.9764, SL90(15) = 0.9916; ASA(14) = 7.84 s, ASA(15) = 3.67 s; occupancy(14) = 0.714.
const Workload kTen{.calls = 50, .interval_s = 900, .aht_s = 180};

TEST(OneModelTest, PatienceMeansErlangAForEveryFigure) {
  // 55 calls at 180 s (11 Erlangs), mean patience 60 s. Erlang A: SL20(12) = 0.8006 (reference vector), so 12
  // agents hold 80% in 20 s; Erlang C (no patience) needs 15 (SL20(14) = 0.783, SL20(15) = 0.878).
  const Workload a{.calls = 55, .interval_s = 900, .aht_s = 180, .patience_s = 60};
  Workload c = a;
  c.patience_s = 0;
  const Target t{.service_level = 0.8, .threshold_s = 20};
  EXPECT_EQ(ModelFor(a), Model::kErlangA);
  EXPECT_EQ(ModelFor(c), Model::kErlangC);
  EXPECT_EQ(AgentsNeeded(a, t), 12);
  EXPECT_EQ(AgentsToHold(a, t), 12);  // the plan's count is the calculator's
  EXPECT_TRUE(HoldsTarget(a, 12, t));
  EXPECT_FALSE(HoldsTarget(a, 11, t));
  EXPECT_EQ(AgentsNeeded(c, t), 15);
  EXPECT_EQ(ModelName(Model::kErlangA), "erlang_a");
  EXPECT_EQ(ModelName(Model::kErlangC), "erlang_c");
}

TEST(TargetsTest, TwoServiceLevelsBothMustHold) {
  const Target first{.service_level = 0.8, .threshold_s = 20};
  EXPECT_EQ(AgentsNeeded(kTen, first), 14);
  const Target second{.service_level = 0.98, .threshold_s = 90};
  EXPECT_EQ(AgentsNeeded(kTen, second), 15);  // SL90(14) = 0.9764 < 98%
  Target both = first;
  both.more_service_levels = {{0.98, 90}};
  EXPECT_EQ(AgentsNeeded(kTen, both), 15);
  both.more_service_levels = {{0.97, 90}};
  EXPECT_EQ(AgentsNeeded(kTen, both), 14);  // 97.64% ≥ 97%: the first target decides
  EXPECT_FALSE(HoldsTarget(kTen, 14, {.service_level = 0.8, .threshold_s = 20, .more_service_levels = {{0.98, 90}}}));
}

TEST(TargetsTest, MaxAsaAndOccupancyCombine) {
  EXPECT_EQ(AgentsNeeded(kTen, {.service_level = 0.8, .threshold_s = 20, .max_asa_s = 5}), 15);   // ASA(14) = 7.84
  EXPECT_EQ(AgentsNeeded(kTen, {.service_level = 0.8, .threshold_s = 20, .max_asa_s = 10}), 14);
  // Occupancy 10/14 = 71.4% > 70%: 15 agents (66.7%).
  EXPECT_EQ(AgentsNeeded(kTen, {.service_level = 0.8, .threshold_s = 20, .max_occupancy = 0.7}), 15);
  EXPECT_EQ(AgentsNeeded(kTen, {.service_level = 0.8, .threshold_s = 20, .max_occupancy = 0.75}), 14);
  // An occupancy cap alone: 14 agents at 85% take 14 × 0.85 × 900 / 180 = 59.5 calls.
  EXPECT_NEAR(MaxCalls(kTen, 14, {.service_level = 0, .threshold_s = 20, .max_occupancy = 0.85}), 59.5, 2e-3);
}

TEST(TargetsTest, AbandonmentComesFromErlangAAndCombines) {
  // 55 calls at 180 s, patience 60 s: P(abandon) at 12/13/14 agents = 10.85% / 7.51% / 4.98%.
  const Workload a{.calls = 55, .interval_s = 900, .aht_s = 180, .patience_s = 60};
  EXPECT_EQ(AgentsNeeded(a, {.service_level = 0.8, .threshold_s = 20, .max_abandon = 0.05}), 14);
  EXPECT_EQ(AgentsNeeded(a, {.service_level = 0.8, .threshold_s = 20, .max_abandon = 0.08}), 13);
  EXPECT_EQ(AgentsNeeded(a, {.service_level = 0.8, .threshold_s = 20, .max_abandon = 0.2}), 12);
}

TEST(PlanningTargetTest, RaisesServiceLevelsAndTightensLimits) {
  const Target t{.service_level = 0.8, .threshold_s = 20, .max_asa_s = 30, .max_abandon = 0.05,
                 .max_occupancy = 0.9, .more_service_levels = {{0.9, 90}, {0.99, 300}}};
  const Target p = PlanningTarget(t, 0.05);
  EXPECT_DOUBLE_EQ(p.service_level, 0.85);
  EXPECT_EQ(p.threshold_s, 20);
  EXPECT_DOUBLE_EQ(p.more_service_levels[0].service_level, 0.95);
  EXPECT_DOUBLE_EQ(p.more_service_levels[1].service_level, 0.995);  // capped
  EXPECT_DOUBLE_EQ(p.max_asa_s, 28.5);
  EXPECT_DOUBLE_EQ(p.max_abandon, 0.0475);
  EXPECT_DOUBLE_EQ(p.max_occupancy, 0.855);
  EXPECT_EQ(PlanningTarget(t, 0), t);
  EXPECT_EQ(PlanningTarget({.service_level = 0, .threshold_s = 20}, 0.05).service_level, 0);  // no SL target
}

TEST(StaffingTargetsTest, ValidationNamesTheField) {
  Staffing s;
  StaffingInterval si;
  si.start = absl::FromUnixSeconds(1795420800);
  si.agents = 10;
  si.aht_s = 180;
  si.target.more_service_levels = {{0.9, 90}, {1.2, 60}};
  s.intervals.push_back(si);
  EXPECT_EQ(ValidateStaffing(s).message(), "intervals[0].service_levels[1]: service level must be in (0, 1)");
  s.intervals[0].target.more_service_levels = {};
  s.intervals[0].target.max_occupancy = 1.5;
  EXPECT_EQ(ValidateStaffing(s).message(), "intervals[0].max_occupancy: must be in [0, 1]");
}

}  // namespace
}  // namespace tact::capacity
