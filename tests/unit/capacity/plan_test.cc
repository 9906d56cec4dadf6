#include "daemon/capacity/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

namespace tact::capacity {
namespace {

using ::testing::HasSubstr;

const absl::Time kMonday = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 0, 0, 0), absl::UTCTimeZone());

absl::Time At(int day, int hour, int minute = 0) {
  return kMonday + absl::Hours(24 * day + hour) + absl::Minutes(minute);
}

// A week of 15-minute intervals; open 08:00–20:00 with 30 scheduled agents at 30% shrinkage (21 on the
// phones), AHT 300 s, 40 baseline calls per interval (≈ 13.3 Erlangs), 80/20, patience 120 s.
Staffing Week(int days = 7, int agents = 30) {
  Staffing s;
  for (int i = 0; i < days * 96; ++i) {
    StaffingInterval si;
    si.start = kMonday + i * kIntervalLength;
    const int hour = (i % 96) / 4;
    const bool open = hour >= 8 && hour < 20;
    si.agents = open ? agents : 0;
    si.shrinkage = 0.3;
    si.aht_s = 300;
    si.baseline_calls = open ? 40 : 0;
    si.target = {.service_level = 0.8, .threshold_s = 20};
    si.patience_s = 120;
    s.intervals.push_back(si);
  }
  return s;
}

CampaignSpec Campaign(int64_t audience, absl::Time start) {
  return {.id = "black-friday", .audience = audience, .channel = v1::EMAIL, .deliverability = 0.98,
          .contact_rate = 0.02, .start = start};
}

int64_t Sent(const CampaignPlan& p) {
  int64_t n = 0;
  for (const Batch& b : p.schedule) n += b.messages;
  return n;
}

// The property the gate promises: a RELEASE or PACE plan holds the target in every interval, re-checked here
// from the rows' own loads rather than from the planner's bookkeeping.
void ExpectHoldsEverywhere(const Staffing& staffing, const CampaignPlan& p) {
  for (const IntervalRow& row : p.rows) {
    EXPECT_FALSE(row.breaks) << absl::FormatTime(row.start);
    if (row.agents_on_phone == 0 || row.failing_before) continue;
    const size_t i = static_cast<size_t>((row.start - staffing.intervals.front().start) / kIntervalLength);
    const StaffingInterval& si = staffing.intervals[i];
    const Workload w{.calls = row.baseline_calls + row.committed_calls + row.campaign_calls,
                     .interval_s = 900, .aht_s = si.aht_s, .patience_s = si.patience_s};
    EXPECT_TRUE(HoldsTarget(w, row.agents_on_phone, si.target)) << absl::FormatTime(row.start);
    EXPECT_GE(row.metrics.service_level, si.target.service_level) << absl::FormatTime(row.start);
  }
}

TEST(ResponseCurveTest, DefaultsAreFrontLoadedAndComplete) {
  for (Channel ch : {v1::EMAIL, v1::SMS, v1::PUSH, v1::IN_APP}) {
    const ResponseCurve c = DefaultResponseCurve(ch);
    ASSERT_EQ(c.shares.size(), 72u * 4) << ch;
    EXPECT_NEAR(std::accumulate(c.shares.begin(), c.shares.end(), 0.0), 1.0, 1e-9);
    EXPECT_TRUE(std::is_sorted(c.shares.rbegin(), c.shares.rend())) << "non-increasing";
  }
  const ResponseCurve email = DefaultResponseCurve(v1::EMAIL);
  EXPECT_DOUBLE_EQ(email.shares[0], 0.08);
  EXPECT_NEAR(std::accumulate(email.shares.begin(), email.shares.begin() + 16, 0.0), 0.60, 1e-9);  // 4 h
  EXPECT_GT(DefaultResponseCurve(v1::SMS).shares[0], email.shares[0]);
}

TEST(ResponseCurveTest, ParseErrorsNameTheSegment) {
  EXPECT_THAT(ParseCurve("15m:0.5,20m:0.1").status().message(), HasSubstr("segment 2"));
  EXPECT_THAT(ParseCurve("1h:0.7,2h:0.7").status().message(), HasSubstr("sum to 1.4000"));
  EXPECT_THAT(ParseCurve("1h=0.7").status().message(), HasSubstr("'1h=0.7' must be <end>:<share>"));
  absl::StatusOr<ResponseCurve> ok = ParseCurve("30m:0.5, 1h:0.5");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->shares, (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
}

TEST(StaffingTest, ValidationNamesIntervalAndField) {
  Staffing s = Week(1);
  s.intervals[3].aht_s = 0;
  EXPECT_EQ(ValidateStaffing(s).message(), "intervals[3].aht_s: must be in (0, 86400]");
  s = Week(1);
  s.intervals[5].start += absl::Minutes(1);
  EXPECT_THAT(ValidateStaffing(s).message(), HasSubstr("intervals[5].start: must be 15 minutes after"));
  s = Week(1);
  s.intervals[0].target.max_abandon = 0.05;
  s.intervals[0].patience_s = 0;
  EXPECT_THAT(ValidateStaffing(s).message(), HasSubstr("intervals[0].max_abandon: needs patience_s"));
  EXPECT_TRUE(ValidateStaffing(Week(1)).ok());
}

TEST(PlanTest, SmallCampaignIsReleasedAtOnce) {
  const Staffing s = Week();
  absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, Campaign(1000, At(0, 9)));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->verdict, Verdict::kRelease) << p->reason;
  ASSERT_EQ(p->schedule.size(), 1u);
  EXPECT_EQ(p->schedule[0].start, At(0, 9));
  EXPECT_EQ(p->schedule[0].messages, 1000);
  EXPECT_EQ(p->last_send, At(0, 9));
  EXPECT_TRUE(p->failing.empty());
  EXPECT_NEAR(p->predicted_contacts + p->unchecked_contacts, 1000 * 0.98 * 0.02, 1e-9);
  EXPECT_NEAR(p->rows[0].campaign_calls, 1000 * 0.98 * 0.02 * 0.08, 1e-9);
  ExpectHoldsEverywhere(s, *p);
}

TEST(PlanTest, BigCampaignIsPacedAndThePaceHoldsTheTarget) {
  const Staffing s = Week();
  absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, Campaign(25000, At(0, 9)));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->verdict, Verdict::kPace) << p->reason;
  EXPECT_EQ(Sent(*p), 25000);
  EXPECT_GT(p->schedule.size(), 1u);
  EXPECT_GT(p->last_send, At(0, 9));
  EXPECT_LT(p->last_send, At(7, 0));
  EXPECT_THAT(p->reason, HasSubstr("paced in"));
  ExpectHoldsEverywhere(s, *p);
  // The contacts it commits are the contacts its rows show.
  EXPECT_NEAR(std::accumulate(p->load.calls.begin(), p->load.calls.end(), 0.0), p->predicted_contacts, 1e-6);
}

TEST(PlanTest, PacedScheduleNeverBreaksTheTargetAcrossShapes) {
  // Property over audiences, channels, starts (open and closed hours) and platform limits.
  const Staffing s = Week();
  for (int64_t audience : {5000, 20000, 60000}) {
    for (Channel ch : {v1::EMAIL, v1::SMS}) {
      for (absl::Time start : {At(0, 8), At(1, 13, 30), At(2, 22)}) {
        for (int64_t max_batch : {0, 3000}) {
          CampaignSpec c = Campaign(audience, start);
          c.channel = ch;
          c.max_batch = max_batch;
          absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, c);
          ASSERT_TRUE(p.ok()) << p.status();
          if (p->verdict == Verdict::kReject) continue;
          SCOPED_TRACE(p->reason);
          EXPECT_EQ(Sent(*p), audience);
          for (const Batch& b : p->schedule) {
            if (max_batch > 0) {
              EXPECT_LE(b.messages, max_batch);
            }
            EXPECT_GE(b.start, start - kIntervalLength);
          }
          ExpectHoldsEverywhere(s, *p);
        }
      }
    }
  }
}

TEST(PlanTest, HugeCampaignIsRejectedWithExtraAgentsThatWouldPass) {
  Staffing s = Week();
  absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, Campaign(400000, At(0, 9)));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->verdict, Verdict::kReject) << p->reason;
  ASSERT_FALSE(p->failing.empty());
  EXPECT_LT(p->sendable, 400000);
  EXPECT_GT(p->extra_agents_scheduled, 0);
  const IntervalRow& worst = p->rows[p->failing.front()];
  EXPECT_TRUE(worst.breaks);
  EXPECT_FALSE(worst.meets_target);
  EXPECT_GT(worst.agents_needed, worst.agents_on_phone);
  // Overloaded: the row shows Erlang A (who hangs up), not Erlang C's "unstable".
  EXPECT_EQ(worst.metrics.model, Model::kErlangA);
  EXPECT_GT(worst.metrics.abandon_rate, 0);
  EXPECT_THAT(p->reason, HasSubstr("cannot be held"));
  // Staff every open interval with the extra agents the worst one needs: now it goes at once.
  for (StaffingInterval& si : s.intervals) {
    if (si.agents > 0) si.agents += p->extra_agents_scheduled;
  }
  absl::StatusOr<CampaignPlan> staffed = PlanCampaign(s, {}, Campaign(400000, At(0, 9)));
  ASSERT_TRUE(staffed.ok());
  EXPECT_EQ(staffed->verdict, Verdict::kRelease) << staffed->reason;
}

TEST(PlanTest, SendByWindowTurnsAPaceIntoAReject) {
  const Staffing s = Week();
  CampaignSpec c = Campaign(25000, At(0, 9));
  c.send_by = At(0, 10);
  absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, c);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->verdict, Verdict::kReject);
  EXPECT_THAT(p->reason, HasSubstr("can be paced before 2026-11-23T10:00:00Z"));
}

TEST(PlanTest, ReleasedCampaignsCountAgainstLaterOnes) {
  const Staffing s = Week();
  // Alone, 5000 messages go at once (first interval: 5000 × 0.0196 × 0.08 ≈ 7.8 calls of ≈ 14.8 headroom: Erlang A
  // with 120 s patience holds 85% in 20 s up to 54.8 calls on 21 agents, 40 of them baseline).
  absl::StatusOr<CampaignPlan> first = PlanCampaign(s, {}, Campaign(5000, At(0, 9)));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->verdict, Verdict::kRelease) << first->reason;
  // The same again on top of the first one's committed load no longer fits at once.
  const std::vector<CommittedLoad> committed{first->load};
  absl::StatusOr<CampaignPlan> second = PlanCampaign(s, committed, Campaign(5000, At(0, 9)));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->verdict, Verdict::kPace) << second->reason;
  EXPECT_NEAR(second->rows[0].committed_calls, first->rows[0].campaign_calls, 1e-9);
  ExpectHoldsEverywhere(s, *second);
}

TEST(PlanTest, ContactsWhileClosedAreCarriedToTheFirstHourOpen) {
  const Staffing s = Week();
  absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, Campaign(300, At(0, 22)));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->verdict, Verdict::kRelease) << p->reason;
  // Everything predicted from 22:00 to 08:00 is answered over 08:00–09:00, a quarter in each interval.
  const ResponseCurve curve = DefaultResponseCurve(v1::EMAIL);
  const double per_message = 0.98 * 0.02;
  const double night = 300 * per_message * std::accumulate(curve.shares.begin(), curve.shares.begin() + 40, 0.0);
  EXPECT_EQ(p->rows[40].start, At(1, 8));
  EXPECT_NEAR(p->rows[40].campaign_calls, night / 4 + 300 * per_message * curve.shares[40], 1e-9);
  EXPECT_NEAR(p->rows[43].campaign_calls, night / 4 + 300 * per_message * curve.shares[43], 1e-9);
  EXPECT_NEAR(p->rows[44].campaign_calls, 300 * per_message * curve.shares[44], 1e-9);
  EXPECT_EQ(p->rows[0].campaign_calls, 0);
  // The raw load keeps the curve's shape (the next plan applies its own carry-over).
  EXPECT_NEAR(p->load.calls[0], 300 * per_message * 0.08, 1e-9);
  ExpectHoldsEverywhere(s, *p);
}

TEST(PlanTest, AnIntervalAlreadyFailingTakesAtMostTheTolerance) {
  Staffing s = Week();
  // Day 0 at 09:00: baseline far above capacity.
  s.intervals[36].baseline_calls = 200;
  absl::StatusOr<CampaignPlan> p = PlanCampaign(s, {}, Campaign(3000, At(0, 9)));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->verdict, Verdict::kPace) << p->reason;
  EXPECT_LE(p->schedule[0].messages, 0.5 / (0.98 * 0.02 * 0.08));
  EXPECT_TRUE(p->rows[0].failing_before);
  EXPECT_LE(p->rows[0].campaign_calls, kToleranceCalls + 1e-9);
  EXPECT_EQ(p->intervals_failing_before, 1);
  EXPECT_THAT(p->reason, HasSubstr("already miss the target"));
}

TEST(PlanTest, InputErrorsNameTheField) {
  const Staffing s = Week(1);
  EXPECT_THAT(PlanCampaign(s, {}, Campaign(10, At(3, 0))).status().message(),
              HasSubstr("start: 2026-11-26T00:00:00Z is outside the staffing horizon"));
  CampaignSpec c = Campaign(10, At(0, 9));
  c.contact_rate = 2;
  EXPECT_EQ(PlanCampaign(s, {}, c).status().message(), "contact_rate: must be in [0, 1]");
  c = Campaign(10, At(0, 9));
  c.curve.shares = {0.9, 0.9};
  EXPECT_THAT(PlanCampaign(s, {}, c).status().message(), HasSubstr("response_curve"));
}

}  // namespace
}  // namespace tact::capacity
