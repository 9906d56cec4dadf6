// The reliability invariant checker (tests/support/invariants.h) on synthetic topics and Redis contents: each
// invariant passes on a clean run and fails on the fault it exists to catch.
#include "tests/support/invariants.h"

#include <gtest/gtest.h>

#include "absl/strings/substitute.h"
#include "daemon/store/keys.h"
#include "daemon/core/proto_time.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/policy/parse.h"
#include "daemon/decision/policy_files.h"

namespace tact::testing {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1795000000);  // 2026-11-18 (a Wednesday) 09:46:40 UTC

policy::Policy DefaultPolicy() {
  auto p = decision::LoadPolicyDir(std::string(TACT_SOURCE_DIR) + "/policies/default");
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

SentInput Input(const std::string& id, const std::string& customer, MessageClass cls) {
  SentInput s;
  s.event.event_id = id;
  s.event.tenant = "acme";
  s.event.customer_id = customer;
  s.event.channel = v1::EMAIL;
  s.event.message_class = cls;
  s.bytes = absl::Substitute(R"({"eventId":"$0","tenant":"acme","customerId":"$1","channel":"EMAIL",)"
                             R"("messageClass":"$2"})",
                             id, customer, v1::MessageClass_Name(cls));
  return s;
}

TopicRecord DecisionRecord(const std::string& id, v1::DecisionKind kind, const std::string& rule, absl::Time at) {
  v1::DecisionRecord r;
  r.set_event_id(id);
  r.set_tenant("acme");
  r.mutable_decision()->set_decision(kind);
  r.mutable_decision()->set_rule_id(rule);
  *r.mutable_decided_at() = TimeToProto(at);
  return {pipeline::EncodeDecisionRecord(r), {{"content-type", "application/json"}}};
}

// acme's `customer`'s key prefix, as tactd (no redis.key_secret) names it.
std::string Prefix(const std::string& customer) { return store::KeySchema().CustomerPrefix("acme", customer); }

// A fixture that "runs" tact by hand: Release/Suppress write what tactd would write.
class InvariantsTest : public ::testing::Test {
 protected:
  void Release(const SentInput& s, absl::Time at, bool count = true) {
    o_.decisions.push_back(DecisionRecord(s.event.event_id, v1::RELEASE, "", at));
    o_.released.push_back({s.bytes, {}});
    if (!count) return;
    if (s.event.message_class == v1::PROACTIVE_SERVICE) {
      o_.rolling[Prefix(s.event.customer_id) + "r:proactive-service-2-per-7d"].insert(s.event.event_id);
    }
    if (s.event.message_class == v1::PROMOTION) {
      const std::string day = absl::FormatTime("%Y-%m-%d", at, absl::UTCTimeZone());
      o_.calendar[Prefix(s.event.customer_id) + "c:promotion-1-per-day:" + day]++;
      o_.calendar[Prefix(s.event.customer_id) + "c:promotion-3-per-week:w2026-11-16"]++;
    }
  }
  void Suppress(const SentInput& s, absl::Time at, const std::string& rule) {
    o_.decisions.push_back(DecisionRecord(s.event.event_id, v1::SUPPRESS, rule, at));
    o_.suppressed.push_back({s.bytes, {}});
  }
  CheckReport Run(const CheckOptions& options = {}) { return Check(sent_, policy_, at_risk_, o_, options); }

  policy::Policy policy_ = DefaultPolicy();
  std::vector<SentInput> sent_;
  std::vector<AtRisk> at_risk_;
  Observed o_;
};

TEST_F(InvariantsTest, CleanRunPassesEveryInvariant) {
  for (int i = 0; i < 3; ++i) sent_.push_back(Input("p" + std::to_string(i), "c1", v1::PROACTIVE_SERVICE));
  sent_.push_back(Input("promo", "c2", v1::PROMOTION));
  Release(sent_[0], kT0);
  Release(sent_[1], kT0 + absl::Minutes(1));
  Suppress(sent_[2], kT0 + absl::Minutes(2), "proactive-service-2-per-7d");
  Release(sent_[3], kT0);
  // A redelivery repeats a record identically: fine, and counted.
  o_.decisions.push_back(DecisionRecord("p0", v1::RELEASE, "", kT0 + absl::Minutes(5)));
  o_.released.push_back({sent_[0].bytes, {}});
  const CheckReport r = Run();
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.PassedList(), "I1 I2 I3 I4 I5");
  EXPECT_EQ(r.final_inputs, 4);
  EXPECT_EQ(r.released, 3);
  EXPECT_EQ(r.suppressed, 1);
  EXPECT_EQ(r.repeated_records, 1);
  EXPECT_EQ(r.Get("I2").checked, 3);  // c1's rolling set, c2's day and week counters
}

TEST_F(InvariantsTest, LostInputFailsI1) {
  sent_.push_back(Input("a", "c1", v1::PROACTIVE_SERVICE));
  sent_.push_back(Input("lost", "c2", v1::PROACTIVE_SERVICE));
  Release(sent_[0], kT0);
  const CheckReport r = Run();
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.Get("I1").pass);
  EXPECT_EQ(r.Get("I1").violations, 1);
  EXPECT_NE(r.Get("I1").examples[0].find("lost: no decision record"), std::string::npos) << r.Summary();
}

TEST_F(InvariantsTest, DecisionWithoutRoutedOutputFailsI1) {
  sent_.push_back(Input("a", "c1", v1::PROACTIVE_SERVICE));
  o_.decisions.push_back(DecisionRecord("a", v1::RELEASE, "", kT0));
  o_.rolling[Prefix("c1") + "r:proactive-service-2-per-7d"].insert("a");
  const CheckReport r = Run();
  EXPECT_FALSE(r.Get("I1").pass) << r.Summary();
  EXPECT_NE(r.Get("I1").examples[0].find("RELEASE but not on tact.released"), std::string::npos);
}

TEST_F(InvariantsTest, DeferIsNotFinalButExpiredIs) {
  sent_.push_back(Input("d", "c1", v1::PROACTIVE_SERVICE));
  sent_.push_back(Input("e", "c2", v1::PROACTIVE_SERVICE));
  o_.decisions.push_back(DecisionRecord("d", v1::DEFER, "sms-push-quiet-hours", kT0));
  o_.decisions.push_back(DecisionRecord("e", v1::DEFER, "sms-push-quiet-hours", kT0));
  o_.decisions.push_back(DecisionRecord("e", v1::EXPIRED, "sms-push-quiet-hours", kT0 + absl::Hours(1)));
  const CheckReport r = Run();
  EXPECT_EQ(r.Get("I1").violations, 1) << r.Summary();
  EXPECT_EQ(r.deferred_pending, 1);
  EXPECT_EQ(r.expired, 1);
  EXPECT_TRUE(r.Get("I4").pass) << "DEFER then EXPIRED is progress, not a contradiction";
}

TEST_F(InvariantsTest, PoisonMustReachTheDlq) {
  SentInput poison;
  poison.poison = true;
  poison.bytes = "\x01\x02not an event";
  sent_.push_back(poison);
  EXPECT_FALSE(Run().Get("I1").pass);
  o_.dlq.push_back({poison.bytes, {{"tact-dlq-reason", "undecodable"}}});
  const CheckReport r = Run();
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.dead_lettered, 1);
}

TEST_F(InvariantsTest, ValidInputDeadLetteredFailsI1UnlessAllowed) {
  sent_.push_back(Input("a", "c1", v1::PROACTIVE_SERVICE));
  o_.dlq.push_back({sent_[0].bytes, {{"content-type", "application/json"}, {"tact-dlq-reason", "bad header"}}});
  CheckReport r = Run();
  EXPECT_FALSE(r.Get("I1").pass) << r.Summary();
  EXPECT_NE(r.Get("I1").examples[0].find("a: a valid input dead-lettered"), std::string::npos);
  r = Run({.valid_may_dead_letter = true});
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.dead_lettered, 1);
}

TEST_F(InvariantsTest, CounterOffByOneFailsI2) {
  sent_.push_back(Input("promo", "c1", v1::PROMOTION));
  Release(sent_[0], kT0);
  o_.calendar[Prefix("c1") + "c:promotion-1-per-day:2026-11-18"] = 2;  // counted twice
  const CheckReport r = Run();
  EXPECT_FALSE(r.Get("I2").pass) << r.Summary();
  EXPECT_TRUE(r.Get("I3").pass);
  EXPECT_NE(r.Get("I2").examples[0].find("released 1, counter 2"), std::string::npos) << r.Summary();
}

TEST_F(InvariantsTest, CountedButSuppressedFailsI2) {
  sent_.push_back(Input("a", "c1", v1::PROACTIVE_SERVICE));
  Suppress(sent_[0], kT0, "proactive-service-2-per-7d");
  o_.rolling[Prefix("c1") + "r:proactive-service-2-per-7d"].insert("a");
  o_.rolling[Prefix("someone-else") + "r:proactive-service-2-per-7d"].insert("x");  // not this scenario's
  const CheckReport r = Run();
  EXPECT_FALSE(r.Get("I2").pass);
  EXPECT_EQ(r.Get("I2").violations, 1) << r.Summary();
}

TEST_F(InvariantsTest, DataLossIsReportedWithoutFailing) {
  sent_.push_back(Input("a", "c1", v1::PROACTIVE_SERVICE));
  Release(sent_[0], kT0, /*count=*/false);
  CheckReport r = Run();
  EXPECT_FALSE(r.ok());
  r = Run({.redis_data_lost = true});
  EXPECT_FALSE(r.Get("I2").pass);
  EXPECT_FALSE(r.Get("I2").enforced);
  EXPECT_TRUE(r.ok()) << r.Summary();
}

TEST_F(InvariantsTest, ThirdProactiveWithinSevenDaysFailsI3) {
  for (int i = 0; i < 3; ++i) sent_.push_back(Input("p" + std::to_string(i), "c1", v1::PROACTIVE_SERVICE));
  Release(sent_[0], kT0);
  Release(sent_[1], kT0 + absl::Hours(24));
  Release(sent_[2], kT0 + absl::Hours(24 * 6));
  CheckReport r = Run();
  EXPECT_FALSE(r.Get("I3").pass) << r.Summary();
  EXPECT_TRUE(r.Get("I2").pass) << "the counter is consistent with what went out";
  // Eight days after the first one, the third is allowed.
  o_ = {};
  Release(sent_[0], kT0);
  Release(sent_[1], kT0 + absl::Hours(24));
  Release(sent_[2], kT0 + absl::Hours(24 * 8));
  r = Run();
  EXPECT_TRUE(r.Get("I3").pass) << r.Summary();
}

TEST_F(InvariantsTest, SecondPromotionOnOneDayFailsI3) {
  sent_.push_back(Input("m1", "c1", v1::PROMOTION));
  sent_.push_back(Input("m2", "c1", v1::PROMOTION));
  Release(sent_[0], kT0);
  Release(sent_[1], kT0 + absl::Hours(1));
  const CheckReport r = Run();
  EXPECT_FALSE(r.Get("I3").pass) << r.Summary();
  EXPECT_NE(r.Get("I3").examples[0].find("promotion-1-per-day"), std::string::npos);
}

TEST_F(InvariantsTest, DifferentDecisionsForOneEventFailI4) {
  sent_.push_back(Input("a", "c1", v1::PROACTIVE_SERVICE));
  Release(sent_[0], kT0);
  o_.decisions.push_back(DecisionRecord("a", v1::SUPPRESS, "proactive-service-2-per-7d", kT0 + absl::Minutes(1)));
  const CheckReport r = Run();
  EXPECT_FALSE(r.Get("I4").pass) << r.Summary();
  EXPECT_NE(r.Get("I4").examples[0].find("RELEASE () then SUPPRESS"), std::string::npos);
}

TEST_F(InvariantsTest, PromotionToAtRiskCustomerFailsI5) {
  sent_.push_back(Input("m1", "c1", v1::PROMOTION));
  sent_.push_back(Input("s1", "c1", v1::PROACTIVE_SERVICE));
  at_risk_.push_back({.tenant = "acme", .customer_id = "c1", .from = kT0 - absl::Hours(1)});
  Release(sent_[1], kT0);  // service messages may go out
  EXPECT_TRUE(Run().Get("I5").pass);
  Release(sent_[0], kT0);
  const CheckReport r = Run();
  EXPECT_FALSE(r.Get("I5").pass) << r.Summary();
  // Before the signal it was fine.
  at_risk_[0].from = kT0 + absl::Hours(1);
  EXPECT_TRUE(Run().Get("I5").pass);
}

}  // namespace
}  // namespace tact::testing
