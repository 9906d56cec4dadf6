#include "daemon/decision/campaign_gate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/campaign/desk.h"
#include "daemon/campaign/gate.h"
#include "daemon/core/proto_time.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/policy_files.h"
#include "daemon/policy/campaign_gates.h"
#include "daemon/policy/parse.h"
#include "daemon/store/in_memory_counter_store.h"
#include "tests/support/events.h"

namespace tact::decision {
namespace {

using ::testing::HasSubstr;
using campaign::EvaluateGate;
using campaign::GateState;
using campaign::StoreGateEnforcer;

const absl::Time kMonday = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 0, 0, 0), absl::UTCTimeZone());
const absl::Time kNine = kMonday + absl::Hours(9);

constexpr char kPolicy[] = R"(
version: "g1"
rules:
  - id: promo-daily
    description: one promotion a day
    match: { message_class: PROMOTION }
    limit: { count: 1, window: 1d }
campaign_gates:
  - id: promos
    description: promotions are released only within their capacity plan
    match: { tenant: acme, channel: [EMAIL, SMS], message_class: PROMOTION }
    pause_when: { contacts_over_plan: 1.5, complaints_per_1000: 3, min_contacts: 5, min_released: 100 }
  - id: acked
    match: { tenant: acme, message_class: PROACTIVE_SERVICE }
    require_acknowledgement: true
    min_notice: 48h
)";

policy::Policy ParseOk(const std::string& yaml) {
  absl::StatusOr<policy::Policy> p = policy::ParsePolicy({{"p.yaml", yaml}});
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : policy::Policy{};
}

Event CampaignEvent(std::string id, std::string customer, std::string campaign = "spring",
                    MessageClass cls = v1::PROMOTION) {
  return testing::MakeEvent({.event_id = std::move(id), .customer_id = std::move(customer), .message_class = cls,
                             .campaign_id = std::move(campaign)});
}

// A released PACE campaign: 3 messages at 09:00, none at 09:15, 2 at 09:30.
v1::Campaign Paced(std::string id = "spring") {
  v1::Campaign c;
  c.mutable_spec()->set_tenant("acme");
  c.mutable_spec()->set_campaign_id(id);
  c.mutable_spec()->set_audience(5);
  c.set_state(v1::CAMPAIGN_RELEASED);
  *c.mutable_released_at() = TimeToProto(kMonday);
  v1::CampaignPlan* p = c.mutable_plan();
  p->set_verdict(v1::VERDICT_PACE);
  v1::Batch* b = p->add_schedule();
  *b->mutable_start() = TimeToProto(kNine);
  b->set_messages(3);
  b = p->add_schedule();
  *b->mutable_start() = TimeToProto(kNine + absl::Minutes(30));
  b->set_messages(2);
  return c;
}

TEST(CampaignGatesYamlTest, ParsesTheSectionAndMatchesByTenantChannelAndClass) {
  const policy::Policy p = ParseOk(kPolicy);
  ASSERT_NE(p.campaign_gates, nullptr);
  ASSERT_EQ(p.campaign_gates->gates.size(), 2u);
  const policy::CampaignGate& g = p.campaign_gates->gates[0];
  EXPECT_EQ(g.id, "promos");
  EXPECT_EQ(g.RuleId(), "campaign-gate:promos");
  EXPECT_EQ(g.line, 9);
  ASSERT_TRUE(g.pause_when.has_value());
  EXPECT_DOUBLE_EQ(g.pause_when->contacts_over_plan, 1.5);
  EXPECT_DOUBLE_EQ(g.pause_when->complaints_per_1000, 3);
  EXPECT_EQ(g.pause_when->min_contacts, 5);
  EXPECT_EQ(g.pause_when->min_released, 100);
  EXPECT_FALSE(g.require_acknowledgement);
  const policy::CampaignGate& a = p.campaign_gates->gates[1];
  EXPECT_TRUE(a.require_acknowledgement);
  EXPECT_EQ(a.min_notice, absl::Hours(48));
  EXPECT_FALSE(a.pause_when.has_value());

  EXPECT_EQ(policy::FindCampaignGate(p, CampaignEvent("e", "c")), &g);
  EXPECT_EQ(policy::FindCampaignGate(p, CampaignEvent("e", "c", "spring", v1::PROACTIVE_SERVICE)), &a);
  EXPECT_EQ(policy::FindCampaignGate(p, CampaignEvent("e", "c", "")), nullptr);  // no campaign: never gated
  EXPECT_EQ(policy::FindCampaignGate(p, CampaignEvent("e", "c", "spring", v1::TRANSACTIONAL)), nullptr);
  Event push = CampaignEvent("e", "c");
  push.channel = v1::PUSH;
  EXPECT_EQ(policy::FindCampaignGate(p, push), nullptr);
  Event other = CampaignEvent("e", "c");
  other.tenant = "globex";
  EXPECT_EQ(policy::FindCampaignGate(p, other), nullptr);
  EXPECT_EQ(policy::FindFeedbackGate(p, "acme", v1::EMAIL), &g);
  EXPECT_EQ(policy::FindFeedbackGate(p, "acme", v1::PUSH), &a);
}

TEST(CampaignGatesYamlTest, FileTenantRestrictsGatesAndIdsAreUniqueAcrossFiles) {
  absl::StatusOr<policy::Policy> p = policy::ParsePolicy(
      {{"a.yaml", "version: \"1\"\ntenant: acme\nrules: []\ncampaign_gates:\n  - id: g\n"},
       {"b.yaml", "version: \"1\"\nrules: []\ncampaign_gates:\n  - id: g\n"}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()), "b.yaml:4:5: campaign gate id 'g' is already used at a.yaml:5");
  p = policy::ParsePolicy({{"a.yaml", "version: \"1\"\ntenant: acme\nrules: []\ncampaign_gates:\n  - id: g\n"}});
  ASSERT_TRUE(p.ok()) << p.status();
  Event e = CampaignEvent("e", "c");
  EXPECT_NE(policy::FindCampaignGate(*p, e), nullptr);
  e.tenant = "globex";
  EXPECT_EQ(policy::FindCampaignGate(*p, e), nullptr);
  // Without the section the policy has no gates (and the digest still covers the files).
  EXPECT_EQ(ParseOk("version: \"1\"\nrules: []\n").campaign_gates, nullptr);
}

TEST(CampaignGatesYamlTest, TheDocumentedExampleLoads) {
  absl::StatusOr<policy::Policy> p = LoadPolicyDir(std::string(TACT_SOURCE_DIR) + "/policies/examples");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_NE(p->campaign_gates, nullptr);
  ASSERT_EQ(p->campaign_gates->gates.size(), 2u);
  EXPECT_TRUE(p->campaign_gates->gates[0].require_acknowledgement);
  EXPECT_EQ(p->campaign_gates->gates[0].min_notice, absl::Hours(48));
}

TEST(EvaluateGateTest, SaysWhichConditionIsMissing) {
  const policy::Policy p = ParseOk(kPolicy);
  const policy::CampaignGate& promos = p.campaign_gates->gates[0];
  const policy::CampaignGate& acked = p.campaign_gates->gates[1];
  const absl::Time now = kNine + absl::Minutes(5);

  GateState s = EvaluateGate(promos, nullptr, "spring", now);
  EXPECT_EQ(s.kind, GateState::Kind::kDefer);
  EXPECT_EQ(s.reason, "campaign spring not released");
  EXPECT_EQ(s.defer_until, kNine + absl::Minutes(15));

  v1::Campaign c = Paced();
  c.set_state(v1::CAMPAIGN_PAUSED);
  c.set_pause_reason("contacts 2.1× plan");
  s = EvaluateGate(promos, &c, "spring", now);
  EXPECT_EQ(s.reason, "campaign spring paused: contacts 2.1× plan");
  EXPECT_EQ(s.defer_until, kNine + absl::Minutes(15));

  c = Paced();
  s = EvaluateGate(acked, &c, "spring", now);
  EXPECT_EQ(s.reason, "waiting for contact-centre acknowledgement");
  c.set_acknowledged(true);
  s = EvaluateGate(acked, &c, "spring", now);
  EXPECT_EQ(s.reason, "notice lead time 48h: first send at 2026-11-25T00:00:00Z");
  EXPECT_EQ(s.defer_until, kMonday + absl::Hours(48));

  s = EvaluateGate(promos, &c, "spring", kNine - absl::Minutes(1));
  EXPECT_EQ(s.reason, "campaign starts at 2026-11-23T09:00:00Z");
  EXPECT_EQ(s.defer_until, kNine);

  s = EvaluateGate(promos, &c, "spring", now);
  ASSERT_EQ(s.kind, GateState::Kind::kPaced);
  EXPECT_EQ(s.interval, kNine);
  EXPECT_EQ(s.batch, 3);
  EXPECT_EQ(s.next_batch, kNine + absl::Minutes(30));

  s = EvaluateGate(promos, &c, "spring", kNine + absl::Minutes(20));
  EXPECT_EQ(s.reason, "paced: no batch in this interval, next batch at 2026-11-23T09:30:00Z");
  EXPECT_EQ(s.defer_until, kNine + absl::Minutes(30));

  s = EvaluateGate(promos, &c, "spring", kNine + absl::Minutes(44));
  ASSERT_EQ(s.kind, GateState::Kind::kPaced);
  EXPECT_EQ(s.batch, 2);
  EXPECT_EQ(s.next_batch, absl::InfiniteFuture());

  s = EvaluateGate(promos, &c, "spring", kNine + absl::Minutes(50));
  EXPECT_EQ(s.reason, "paced: schedule ended at 2026-11-23T09:45:00Z; re-plan to send the rest");
  EXPECT_EQ(s.defer_until, kNine + absl::Hours(1));

  c.mutable_plan()->set_verdict(v1::VERDICT_RELEASE);  // holds the target all at once: not counted
  EXPECT_EQ(EvaluateGate(promos, &c, "spring", kNine + absl::Hours(5)).kind, GateState::Kind::kRelease);
}

class GatedDecisionTest : public ::testing::Test {
 protected:
  GatedDecisionTest() {
    policies_.Set(std::make_shared<const policy::Policy>(ParseOk(kPolicy)));
    EXPECT_TRUE(capacity_.PutCampaign(Paced(), true).ok());
  }
  v1::Decision Decide(const Event& e, bool dry_run = false) {
    absl::StatusOr<Decided> d = service_.Decide(e, {.dry_run = dry_run});
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? d->decision() : v1::Decision{};
  }

  FakeClock clock_{kNine + absl::Minutes(1)};
  PolicyHolder policies_;
  store::InMemoryCounterStore store_;
  store::InMemoryCapacityStore capacity_;
  StoreGateEnforcer gate_{capacity_, clock_, absl::ZeroDuration()};
  CustomerHasher hasher_{"k"};
  DecisionService service_{policies_, store_, clock_, hasher_, {.campaign_gate = &gate_}};
};

TEST_F(GatedDecisionTest, PacedCampaignReleasesAtMostTheBatchPerIntervalAndDefersTheRest) {
  for (int i = 0; i < 3; ++i) {
    const v1::Decision d = Decide(CampaignEvent(absl::StrCat("e", i), absl::StrCat("cust", i)));
    EXPECT_EQ(d.decision(), v1::RELEASE) << d.reason();
    EXPECT_THAT(d.matched_rules(), ::testing::Contains("campaign-gate:promos"));
  }
  const v1::Decision over = Decide(CampaignEvent("e3", "cust3"));
  EXPECT_EQ(over.decision(), v1::DEFER);
  EXPECT_EQ(over.rule_id(), "campaign-gate:promos");
  EXPECT_EQ(over.reason(), "paced: interval batch of 3 used, next batch at 2026-11-23T09:30:00Z");
  EXPECT_EQ(TimeFromProto(over.defer_until()), kNine + absl::Minutes(30));
  // A redelivered event keeps its slot (idempotent) and is not counted twice.
  const v1::Decision again = Decide(CampaignEvent("e1", "cust1"));
  EXPECT_EQ(again.decision(), v1::RELEASE);
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(capacity_.ReserveSlot("acme", "spring", kNine, "probe", 3, true)->used, 3);
  EXPECT_EQ(capacity_.GetCounts("acme", "spring")->released, 3);
  // Between batches: deferred to the next one.
  clock_.Set(kNine + absl::Minutes(16));
  const v1::Decision gap = Decide(CampaignEvent("e4", "cust4"));
  EXPECT_EQ(gap.decision(), v1::DEFER);
  EXPECT_EQ(gap.reason(), "paced: no batch in this interval, next batch at 2026-11-23T09:30:00Z");
  // The next interval's batch: a customer-level SUPPRESS does not use up a campaign slot.
  clock_.Set(kNine + absl::Minutes(31));
  EXPECT_EQ(Decide(CampaignEvent("e5", "cust0")).decision(), v1::SUPPRESS);  // cust0 had its promotion today
  EXPECT_EQ(Decide(CampaignEvent("e3", "cust3")).decision(), v1::RELEASE);
  EXPECT_EQ(Decide(CampaignEvent("e4", "cust4"), /*dry_run=*/true).decision(), v1::RELEASE);  // looks, takes nothing
  EXPECT_EQ(Decide(CampaignEvent("e4", "cust4")).decision(), v1::RELEASE);
  const v1::Decision full = Decide(CampaignEvent("e6", "cust6"));
  EXPECT_EQ(full.decision(), v1::DEFER);
  EXPECT_EQ(full.reason(), "paced: interval batch of 2 used; schedule ends with this interval, re-plan to send the rest");
  EXPECT_EQ(TimeFromProto(full.defer_until()), kNine + absl::Minutes(45));
}

TEST_F(GatedDecisionTest, UnreleasedAndUnacknowledgedCampaignsAreDeferredWithTheMissingCondition) {
  v1::Decision d = Decide(CampaignEvent("x1", "cust1", "autumn"));
  EXPECT_EQ(d.decision(), v1::DEFER);
  EXPECT_EQ(d.reason(), "campaign autumn not released");
  EXPECT_EQ(d.rule_id(), "campaign-gate:promos");
  EXPECT_EQ(TimeFromProto(d.defer_until()), kNine + absl::Minutes(15));

  d = Decide(CampaignEvent("x2", "cust1", "spring", v1::PROACTIVE_SERVICE));
  EXPECT_EQ(d.decision(), v1::DEFER);
  EXPECT_EQ(d.reason(), "waiting for contact-centre acknowledgement");
  EXPECT_EQ(d.rule_id(), "campaign-gate:acked");

  v1::Campaign c = *capacity_.GetCampaign("acme", "spring").value();
  c.set_acknowledged(true);
  ASSERT_TRUE(capacity_.PutCampaign(c, false).ok());
  d = Decide(CampaignEvent("x3", "cust1", "spring", v1::PROACTIVE_SERVICE));
  EXPECT_EQ(d.reason(), "notice lead time 48h: first send at 2026-11-25T00:00:00Z");
  EXPECT_EQ(TimeFromProto(d.defer_until()), kMonday + absl::Hours(48));

  // Events without a campaign, or of an ungated class, never meet the gate.
  EXPECT_EQ(Decide(CampaignEvent("x4", "cust9", "")).decision(), v1::RELEASE);
  EXPECT_EQ(Decide(CampaignEvent("x5", "cust9", "autumn", v1::SERVICE)).decision(), v1::RELEASE);
}

TEST_F(GatedDecisionTest, ThePerProcessCacheIsRefreshedAfterItsTtl) {
  StoreGateEnforcer cached(capacity_, clock_, absl::Minutes(1));
  DecisionService service(policies_, store_, clock_, hasher_, {.campaign_gate = &cached});
  EXPECT_EQ(service.Decide(CampaignEvent("c1", "cust1", "autumn"), {})->decision().reason(),
            "campaign autumn not released");
  v1::Campaign autumn = Paced("autumn");
  autumn.mutable_plan()->set_verdict(v1::VERDICT_RELEASE);
  ASSERT_TRUE(capacity_.PutCampaign(autumn, true).ok());
  EXPECT_EQ(service.Decide(CampaignEvent("c2", "cust2", "autumn"), {})->decision().decision(), v1::DEFER);  // cached
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(service.Decide(CampaignEvent("c3", "cust3", "autumn"), {})->decision().decision(), v1::RELEASE);
}

TEST_F(GatedDecisionTest, ARedeliveredEventKeepsItsEarlierDecisionWhenItsCampaignIsHeldSinceAndTakesNoSlot) {
  ASSERT_EQ(Decide(CampaignEvent("r0", "cust0")).decision(), v1::RELEASE);
  v1::Campaign c = *capacity_.GetCampaign("acme", "spring").value();
  c.set_state(v1::CAMPAIGN_PAUSED);
  c.set_pause_reason("by hand");
  ASSERT_TRUE(capacity_.PutCampaign(c, false).ok());
  const v1::Decision again = Decide(CampaignEvent("r0", "cust0"));  // e.g. Kafka redelivery after a crash
  EXPECT_EQ(again.decision(), v1::RELEASE);
  EXPECT_TRUE(again.duplicate());
  const v1::Decision fresh = Decide(CampaignEvent("r1", "cust1"));
  EXPECT_EQ(fresh.decision(), v1::DEFER);
  EXPECT_EQ(fresh.reason(), "campaign spring paused: by hand");
  EXPECT_FALSE(fresh.duplicate());
  EXPECT_EQ(capacity_.ReserveSlot("acme", "spring", kNine, "probe", 3, true)->used, 1);
  // The held event took nothing from the customer either: released once the campaign resumes.
  c.set_state(v1::CAMPAIGN_RELEASED);
  ASSERT_TRUE(capacity_.PutCampaign(c, false).ok());
  EXPECT_EQ(Decide(CampaignEvent("r1", "cust1")).decision(), v1::RELEASE);
}

class NullSink final : public campaign::NoticePort {
 public:
  absl::Status Publish(const v1::CampaignNotice& notice) override {
    kinds.push_back(notice.kind());
    return absl::OkStatus();
  }
  std::vector<std::string> kinds;
};

TEST_F(GatedDecisionTest, AFeedbackPauseDefersTheCampaignsMessagesUntilResumed) {
  NullSink sink;
  campaign::CampaignDesk desk(capacity_, sink, clock_);
  desk.set_policies([this] { return policies_.Get(); });
  EXPECT_EQ(Decide(CampaignEvent("p0", "cust0")).decision(), v1::RELEASE);
  for (int i = 0; i < 5; ++i) {
    v1::Signal s;
    s.set_tenant("acme");
    s.set_customer_id(absl::StrCat("caller", i));
    s.set_kind(v1::CONTACT);
    s.set_campaign_id("spring");
    s.set_signal_id(absl::StrCat("call-", i));
    *s.mutable_at() = TimeToProto(clock_.Now());
    ASSERT_TRUE(desk.OnCampaignSignal(s, clock_.Now()).ok());
  }
  EXPECT_EQ(sink.kinds, (std::vector<std::string>{"PAUSED"}));
  const v1::Decision d = Decide(CampaignEvent("p1", "cust1"));
  EXPECT_EQ(d.decision(), v1::DEFER);
  EXPECT_EQ(d.rule_id(), "campaign-gate:promos");
  EXPECT_EQ(d.reason(), "campaign spring paused: contacts over an empty plan (5 actual, 0.0 predicted by now; "
                        "pause above 1.5×)");
  EXPECT_EQ(TimeFromProto(d.defer_until()), kNine + absl::Minutes(15));
  ASSERT_TRUE(desk.Resume("acme", "spring").ok());
  EXPECT_EQ(Decide(CampaignEvent("p1", "cust1")).decision(), v1::RELEASE);
}

}  // namespace
}  // namespace tact::decision
