#include "daemon/pipeline/output_router.h"

#include <gtest/gtest.h>

#include "daemon/core/proto_time.h"
#include "daemon/pipeline/event_codec.h"

namespace tact::pipeline {
namespace {

v1::DecisionRecord Record(v1::DecisionKind kind) {
  v1::DecisionRecord r;
  r.set_event_id("e1");
  r.set_tenant("acme");
  r.set_customer_hash("h42");
  v1::Decision* d = r.mutable_decision();
  d->set_decision(kind);
  d->set_rule_id("quiet-hours");
  d->set_policy_version("v7");
  *r.mutable_decided_at() = TimeToProto(absl::FromUnixSeconds(1800000000));
  return r;
}

TEST(OutputRouterTest, EachDecisionGoesToItsTopicWithItsHeadersAndItsRecord) {
  const OutputRouter router(Topics{.released = "rel", .deferred = "def", .suppressed = "sup", .decisions = "dec"});
  const v1::DecisionRecord rec = Record(v1::RELEASE);
  const std::vector<OutputRecord> out =
      router.Route(rec.decision(), rec, "acme:c1", "bytes", {{"content-type", "application/json"}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].topic, "rel");
  EXPECT_EQ(out[0].key, "acme:c1");
  EXPECT_EQ(out[0].value, "bytes");
  EXPECT_EQ(out[0].headers, (HeaderList{{"content-type", "application/json"},
                                        {"tact-decision", "RELEASE"},
                                        {"tact-rule", "quiet-hours"},
                                        {"tact-policy-version", "v7"}}));
  EXPECT_EQ(out[1].topic, "dec");
  EXPECT_EQ(out[1].key, "h42") << "the customer hash, never the id";
  EXPECT_EQ(out[1].value, EncodeDecisionRecord(rec));
  EXPECT_EQ(out[1].headers, (HeaderList{{"content-type", "application/json"}}));
  EXPECT_EQ(router.TopicFor(v1::SUPPRESS), "sup");
  EXPECT_EQ(router.TopicFor(v1::EXPIRED), "sup");
}

TEST(OutputRouterTest, ADeferralCarriesWhenToDecideAgain) {
  const OutputRouter router(Topics{});
  v1::DecisionRecord rec = Record(v1::DEFER);
  *rec.mutable_decision()->mutable_defer_until() = TimeToProto(absl::FromUnixSeconds(1800003600));
  const std::vector<OutputRecord> out = router.Route(rec.decision(), rec, "k", "v", {});
  EXPECT_EQ(out[0].topic, "tact.deferred");
  EXPECT_EQ(out[0].headers, (HeaderList{{"tact-decision", "DEFER"},
                                        {"tact-rule", "quiet-hours"},
                                        {"tact-policy-version", "v7"},
                                        {"tact-defer-until", "2027-01-15T09:00:00Z"},
                                        {"tact-decided-at", "2027-01-15T08:00:00Z"}}));
  const v1::DecisionRecord expired = Record(v1::EXPIRED);
  EXPECT_EQ(router.Route(expired.decision(), expired, "k", "v", {})[0].headers.size(), 3u)
      << "no deferral headers but on a DEFER";
}

}  // namespace
}  // namespace tact::pipeline
