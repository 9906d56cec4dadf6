// PlanCampaign's planning model (issue #28 items 2, 4, 5, 6): response-curve validation, one model, the
// planning buffer, the minimum batch, a start inside an interval, per-campaign handle time and shrinkage.
// Hand-checked figures come from an independent Erlang C computation (Python recurrences), given inline.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "daemon/capacity/plan.h"

namespace tact::capacity {
namespace {

using ::testing::HasSubstr;

const absl::Time kMonday = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 0, 0, 0), absl::UTCTimeZone());
absl::Time At(int day, int hour, int minute = 0) {
  return kMonday + absl::Hours(24 * day + hour) + absl::Minutes(minute);
}

// Open 08:00–20:00: 30 scheduled at 30% shrinkage (21 on the phones), AHT 300 s, 40 baseline calls, 80/20.
Staffing Days(int days, double patience_s) {
  Staffing s;
  for (int i = 0; i < days * 96; ++i) {
    StaffingInterval si;
    si.start = kMonday + i * kIntervalLength;
    const int hour = (i % 96) / 4;
    const bool open = hour >= 8 && hour < 20;
    si.agents = open ? 30 : 0;
    si.shrinkage = 0.3;
    si.aht_s = 300;
    si.baseline_calls = open ? 40 : 0;
    si.patience_s = patience_s;
    s.intervals.push_back(si);
  }
  return s;
}

CampaignSpec Campaign(int64_t audience, absl::Time start) {
  return {.id = "c", .audience = audience, .channel = v1::EMAIL, .start = start};
}

int64_t Sent(const CampaignPlan& p) {
  int64_t n = 0;
  for (const Batch& b : p.schedule) n += b.messages;
  return n;
}

// ---- Item 2: the response curve.
TEST(CurveValidationTest, MustSumToOneBeFiniteAndNonNegative) {
  EXPECT_THAT(ValidateCurve({{0.25, 0.25}}).message(), HasSubstr("response_curve: shares sum to 0.5000; they must sum to 1"));
  EXPECT_TRUE(ValidateCurve({{0.5, 0.4995}}).ok());  // within 0.001
  EXPECT_EQ(ValidateCurve({{0.5, std::nan(""), 0.5}}).message(), "response_curve[1]: must be a finite number in [0, 1]");
  EXPECT_EQ(ValidateCurve({{1.2, -0.2}}).message(), "response_curve[0]: must be a finite number in [0, 1]");
  EXPECT_EQ(ValidateCurve({{0.5, 0.5, -0.0001}}).message(), "response_curve[2]: must be a finite number in [0, 1]");
  EXPECT_EQ(ValidateCurve({{std::numeric_limits<double>::infinity()}}).message(),
            "response_curve[0]: must be a finite number in [0, 1]");
  EXPECT_THAT(ValidateCurve({std::vector<double>(kMaxIntervals + 1, 1.0 / (kMaxIntervals + 1))}).message(),
              HasSubstr("response_curve: at most"));
  EXPECT_THAT(ParseCurve("1h:0.5").status().message(), HasSubstr("sum to 0.5000"));
  EXPECT_EQ(ParseCurve("1h:-0.5,2h:1.5").status().message(),
            "response_curve segment 1: share must be a finite number in [0, 1]");
}

TEST(CurveValidationTest, AHalfCurveIsRefusedNotSilentlyHalved) {
  CampaignSpec c = Campaign(1000, At(0, 9));
  c.curve.shares = {0.25, 0.25};
  EXPECT_THAT(PlanCampaign(Days(7, 0), {}, c).status().message(), HasSubstr("response_curve: shares sum to 0.5000"));
}

// ---- Item 4: one model.
TEST(PlanModelTest, RowsAndPlanStateTheModel) {
  absl::StatusOr<CampaignPlan> a = PlanCampaign(Days(7, 120), {}, Campaign(25000, At(0, 9)));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->model, "erlang_a");
  for (const IntervalRow& r : a->rows) EXPECT_EQ(r.metrics.model, Model::kErlangA);  // never mixed
  EXPECT_THAT(a->notes.front(), HasSubstr("model: Erlang A (mean patience 120 s"));
  EXPECT_THAT(a->reason, HasSubstr("; Erlang A, planned to 85% in 20 s (target 80% in 20 s, margin 0.05)"));
  absl::StatusOr<CampaignPlan> c = PlanCampaign(Days(7, 0), {}, Campaign(25000, At(0, 9)));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->model, "erlang_c");
  EXPECT_THAT(c->reason, HasSubstr("; Erlang C, planned to"));
  Staffing mixed = Days(7, 0);
  mixed.intervals[40].patience_s = 90;
  EXPECT_EQ(PlanCampaign(mixed, {}, Campaign(25000, At(0, 9)))->model, "erlang_a+erlang_c");
}

TEST(PlanModelTest, CapacityIsTheCalculatorsUnderTheSameModel) {
  // The plan's capacity and its row metrics are Erlang A's when patience is known (as tactctl erlang's).
  absl::StatusOr<CampaignPlan> p = PlanCampaign(Days(7, 120), {}, Campaign(25000, At(0, 9)));
  ASSERT_TRUE(p.ok());
  const Workload shape{.interval_s = 900, .aht_s = 300, .patience_s = 120};
  EXPECT_NEAR(p->rows[0].capacity_calls, MaxCalls(shape, 21, {.service_level = 0.85, .threshold_s = 20}), 1e-9);
  const IntervalRow& r = p->rows[0];
  const Metrics m = Evaluate({.calls = r.baseline_calls + r.campaign_calls, .interval_s = 900, .aht_s = 300,
                              .patience_s = 120}, 21, 20);
  EXPECT_DOUBLE_EQ(r.metrics.service_level, m.service_level);
  EXPECT_DOUBLE_EQ(r.metrics.abandon_rate, m.abandon_rate);
}

// ---- Item 5: planning buffer, minimum batch, start inside an interval.
TEST(PlanningBufferTest, FillsToTargetPlusMarginNotToTheTarget) {
  const Staffing s = Days(7, 0);
  absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, Campaign(25000, At(0, 9)));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->verdict, Verdict::kPace) << p->reason;
  double lowest = 1;
  for (const IntervalRow& r : p->rows) {
    if (r.agents_on_phone == 0) continue;
    EXPECT_GE(r.metrics.service_level, 0.85 - 1e-6) << absl::FormatTime(r.start);
    EXPECT_TRUE(r.meets_planning_target);
    EXPECT_DOUBLE_EQ(r.planning_service_level, 0.85);
    lowest = std::min(lowest, r.metrics.service_level);
  }
  EXPECT_LT(lowest, 0.86);  // it does fill up to the buffer
  // Hand-checked: 21 agents, 300 s, Erlang C hold 85% in 20 s up to 49.143 calls (80%: 50.855).
  EXPECT_NEAR(p->rows[0].capacity_calls, 49.1426, 2e-3);
  // Margin 0 is the old behaviour: filled to 80.0%.
  CampaignSpec none = Campaign(25000, At(0, 9));
  none.target_margin = 0;
  absl::StatusOr<CampaignPlan> q = PlanCampaign(s, {}, none);
  ASSERT_TRUE(q.ok());
  EXPECT_NEAR(q->rows[0].capacity_calls, 50.8546, 2e-3);
  double lowest_none = 1;
  for (const IntervalRow& r : q->rows) {
    if (r.agents_on_phone > 0) lowest_none = std::min(lowest_none, r.metrics.service_level);
  }
  EXPECT_LT(lowest_none, 0.81);
  EXPECT_GT(q->schedule.front().messages, p->schedule.front().messages);
  CampaignSpec bad = Campaign(25000, At(0, 9));
  bad.target_margin = 0.6;
  EXPECT_EQ(PlanCampaign(s, {}, bad).status().message(), "target_margin: must be in [0, 0.5]");
}

TEST(MinBatchTest, NoPacedBatchBelowTheMinimumButTheLast) {
  const Staffing s = Days(7, 0);
  for (int64_t audience : {3000, 25000}) {
    for (int64_t min_batch : {int64_t{0}, kMinBatchAuto, int64_t{400}}) {
      CampaignSpec c = Campaign(audience, At(0, 9));
      c.min_batch = min_batch;
      absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, c);
      ASSERT_TRUE(p.ok());
      ASSERT_NE(p->verdict, Verdict::kReject) << p->reason;
      const int64_t expected_min = min_batch == kMinBatchAuto ? std::min<int64_t>(100, audience / 100) : min_batch;
      EXPECT_EQ(p->min_batch, expected_min);
      EXPECT_EQ(Sent(*p), audience);
      for (size_t b = 0; b + 1 < p->schedule.size(); ++b) {
        EXPECT_GE(p->schedule[b].messages, expected_min) << b << " of " << p->schedule.size();
      }
    }
  }
  // Without a minimum the greedy pace does send slivers (what the minimum prevents).
  CampaignSpec any = Campaign(25000, At(0, 9));
  any.min_batch = 0;
  int64_t smallest = 1 << 30;
  absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, any);
  for (size_t b = 0; b + 1 < p->schedule.size(); ++b) smallest = std::min(smallest, p->schedule[b].messages);
  EXPECT_LT(smallest, 100);
}

TEST(StartTest, AStartInsideAnIntervalSendsAtTheStartWithProratedHeadroom) {
  const Staffing s = Days(7, 0);
  absl::StatusOr<CampaignPlan> on = PlanCampaign(s, {}, Campaign(25000, At(0, 9)));
  absl::StatusOr<CampaignPlan> late = PlanCampaign(s, {}, Campaign(25000, At(0, 9, 7)));
  ASSERT_TRUE(on.ok() && late.ok());
  ASSERT_EQ(late->verdict, Verdict::kPace);
  EXPECT_EQ(late->schedule.front().start, At(0, 9, 7));  // not 09:00
  EXPECT_EQ(late->first_send, At(0, 9, 7));
  EXPECT_EQ(late->rows.front().start, At(0, 9));
  EXPECT_EQ(late->schedule[1].start, At(0, 9, 15));       // later batches on their interval
  // 8 of the interval's 15 minutes are left: its headroom (hand-checked 49.143 − 40 calls) × 8/15.
  const double headroom = (49.1426 - 40) * 8 / 15;
  EXPECT_LE(late->rows.front().campaign_calls, headroom + 2e-3);
  EXPECT_GT(late->rows.front().campaign_calls, headroom - 0.01);
  EXPECT_NEAR(late->schedule.front().messages, std::floor(headroom / (0.98 * 0.02 * 0.08)), 2);
  EXPECT_LT(late->schedule.front().messages, on->schedule.front().messages);
  EXPECT_THAT(late->notes.back(), HasSubstr("2026-11-23T09:07:00Z is inside its interval"));
  // A RELEASE at 09:07 goes at 09:07 too.
  absl::StatusOr<CampaignPlan> small = PlanCampaign(s, {}, Campaign(500, At(0, 9, 7)));
  ASSERT_EQ(small->verdict, Verdict::kRelease);
  EXPECT_EQ(small->schedule.front().start, At(0, 9, 7));
}

// ---- Item 6: handle time, shrinkage.
TEST(ContactAhtTest, LongerContactsMixByWorkAndTakeLessHeadroom) {
  // No patience (Erlang C), margin 0. Hand-checked: with 40 baseline calls at 300 s on 21 agents, campaign
  // contacts of 600 s fit up to 5.339 (AHT (12000 + 600x)/(40 + x)); at 300 s, 10.855.
  const Staffing s = Days(7, 0);
  CampaignSpec c = Campaign(10000, At(0, 9));
  c.target_margin = 0;
  c.min_batch = 0;
  c.contact_aht_s = 600;
  absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, c);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->verdict, Verdict::kPace) << p->reason;
  const IntervalRow& r = p->rows.front();
  EXPECT_NEAR(r.campaign_calls, 5.3389, 0.005);
  EXPECT_LE(r.campaign_calls, 5.3389 + 1e-3);
  EXPECT_NEAR(r.aht_s, (40 * 300 + r.campaign_calls * 600) / (40 + r.campaign_calls), 1e-9);
  EXPECT_NEAR(r.metrics.offered_erlangs, (40 * 300 + r.campaign_calls * 600) / 900, 1e-9);
  EXPECT_GE(r.metrics.service_level, 0.8);
  EXPECT_THAT(p->notes, ::testing::Contains(HasSubstr("this campaign's contacts take 600 s")));
  c.contact_aht_s = 300;  // the baseline's own AHT: the one-AHT model exactly
  absl::StatusOr<CampaignPlan> same = PlanCampaign(s, {}, c);
  EXPECT_NEAR(same->rows.front().campaign_calls, 10.8546, 0.005);
  // A released campaign's longer contacts weigh on later plans by their handle time too.
  CommittedLoad heavy = p->load;
  heavy.aht_s = 600;
  c.contact_aht_s = 0;
  absl::StatusOr<CampaignPlan> after_heavy = PlanCampaign(s, std::vector<CommittedLoad>{heavy}, c);
  absl::StatusOr<CampaignPlan> after_light = PlanCampaign(s, std::vector<CommittedLoad>{p->load}, c);
  EXPECT_LT(after_heavy->rows.front().campaign_calls, after_light->rows.front().campaign_calls - 1);
}

TEST(ShrinkageTest, ExtraAgentsAreScheduledAgentsAfterShrinkage) {
  Staffing s = Days(7, 0);
  s.intervals[36].baseline_calls = 120;  // 09:00: 40 Erlangs on 21 agents on the phones
  absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, Campaign(3000, At(0, 9)));
  ASSERT_TRUE(p.ok());
  const IntervalRow& r = p->rows.front();
  EXPECT_EQ(r.agents_on_phone, 21);  // ⌊30 × 0.7⌋
  EXPECT_TRUE(r.failing_before);
  // Hand-checked: 85% in 20 s (target + margin) at 40 Erlangs, 300 s needs 47 on the phones (SL 87.2%; 46:
  // 82.2%), so ⌈47 / 0.7⌉ − 30 = 38 more scheduled.
  EXPECT_EQ(r.agents_needed, 47);
  EXPECT_EQ(r.extra_agents_scheduled, 38);
}

}  // namespace
}  // namespace tact::capacity
