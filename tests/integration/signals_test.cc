// tact.signals end to end (redis-server + tact-devbroker + tactd): a CSAT answer on the topic suppresses the
// customer's next promotion through the default policy's promotion-low-csat rule; a bad signal goes to tact.dlq
// with the pipeline's reason and source headers; a signal that arrives while Redis is down waits (paused, retried)
// and is written once Redis is back, never skipped.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "daemon/pipeline/event_codec.h"
#include "tests/support/admin.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::DevBroker;
using testing::Metric;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::TopicReader;
using testing::WaitFor;

std::string Now3339() { return absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()); }

std::string CsatSignal(const std::string& customer, int csat) {
  return absl::Substitute(R"({"tenant":"acme","customerId":"$0","kind":"CSAT","csat":$1,"at":"$2"})", customer, csat,
                          Now3339());
}

std::string Promotion(const std::string& event_id, const std::string& customer) {
  return absl::Substitute(
      R"({"eventId":"$0","tenant":"acme","customerId":"$1","channel":"EMAIL","messageClass":"PROMOTION"})", event_id,
      customer);
}

// The decision record of `event_id`, once there is one.
std::optional<v1::DecisionRecord> DecisionOf(const TopicReader& decisions, const std::string& event_id) {
  for (const testing::Record& r : decisions.Records()) {
    if (auto rec = pipeline::DecodeDecisionRecord(r.value); rec.ok() && rec->event_id() == event_id) {
      return *rec;
    }
  }
  return std::nullopt;
}

class SignalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<RedisServer>(dir_.path());
    broker_ = std::make_unique<DevBroker>(dir_.path(), 3);
    tactd_ = std::make_unique<Tactd>(dir_.path(), broker_->bootstrap(), redis_->address());
    decisions_ = std::make_unique<TopicReader>(broker_->bootstrap(), "tact.decisions");
    dlq_ = std::make_unique<TopicReader>(broker_->bootstrap(), "tact.dlq");
    producer_ = std::make_unique<testing::TestProducer>(broker_->bootstrap());
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "---- tactd log ----\n" << tactd_->process().Log() << "\n";
    }
  }
  double Consumed(const std::string& kind) {
    return Metric(tactd_->admin_port(), "tact_signals_consumed_total", {{"kind", kind}});
  }

  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<Tactd> tactd_;
  std::unique_ptr<TopicReader> decisions_;
  std::unique_ptr<TopicReader> dlq_;
  std::unique_ptr<testing::TestProducer> producer_;
};

TEST_F(SignalsTest, LowCsatOnTheTopicSuppressesTheNextPromotion) {
  // Control: a customer without signals gets the promotion.
  producer_->Send("tact.outbound", Promotion("p-happy", "happy"), "acme:happy");
  producer_->Send("tact.signals", CsatSignal("grumpy", 1), "acme:grumpy");
  ASSERT_TRUE(WaitFor([&] { return Consumed("CSAT") >= 1; }, absl::Seconds(30), "the CSAT signal recorded"));
  producer_->Send("tact.outbound", Promotion("p-grumpy", "grumpy"), "acme:grumpy");

  std::optional<v1::DecisionRecord> grumpy, happy;
  ASSERT_TRUE(WaitFor(
      [&] {
        grumpy = DecisionOf(*decisions_, "p-grumpy");
        happy = DecisionOf(*decisions_, "p-happy");
        return grumpy && happy;
      },
      absl::Seconds(30), "both promotions decided"));
  EXPECT_EQ(happy->decision().decision(), v1::RELEASE);
  EXPECT_EQ(grumpy->decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(grumpy->decision().rule_id(), "promotion-low-csat");
  EXPECT_EQ(dlq_->Count(), 0u);
}

TEST_F(SignalsTest, BadSignalsGoToTheDeadLetterTopicWithReasonAndSource) {
  const std::string bad = CsatSignal("c-bad", 9);
  producer_->Send("tact.signals", bad, "acme:c-bad");
  producer_->Send("tact.signals", "{not json", "acme:c-bad");
  producer_->Send("tact.signals", CsatSignal("c-ok", 5), "acme:c-ok");
  ASSERT_TRUE(WaitFor([&] { return dlq_->Count() >= 2 && Consumed("CSAT") >= 1; }, absl::Seconds(30),
                      "two dead letters and one recorded signal"));
  std::vector<testing::Record> dead = dlq_->Records();
  ASSERT_EQ(dead.size(), 2u);
  std::sort(dead.begin(), dead.end(), [](const auto& a, const auto& b) {
    return a.headers.at("tact-source-offset") < b.headers.at("tact-source-offset");
  });
  EXPECT_EQ(dead[0].value, bad);  // the original bytes
  EXPECT_EQ(dead[0].headers["tact-dlq-reason"], "csat: must be 1..5");
  EXPECT_EQ(dead[0].headers["tact-source-topic"], "tact.signals");
  EXPECT_EQ(dead[0].key, "acme:c-bad");
  EXPECT_EQ(dead[1].value, "{not json");
  EXPECT_TRUE(dead[1].headers["tact-dlq-reason"].starts_with("invalid JSON signal: ")) << dead[1].headers["tact-dlq-reason"];
  EXPECT_EQ(dead[0].headers["tact-source-partition"], dead[1].headers["tact-source-partition"]);
  EXPECT_EQ(Metric(tactd_->admin_port(), "tact_signals_dlq_total", {{"reason", "invalid"}}), 1);
  EXPECT_EQ(Metric(tactd_->admin_port(), "tact_signals_dlq_total", {{"reason", "undecodable"}}), 1);
}

TEST_F(SignalsTest, SignalWhileRedisIsDownWaitsAndIsWrittenWhenItIsBack) {
  const int port = redis_->port();
  redis_.reset();  // SIGKILL: the store is gone
  producer_->Send("tact.signals", CsatSignal("c-wait", 2), "acme:c-wait");
  ASSERT_TRUE(WaitFor([&] { return Metric(tactd_->admin_port(), "tact_signals_store_retries_total") >= 2; },
                      absl::Seconds(30), "the signal write retried"));
  EXPECT_EQ(Metric(tactd_->admin_port(), "tact_signals_store_waiting"), 1);
  EXPECT_EQ(Consumed("CSAT"), 0);
  redis_ = std::make_unique<RedisServer>(dir_.path(), port);
  ASSERT_TRUE(WaitFor([&] { return Consumed("CSAT") >= 1; }, absl::Seconds(30), "the signal written after Redis came back"));
  EXPECT_EQ(Metric(tactd_->admin_port(), "tact_signals_store_waiting"), 0);
  producer_->Send("tact.outbound", Promotion("p-wait", "c-wait"), "acme:c-wait");
  std::optional<v1::DecisionRecord> rec;
  ASSERT_TRUE(WaitFor([&] { return (rec = DecisionOf(*decisions_, "p-wait")).has_value(); }, absl::Seconds(30),
                      "the promotion decided"));
  EXPECT_EQ(rec->decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(rec->decision().rule_id(), "promotion-low-csat");
  EXPECT_EQ(dlq_->Count(), 0u);
}

// Redis keys were "tact:{<tenant>:<customer>}:": tenant "acme:X" + customer "y" was tenant "acme" + customer "X:y",
// and a '}' in an id moved the hash tag. On the Kafka path a tenant outside the charset is dead-lettered with the
// field named, ids with ':', '{', '}' or 256 bytes are customers of their own, and outputs are keyed
// "<tenant>:<customer>" (a tenant has no ':': the key splits at its first ':').
TEST_F(SignalsTest, CraftedIdsStayApartOnTheKafkaPath) {
  TopicReader released(broker_->bootstrap(), "tact.released");
  auto event = [](const std::string& id, const std::string& tenant, const std::string& customer, const char* cls) {
    return absl::Substitute(
        R"({"eventId":"$0","tenant":"$1","customerId":"$2","channel":"EMAIL","messageClass":"$3"})", id, tenant,
        customer, cls);
  };
  producer_->Send("tact.signals",
                  absl::Substitute(R"({"tenant":"acme:X","customerId":"y","kind":"CSAT","csat":1,"at":"$0"})",
                                   Now3339()),
                  "acme:X:y");
  producer_->Send("tact.outbound", event("k-0", "acme:X", "y", "PROMOTION"), "acme:X:y");
  producer_->Send("tact.outbound", event("k-1", "", "y", "PROMOTION"), ":y");
  producer_->Send("tact.outbound", event("k-2", "acme", "", "PROMOTION"), "acme:");
  ASSERT_TRUE(WaitFor([&] { return dlq_->Count() >= 4; }, absl::Seconds(30), "four dead letters"));
  std::multiset<std::string> reasons;
  for (const testing::Record& r : dlq_->Records()) reasons.insert(r.headers.at("tact-dlq-reason"));
  const std::string charset = "tenant: may contain only letters, digits, '.', '_' and '-'";
  EXPECT_EQ(reasons, (std::multiset<std::string>{charset, charset, "tenant: required", "customer_id: required"}));

  // acme's customer "X:y" was the refused tenant's customer "y": CSAT 1 would have suppressed this.
  producer_->Send("tact.outbound", Promotion("k-3", "X:y"), "acme:X:y");
  // Customer "w"'s marker of this event was customer "w}:seen:e"'s rolling window.
  producer_->Send("tact.outbound", event("e}:r:proactive-service-2-per-7d", "acme", "w", "PROACTIVE_SERVICE"),
                  "acme:w");
  ASSERT_TRUE(WaitFor([&] { return DecisionOf(*decisions_, "e}:r:proactive-service-2-per-7d").has_value(); },
                      absl::Seconds(30), "w's event decided"));
  const std::string sealed = "w}:seen:e";
  for (int i = 0; i < 3; ++i) {
    producer_->Send("tact.outbound", event(absl::StrCat("k-w-", i), "acme", sealed, "PROACTIVE_SERVICE"),
                    "acme:" + sealed);
  }
  const std::string longest = "{" + std::string(254, 'x') + "}";
  producer_->Send("tact.outbound", Promotion("k-long", longest), "acme:" + longest);
  std::optional<v1::DecisionRecord> k3, w2, lng;
  ASSERT_TRUE(WaitFor(
      [&] {
        k3 = DecisionOf(*decisions_, "k-3");
        w2 = DecisionOf(*decisions_, "k-w-2");
        lng = DecisionOf(*decisions_, "k-long");
        return k3 && w2 && lng;
      },
      absl::Seconds(30), "the crafted customers' events decided"));
  EXPECT_EQ(k3->decision().decision(), v1::RELEASE) << k3->decision().reason();
  EXPECT_EQ(w2->decision().decision(), v1::SUPPRESS) << w2->decision().reason();  // its own cap: 2 per 7 days
  EXPECT_EQ(w2->decision().rule_id(), "proactive-service-2-per-7d");
  EXPECT_EQ(DecisionOf(*decisions_, "k-w-1")->decision().decision(), v1::RELEASE);
  EXPECT_EQ(lng->decision().decision(), v1::RELEASE) << lng->decision().reason();
  std::map<std::string, std::string> key_of;  // event id -> output key
  ASSERT_TRUE(WaitFor([&] { return released.Count() >= 5; }, absl::Seconds(30), "five released"));
  for (const testing::Record& r : released.Records()) {
    absl::StatusOr<v1::OutboundEvent> ev = pipeline::DecodeOutboundEvent(r.value, "application/json");
    if (ev.ok()) key_of[ev->event_id()] = r.key;
  }
  EXPECT_EQ(key_of["k-3"], "acme:X:y");
  EXPECT_EQ(key_of["k-w-0"], "acme:w}:seen:e");
  EXPECT_EQ(key_of["k-long"], "acme:" + longest);
}

}  // namespace
}  // namespace tact
