// gRPC decisions on the audit topic (redis-server + tact-devbroker + tactd over their real ports): a Check's and a
// CheckBatch's decisions appear on tact.decisions with the calling client, source "grpc", the decision, its rule,
// policy version and evidence, keyed like the Kafka path's; a dry run publishes nothing; with the broker down the
// calls still answer, and their records arrive once it is back.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "daemon/core/customer_hash.h"
#include "daemon/pipeline/event_codec.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/grpc_client.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::CheckRequestFor;
using testing::ClientEntry;
using testing::PrepareCall;
using testing::TopicReader;
using testing::WaitFor;

constexpr char kToken[] = "token-for-crm-audit";  // test credentials, not secrets

// tactd with one client, crm-a for tenant acme, and one decision thread: a call's record is published before the
// next call is decided, so a record that should not exist would be on the topic before a later call's.
std::vector<std::string> Flags(const std::string& dir) {
  const std::string clients = dir + "/clients.yaml";
  std::ofstream(clients) << absl::StrCat("clients:\n", ClientEntry("crm-a", kToken, "acme", 1000, 1000));
  return {"--grpc-clients-file", clients, "--grpc-workers", "1"};
}

class GrpcRecordsTest : public ::testing::Test {
 protected:
  GrpcRecordsTest() : stack_(Flags), decisions_(stack_.broker.bootstrap(), "tact.decisions") {}
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- tactd log ----\n" << stack_.tactd.process().Log() << "\n";
  }

  v1::Decision Check(const std::string& id, const std::string& customer, bool dry_run = false) {
    v1::CheckRequest req = CheckRequestFor(id, "acme", customer);
    req.set_dry_run(dry_run);
    grpc::ClientContext ctx;
    PrepareCall(ctx, kToken);
    v1::CheckResponse resp;
    const grpc::Status s = v1::Throttle::NewStub(stack_.channel)->Check(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
    return resp.decision();
  }
  std::vector<v1::DecisionRecord> Records() const {
    std::vector<v1::DecisionRecord> out;
    for (const testing::Record& r : decisions_.Records()) {
      absl::StatusOr<v1::DecisionRecord> rec = pipeline::DecodeDecisionRecord(r.value);
      EXPECT_TRUE(rec.ok()) << rec.status();
      if (rec.ok()) out.push_back(*std::move(rec));
    }
    return out;
  }
  std::optional<v1::DecisionRecord> Find(const std::string& event_id) const {
    for (v1::DecisionRecord& r : Records()) {
      if (r.event_id() == event_id) return r;
    }
    return std::nullopt;
  }
  v1::DecisionRecord WaitForRecord(const std::string& event_id, absl::Duration timeout = absl::Seconds(30)) {
    std::optional<v1::DecisionRecord> rec;
    EXPECT_TRUE(WaitFor([&] { return (rec = Find(event_id)).has_value(); }, timeout, event_id + "'s record"));
    return rec.value_or(v1::DecisionRecord());
  }
  static std::string HashOf(const std::string& customer) {
    return CustomerHasher("test-key-not-secret").Hash("acme", customer);
  }

  testing::SuiteStack stack_;
  TopicReader decisions_;
};

TEST_F(GrpcRecordsTest, CheckDecisionsAreOnTheAuditTopicWithTheCallingClient) {
  // Two proactive service emails a week: the third is suppressed by the full window.
  EXPECT_EQ(Check("g-1", "amy").decision(), v1::RELEASE);
  EXPECT_EQ(Check("g-2", "amy").decision(), v1::RELEASE);
  EXPECT_EQ(Check("g-3", "amy").decision(), v1::SUPPRESS);
  const v1::DecisionRecord first = WaitForRecord("g-1");
  EXPECT_EQ(first.client(), "crm-a");
  EXPECT_EQ(first.source(), "grpc");
  EXPECT_EQ(first.decision().decision(), v1::RELEASE);
  const v1::DecisionRecord third = WaitForRecord("g-3");
  EXPECT_EQ(third.client(), "crm-a");
  EXPECT_EQ(third.source(), "grpc");
  EXPECT_EQ(third.tenant(), "acme");
  EXPECT_EQ(third.customer_hash(), HashOf("amy"));
  EXPECT_EQ(third.customer_hash_key_id(), CustomerHasher("test-key-not-secret").KeyId());
  EXPECT_EQ(third.decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(third.decision().rule_id(), "proactive-service-2-per-7d");
  EXPECT_EQ(third.decision().policy_version(), "2026.11.2");
  EXPECT_EQ(third.evidence().window().rule_id(), "proactive-service-2-per-7d");
  EXPECT_EQ(third.evidence().window().used(), 2);
  for (const testing::Record& r : decisions_.Records()) {
    EXPECT_EQ(r.key, HashOf("amy"));                        // keyed like the Kafka path's records
    EXPECT_EQ(r.value.find("amy"), std::string::npos);      // never the customer id
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
  }
}

TEST_F(GrpcRecordsTest, CheckBatchDecisionsAreOnTheAuditTopicOneRecordPerDecidedItem) {
  v1::CheckBatchRequest req;
  *req.add_items() = CheckRequestFor("gb-1", "acme", "bea");
  *req.add_items() = CheckRequestFor("gb-2", "acme", "");  // invalid: answered with its error, nothing recorded
  *req.add_items() = CheckRequestFor("gb-3", "acme", "bea");
  *req.add_items() = CheckRequestFor("gb-4", "acme", "bea");
  grpc::ClientContext ctx;
  PrepareCall(ctx, kToken);
  v1::CheckBatchResponse resp;
  const grpc::Status s = v1::Throttle::NewStub(stack_.channel)->CheckBatch(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.results_size(), 4);
  EXPECT_EQ(resp.results(3).decision().decision(), v1::SUPPRESS);
  for (const char* id : {"gb-1", "gb-3", "gb-4"}) {
    const v1::DecisionRecord r = WaitForRecord(id);
    EXPECT_EQ(r.client(), "crm-a") << id;
    EXPECT_EQ(r.source(), "grpc") << id;
    EXPECT_EQ(r.customer_hash(), HashOf("bea")) << id;
  }
  EXPECT_EQ(Find("gb-4")->decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(Find("gb-4")->decision().rule_id(), "proactive-service-2-per-7d");
  EXPECT_EQ(Records().size(), 3u);
}

TEST_F(GrpcRecordsTest, DryRunsAndReplaysPublishNothing) {
  EXPECT_EQ(Check("d-1", "cid").decision(), v1::RELEASE);
  WaitForRecord("d-1");
  EXPECT_EQ(Check("d-2", "cid", /*dry_run=*/true).decision(), v1::RELEASE);
  EXPECT_TRUE(Check("d-1", "cid").duplicate());  // the same event id again: its earlier decision
  // A later call for the same customer (same key, same partition, same producer): once its record is on the topic,
  // anything published before it is too.
  EXPECT_EQ(Check("d-marker", "cid").decision(), v1::RELEASE);
  WaitForRecord("d-marker");
  EXPECT_FALSE(Find("d-2").has_value());
  int d1 = 0;
  for (const v1::DecisionRecord& r : Records()) d1 += r.event_id() == "d-1";
  EXPECT_EQ(d1, 1);
}

TEST_F(GrpcRecordsTest, WithTheBrokerDownCallsStillAnswerAndTheirRecordsArriveWhenItIsBack) {
  EXPECT_EQ(Check("k-1", "dan").decision(), v1::RELEASE);
  WaitForRecord("k-1");
  ASSERT_EQ(stack_.broker.Control("broker-down 1"), "ok");  // the dev broker's only broker
  EXPECT_EQ(Check("k-2", "dan").decision(), v1::RELEASE);
  v1::CheckBatchRequest req;
  *req.add_items() = CheckRequestFor("k-3", "acme", "dan");
  grpc::ClientContext ctx;
  PrepareCall(ctx, kToken);
  v1::CheckBatchResponse resp;
  const grpc::Status s = v1::Throttle::NewStub(stack_.channel)->CheckBatch(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.results(0).decision().decision(), v1::SUPPRESS);
  ASSERT_EQ(stack_.broker.Control("broker-up 1"), "ok");
  EXPECT_EQ(WaitForRecord("k-2", absl::Seconds(60)).client(), "crm-a");
  EXPECT_EQ(WaitForRecord("k-3", absl::Seconds(60)).decision().decision(), v1::SUPPRESS);
}

}  // namespace
}  // namespace tact
