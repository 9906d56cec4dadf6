// Decision evidence end to end (redis-server + tact-devbroker + tactd): a suppressed event's record on
// tact.decisions carries what triggered its rule (the CSAT signal of promotion-low-csat; the complaint of
// promotion-open-complaint, with its ticket; the full window of proactive-service-2-per-7d), the policy version and
// the id of the customer hash key, never the customer.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/core/proto_time.h"
#include "daemon/pipeline/event_codec.h"
#include "tact/v1/signals.grpc.pb.h"
#include "tests/support/admin.h"
#include "tests/support/grpc_client.h"
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

std::string Event(const std::string& event_id, const std::string& customer, const std::string& cls) {
  return absl::Substitute(
      R"({"eventId":"$0","tenant":"acme","customerId":"$1","channel":"EMAIL","messageClass":"$2"})", event_id,
      customer, cls);
}

class DecisionEvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<RedisServer>(dir_.path());
    broker_ = std::make_unique<DevBroker>(dir_.path(), 3);
    tactd_ = std::make_unique<Tactd>(dir_.path(), broker_->bootstrap(), redis_->address());
    decisions_ = std::make_unique<TopicReader>(broker_->bootstrap(), "tact.decisions");
    producer_ = std::make_unique<testing::TestProducer>(broker_->bootstrap());
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- tactd log ----\n" << tactd_->process().Log() << "\n";
  }
  std::optional<v1::DecisionRecord> Record(const std::string& event_id) {
    for (const testing::Record& r : decisions_->Records()) {
      if (auto rec = pipeline::DecodeDecisionRecord(r.value); rec.ok() && rec->event_id() == event_id) return *rec;
    }
    return std::nullopt;
  }
  v1::DecisionRecord WaitForRecord(const std::string& event_id) {
    std::optional<v1::DecisionRecord> rec;
    EXPECT_TRUE(WaitFor([&] { return (rec = Record(event_id)).has_value(); }, absl::Seconds(30), event_id));
    return rec.value_or(v1::DecisionRecord());
  }

  TempDir dir_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<Tactd> tactd_;
  std::unique_ptr<TopicReader> decisions_;
  std::unique_ptr<testing::TestProducer> producer_;
};

TEST_F(DecisionEvidenceTest, SuppressedRecordsCarryTheirEvidence) {
  const absl::Time signal_at = absl::Now();
  producer_->Send("tact.signals",
                  absl::Substitute(R"({"tenant":"acme","customerId":"grumpy","kind":"CSAT","csat":1,"at":"$0"})",
                                   absl::FormatTime(absl::RFC3339_sec, signal_at, absl::UTCTimeZone())),
                  "acme:grumpy");
  auto consumed = [&] { return Metric(tactd_->admin_port(), "tact_signals_consumed_total", {{"kind", "CSAT"}}); };
  ASSERT_TRUE(WaitFor([&] { return consumed() >= 1; }, absl::Seconds(30), "the CSAT signal recorded"));
  producer_->Send("tact.outbound", Event("promo-1", "grumpy", "PROMOTION"), "acme:grumpy");
  const v1::DecisionRecord csat = WaitForRecord("promo-1");
  EXPECT_EQ(csat.decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(csat.decision().policy_version(), "2026.11.2");
  const v1::SignalEvidence& s = csat.evidence().signal();
  EXPECT_EQ(s.rule_id(), "promotion-low-csat");
  EXPECT_EQ(s.kind(), "csat");
  EXPECT_FALSE(s.condition().empty());
  EXPECT_LE(TimeFromProto(s.since()), signal_at);                            // the signal is inside the look-back
  EXPECT_GT(TimeFromProto(s.holds_until()), TimeFromProto(csat.decided_at()));  // and still holds
  EXPECT_EQ(TimeFromProto(s.at()), absl::FromUnixSeconds(absl::ToUnixSeconds(signal_at)));  // sent to the second
  EXPECT_TRUE(s.ref().empty());  // a CSAT answer has no id
  EXPECT_TRUE(csat.client().empty());  // the Kafka path
  EXPECT_EQ(csat.customer_hash_key_id(), CustomerHasher("test-key-not-secret").KeyId());

  // Three proactive service emails: the third finds the rolling window full.
  for (const char* id : {"s-1", "s-2", "s-3"}) {
    producer_->Send("tact.outbound", Event(id, "busy", "PROACTIVE_SERVICE"), "acme:busy");
    WaitForRecord(id);  // one at a time: each sees the ones before it counted
  }
  const v1::DecisionRecord third = WaitForRecord("s-3");
  EXPECT_EQ(third.decision().decision(), v1::SUPPRESS);
  const v1::WindowEvidence& w = third.evidence().window();
  EXPECT_EQ(w.rule_id(), "proactive-service-2-per-7d");
  EXPECT_EQ(w.used(), 2);
  EXPECT_EQ(w.limit(), 2);
  EXPECT_EQ(w.window(), "rolling 7d");
  EXPECT_EQ(TimeFromProto(w.rolling_from()), TimeFromProto(third.decided_at()) - absl::Hours(24 * 7));
  EXPECT_FALSE(WaitForRecord("s-1").has_evidence());  // a release has none
  for (const testing::Record& r : decisions_->Records()) {
    EXPECT_EQ(r.value.find("grumpy"), std::string::npos);  // never the customer id
    EXPECT_EQ(r.value.find("busy"), std::string::npos);
  }
}

// Two complaints set through Signals.PutSignal (gRPC): the promotion suppressed by promotion-open-complaint has a
// record naming the complaint opened last (its ticket as ref) and when it was opened.
TEST_F(DecisionEvidenceTest, AComplaintSuppressionNamesTheTicketOpenedLast) {
  const absl::Time opened = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));  // whole seconds
  auto channel = grpc::CreateChannel(tactd_->grpc_target(), grpc::InsecureChannelCredentials());
  for (const auto& [ticket, at] : {std::pair("CASE-7", opened - absl::Hours(2)), std::pair("CASE-9", opened)}) {
    v1::PutSignalRequest req;
    v1::Signal& s = *req.mutable_signal();
    s.set_tenant("acme");
    s.set_customer_id("unhappy");
    s.set_kind(v1::COMPLAINT_OPENED);
    s.set_ref(ticket);
    *s.mutable_at() = TimeToProto(at);
    grpc::ClientContext ctx;
    testing::PrepareCall(ctx, "");  // no clients file: anonymous
    v1::PutSignalResponse resp;
    const grpc::Status put = v1::Signals::NewStub(channel)->PutSignal(&ctx, req, &resp);
    ASSERT_TRUE(put.ok()) << ticket << ": " << put.error_message();
  }
  producer_->Send("tact.outbound", Event("promo-c", "unhappy", "PROMOTION"), "acme:unhappy");
  const v1::DecisionRecord rec = WaitForRecord("promo-c");
  EXPECT_EQ(rec.decision().decision(), v1::SUPPRESS);
  const v1::SignalEvidence& s = rec.evidence().signal();
  EXPECT_EQ(s.rule_id(), "promotion-open-complaint");
  EXPECT_EQ(s.kind(), "complaint");
  EXPECT_EQ(s.ref(), "CASE-9");
  ASSERT_TRUE(s.has_at()) << rec.DebugString();
  EXPECT_EQ(TimeFromProto(s.at()), opened);
  for (const testing::Record& r : decisions_->Records()) {
    EXPECT_EQ(r.value.find("unhappy"), std::string::npos);  // the ticket is there, never the customer id
  }
}

}  // namespace
}  // namespace tact
