#include "daemon/decision/evidence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/core/proto_time.h"
#include "daemon/core/sha256.h"
#include "daemon/decision/decision_steps.h"
#include "tests/unit/decision/decision_test_support.h"

// The evidence of each kind of deciding rule, built from the plan, the store's outcome and the verdicts.
namespace tact::decision {
namespace {

using test_support::MakeEvent;
using test_support::ParseTestPolicy;
using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(
version: "v7"
defaults: { timezone: Europe/Berlin }
rules:
  - id: low-csat
    description: no promotion after a bad CSAT
    match: { message_class: PROMOTION }
    suppress_if: { csat_at_most: 2, csat_within: 30d }
  - id: complaint-open
    description: no promotion while a complaint is open
    match: { message_class: PROMOTION }
    suppress_if: { open_complaint: true }
  - id: two-per-7d
    description: two proactive messages a week
    match: { message_class: PROACTIVE_SERVICE }
    limit: { count: 2, window: 7d }
  - id: one-per-day
    description: one service message a day
    match: { message_class: SERVICE }
    limit: { count: 1, kind: calendar, window: day }
  - id: quiet-nights
    description: no receipts at night
    match: { message_class: TRANSACTIONAL }
    quiet_hours: { start: "21:00", end: "08:00" }
    on_exceed: defer
)";

absl::Time At(const char* rfc3339) {
  absl::Time t;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, nullptr)) << rfc3339;
  return t;
}

class EvidenceTest : public ::testing::Test {
 protected:
  // Decides `cls` against `outcome` and returns the evidence of the deciding rule.
  v1::Evidence EvidenceFor(MessageClass cls, const policy::StoreOutcome& outcome) {
    const Event event = MakeEvent("e", cls);
    const policy::Plan plan = policy::PlanEvent(*policy_, event, now_);
    const policy::Verdicts v = policy::Decide(plan, outcome);
    v1::Evidence e;
    BuildEvidence(plan, outcome, v, now_, &e);
    return e;
  }


  // The outcome of PROMOTION's plan with only the signal check of `rule` holding, as `hit`.
  policy::StoreOutcome SignalHit(std::string_view rule, const policy::SignalResult& hit) {
    const policy::Plan plan = policy::PlanEvent(*policy_, MakeEvent("e", v1::PROMOTION), now_);
    policy::StoreOutcome o;
    for (const policy::SignalCheck& s : plan.signals) {
      o.signals.push_back(s.rule_id == rule ? hit : policy::SignalResult{});
    }
    return o;
  }

  const absl::Time now_ = At("2026-12-06T22:15:00Z");  // 23:15 in Berlin: quiet hours
  std::shared_ptr<const policy::Policy> policy_ = ParseTestPolicy(kPolicy);
};

TEST_F(EvidenceTest, SignalRuleNamesTheKindConditionAndTimes) {
  const v1::Evidence e = EvidenceFor(
      v1::PROMOTION, SignalHit("low-csat", {.hit = true, .until = At("2026-12-20T10:00:00Z"), .field = "csat:1",
                                            .at = At("2026-11-20T10:00:00Z")}));
  ASSERT_TRUE(e.has_signal()) << e.DebugString();
  EXPECT_FALSE(e.has_window() || e.has_quiet_hours());
  EXPECT_EQ(e.signal().rule_id(), "low-csat");
  EXPECT_EQ(e.signal().kind(), "csat");
  EXPECT_THAT(e.signal().condition(), HasSubstr("CSAT 2 or lower"));
  EXPECT_EQ(TimeFromProto(e.signal().since()), now_ - absl::Hours(24 * 30));
  EXPECT_EQ(TimeFromProto(e.signal().holds_until()), At("2026-12-20T10:00:00Z"));
  EXPECT_EQ(TimeFromProto(e.signal().at()), At("2026-11-20T10:00:00Z"));  // when the CSAT answer came
  EXPECT_TRUE(e.signal().ref().empty());                                 // a CSAT answer has no id
}

// The store names the complaint that matched ("complaint:<ticket>", the one opened last): the record gives its
// ticket and when it was opened.
TEST_F(EvidenceTest, ComplaintRuleNamesTheTicketAndWhenItWasOpened) {
  const v1::Evidence e = EvidenceFor(
      v1::PROMOTION,
      SignalHit("complaint-open", {.hit = true, .field = "complaint:T-42:b", .at = At("2026-12-01T08:30:00Z")}));
  ASSERT_TRUE(e.has_signal()) << e.DebugString();
  EXPECT_EQ(e.signal().rule_id(), "complaint-open");
  EXPECT_EQ(e.signal().kind(), "complaint");
  EXPECT_EQ(e.signal().ref(), "T-42:b");  // everything after the kind: a ticket id may hold ':'
  EXPECT_EQ(TimeFromProto(e.signal().at()), At("2026-12-01T08:30:00Z"));
  EXPECT_FALSE(e.signal().has_holds_until());  // until the complaint is closed
}

// A redelivered event's outcome comes from the stored outcome, which keeps no field: no ref, no at, the kind from
// the condition.
TEST_F(EvidenceTest, AHitWithoutAFieldHasNoRefOrTime) {
  const v1::Evidence e = EvidenceFor(v1::PROMOTION, SignalHit("complaint-open", {.hit = true}));
  ASSERT_TRUE(e.has_signal()) << e.DebugString();
  EXPECT_EQ(e.signal().kind(), "complaint");
  EXPECT_TRUE(e.signal().ref().empty());
  EXPECT_FALSE(e.signal().has_at());
}

TEST_F(EvidenceTest, RollingCapGivesTheCountsAndTheWindowStart) {
  policy::StoreOutcome o;
  o.usage.push_back({.used = 2, .frees_at = At("2026-12-08T09:00:00Z")});
  const v1::Evidence e = EvidenceFor(v1::PROACTIVE_SERVICE, o);
  ASSERT_TRUE(e.has_window()) << e.DebugString();
  const v1::WindowEvidence& w = e.window();
  EXPECT_EQ(w.rule_id(), "two-per-7d");
  EXPECT_EQ(w.used(), 2);
  EXPECT_EQ(w.limit(), 2);
  EXPECT_EQ(w.window(), "rolling 7d");
  EXPECT_EQ(TimeFromProto(w.rolling_from()), now_ - absl::Hours(24 * 7));
  EXPECT_EQ(TimeFromProto(w.frees_at()), At("2026-12-08T09:00:00Z"));
  EXPECT_TRUE(w.period().empty());
  EXPECT_FALSE(w.has_period_end());
}

TEST_F(EvidenceTest, CalendarCapGivesThePeriodInTheCustomersZone) {
  policy::StoreOutcome o;
  o.usage.push_back({.used = 1});
  const v1::Evidence e = EvidenceFor(v1::SERVICE, o);
  ASSERT_TRUE(e.has_window()) << e.DebugString();
  const v1::WindowEvidence& w = e.window();
  EXPECT_EQ(w.rule_id(), "one-per-day");
  EXPECT_EQ(w.used(), 1);
  EXPECT_EQ(w.limit(), 1);
  EXPECT_EQ(w.window(), "calendar day");
  EXPECT_EQ(w.period(), "2026-12-06");                                      // Berlin's day
  EXPECT_EQ(TimeFromProto(w.period_end()), At("2026-12-07T00:00:00+01:00"));  // its midnight
  EXPECT_FALSE(w.has_rolling_from());
}

TEST_F(EvidenceTest, QuietHoursGiveTheWindowZoneAndLocalTime) {
  const v1::Evidence e = EvidenceFor(v1::TRANSACTIONAL, {});
  ASSERT_TRUE(e.has_quiet_hours()) << e.DebugString();
  const v1::QuietHoursEvidence& q = e.quiet_hours();
  EXPECT_EQ(q.rule_id(), "quiet-nights");
  EXPECT_EQ(q.window(), "quiet hours 21:00-08:00");
  EXPECT_EQ(q.zone(), "Europe/Berlin");
  EXPECT_EQ(q.local_time(), "2026-12-06T23:15:00+01:00");
  EXPECT_EQ(TimeFromProto(q.until()), At("2026-12-07T08:00:00+01:00"));
}

TEST_F(EvidenceTest, ADefaultReleaseHasNone) {
  policy::StoreOutcome o;
  o.usage.push_back({.used = 1});
  EXPECT_EQ(EvidenceFor(v1::PROACTIVE_SERVICE, o).ByteSizeLong(), 0u);
}

TEST(SignalKindOfFieldTest, ThePartBeforeTheRef) {
  EXPECT_EQ(SignalKindOfField("csat:2"), "csat");
  EXPECT_EQ(SignalKindOfField("complaint:*"), "complaint");
  EXPECT_EQ(SignalKindOfField("escalation"), "escalation");
  EXPECT_EQ(SignalKindOfField("opt_out:EMAIL"), "opt_out");
}

TEST(SignalRefOfFieldTest, TheTicketOrCallbackIdOnly) {
  EXPECT_EQ(SignalRefOfField("complaint:T1"), "T1");
  EXPECT_EQ(SignalRefOfField("callback:cb:7"), "cb:7");
  EXPECT_EQ(SignalRefOfField("csat:2"), "");
  EXPECT_EQ(SignalRefOfField("escalation"), "");
  EXPECT_EQ(SignalRefOfField("opt_out:SMS"), "");  // a channel, not an id
}

// FinishBatch puts the evidence, the calling client and the hash key's id in the audit record, never the customer.
TEST_F(EvidenceTest, TheAuditRecordCarriesEvidenceClientAndKeyId) {
  const Event promo = MakeEvent("p", v1::PROMOTION);
  const Event proactive = MakeEvent("s", v1::PROACTIVE_SERVICE);
  const CustomerHasher hasher("k");
  const std::vector<DecisionRequest> requests = {{&promo, {.source = "grpc", .client = "crm-eu"}},
                                                 {&proactive, {.source = "kafka"}}};
  PreparedBatch p = PrepareBatch({.policy = policy_, .now = now_, .hasher = &hasher}, requests);
  std::vector<store::CheckResult> results(2);
  results[0].outcome.signals = {{.hit = true}, {.hit = false}};
  results[1].outcome.usage = {{.used = 0}};
  DecidedBatch out = FinishBatch(p, std::move(results));
  ASSERT_TRUE(out[0].ok() && out[1].ok());
  const v1::DecisionRecord& suppressed = out[0]->record();
  EXPECT_EQ(suppressed.decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(suppressed.evidence().signal().rule_id(), "low-csat");
  EXPECT_EQ(suppressed.client(), "crm-eu");
  EXPECT_EQ(suppressed.decision().policy_version(), "v7");
  EXPECT_EQ(suppressed.customer_hash_key_id(), Sha256Hex("k").substr(0, 8));
  EXPECT_THAT(suppressed.SerializeAsString(), ::testing::Not(HasSubstr("maria")));
  const v1::DecisionRecord& released = out[1]->record();
  EXPECT_EQ(released.decision().decision(), v1::RELEASE);
  EXPECT_FALSE(released.has_evidence());
  EXPECT_TRUE(released.client().empty());  // the Kafka path
}

}  // namespace
}  // namespace tact::decision
