// The vertical slice end to end: redis-server + tact-devbroker + tactd as processes on free loopback ports,
// driven only through Kafka topics and gRPC.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <sys/wait.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "daemon/pipeline/event_codec.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"
#include "tests/support/events.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tact {
namespace {

using testing::DevBroker;
using testing::JsonEvent;
using testing::OutageEvent;
using testing::ProtoEvent;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::TopicReader;
using testing::WaitFor;

constexpr char kProactiveRule[] = "proactive-service-2-per-7d";

class SliceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    redis_ = new RedisServer(dir_->path());
    broker_ = new DevBroker(dir_->path(), 3);
    tactd_ = new Tactd(dir_->path(), broker_->bootstrap(), redis_->address());
    decisions_ = new TopicReader(broker_->bootstrap(), "tact.decisions");
    dlq_ = new TopicReader(broker_->bootstrap(), "tact.dlq");
    released_ = new TopicReader(broker_->bootstrap(), "tact.released");
    suppressed_ = new TopicReader(broker_->bootstrap(), "tact.suppressed");
    producer_ = new testing::TestProducer(broker_->bootstrap());
  }
  static void TearDownTestSuite() {
    delete producer_;
    delete suppressed_;
    delete released_;
    delete dlq_;
    delete decisions_;
    delete tactd_;
    delete broker_;
    delete redis_;
    delete dir_;
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "---- tactd log ----\n" << tactd_->process().Log() << "\n";
    }
  }

  // All decision records for `event_id` seen so far, in order.
  static std::vector<v1::DecisionRecord> RecordsFor(const std::string& event_id) {
    std::vector<v1::DecisionRecord> out;
    for (const testing::Record& r : decisions_->Records()) {
      absl::StatusOr<v1::DecisionRecord> rec = pipeline::DecodeDecisionRecord(r.value);
      if (rec.ok() && rec->event_id() == event_id) {
        out.push_back(*rec);
      }
    }
    return out;
  }

  static ::testing::AssertionResult WaitForRecords(const std::string& event_id, size_t n) {
    return WaitFor([&] { return RecordsFor(event_id).size() >= n; }, absl::Seconds(30),
                   absl::StrCat(n, " decision record(s) for ", event_id));
  }

  static size_t CountWithHeader(const TopicReader& reader, const std::string& key, const std::string& value) {
    size_t n = 0;
    for (const testing::Record& r : reader.Records()) {
      auto it = r.headers.find(key);
      n += it != r.headers.end() && it->second == value;
    }
    return n;
  }

  std::unique_ptr<v1::Throttle::Stub> Stub() {
    return v1::Throttle::NewStub(grpc::CreateChannel(tactd_->grpc_target(), grpc::InsecureChannelCredentials()));
  }

  static TempDir* dir_;
  static RedisServer* redis_;
  static DevBroker* broker_;
  static Tactd* tactd_;
  static TopicReader* decisions_;
  static TopicReader* dlq_;
  static TopicReader* released_;
  static TopicReader* suppressed_;
  static testing::TestProducer* producer_;
};

TempDir* SliceTest::dir_ = nullptr;
RedisServer* SliceTest::redis_ = nullptr;
DevBroker* SliceTest::broker_ = nullptr;
Tactd* SliceTest::tactd_ = nullptr;
TopicReader* SliceTest::decisions_ = nullptr;
TopicReader* SliceTest::dlq_ = nullptr;
TopicReader* SliceTest::released_ = nullptr;
TopicReader* SliceTest::suppressed_ = nullptr;
testing::TestProducer* SliceTest::producer_ = nullptr;

TEST_F(SliceTest, ThirdProactiveEmailInSevenDaysIsSuppressedThroughKafka) {
  for (const char* id : {"sorry-1", "sorry-2", "sorry-3"}) {
    producer_->Send("tact.outbound", JsonEvent(OutageEvent(id, "cust-kafka-1", v1::PROACTIVE_SERVICE)));
    ASSERT_TRUE(WaitForRecords(id, 1));  // one at a time: the order of the three is the point
  }
  EXPECT_EQ(RecordsFor("sorry-1")[0].decision().decision(), v1::RELEASE);
  EXPECT_EQ(RecordsFor("sorry-2")[0].decision().decision(), v1::RELEASE);
  const v1::DecisionRecord third = RecordsFor("sorry-3")[0];
  EXPECT_EQ(third.decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(third.decision().rule_id(), kProactiveRule);
  EXPECT_EQ(third.decision().policy_version(), "2026.11.2");
  EXPECT_EQ(third.decision().policy_digest().size(), 64u);
  ASSERT_EQ(third.decision().counters_size(), 1);
  EXPECT_EQ(third.decision().counters(0).used(), 2);
  EXPECT_EQ(third.decision().counters(0).limit(), 2);
  EXPECT_EQ(third.customer_hash().size(), 32u);
  EXPECT_EQ(third.customer_hash().find("cust-kafka-1"), std::string::npos);
  EXPECT_TRUE(third.source_position().starts_with("tact.outbound["));
  // The event itself is routed: 2 released, 1 suppressed, payload passed through unchanged.
  ASSERT_TRUE(WaitFor([] { return CountWithHeader(*suppressed_, "tact-rule", kProactiveRule) >= 1; },
                      absl::Seconds(10), "suppressed event"));
  for (const testing::Record& r : suppressed_->Records()) {
    if (r.headers.count("tact-rule") && r.headers.at("tact-rule") == kProactiveRule) {
      EXPECT_EQ(r.value, JsonEvent(OutageEvent("sorry-3", "cust-kafka-1", v1::PROACTIVE_SERVICE)));
      EXPECT_EQ(r.headers.at("tact-decision"), "SUPPRESS");
      EXPECT_EQ(r.key, "acme:cust-kafka-1");
    }
  }
}

std::string RunTactctl(const std::string& args, int* rc, const std::string& env = "") {
  std::string out;
  FILE* p = popen((env + " " + TACTCTL_BIN + " " + args + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *rc = WEXITSTATUS(pclose(p));
  return out;
}

TEST_F(SliceTest, AuditReadsDecisionsBackWithFilters) {
  for (const char* id : {"audit-1", "audit-2", "audit-3"}) {
    producer_->Send("tact.outbound", JsonEvent(OutageEvent(id, "cust-audit")), "acme:cust-audit");
  }
  ASSERT_TRUE(WaitForRecords("audit-3", 1));
  int rc = 0;
  const std::string table = RunTactctl(absl::StrCat("audit --brokers ", broker_->bootstrap(),
                                                    " --decision SUPPRESS --rule ", kProactiveRule), &rc);
  EXPECT_EQ(rc, 0) << table;
  EXPECT_NE(table.find("audit-3"), std::string::npos) << table;
  EXPECT_EQ(table.find("audit-1"), std::string::npos) << table;  // released: filtered out
  // By customer: the id is hashed with the daemon's key, never sent or printed as such.
  const std::string mine =
      RunTactctl(absl::StrCat("audit --json --tenant acme --customer cust-audit --brokers ", broker_->bootstrap()), &rc,
                 "TACT_CUSTOMER_HASH_KEY=test-key-not-secret");
  EXPECT_EQ(rc, 0) << mine;
  EXPECT_NE(mine.find("\"audit-1\""), std::string::npos) << mine;
  EXPECT_EQ(mine.find("sorry-"), std::string::npos) << mine;  // other customers' records are filtered out
  const std::string future = RunTactctl(absl::StrCat("audit --brokers ", broker_->bootstrap(),
                                                     " --since 2100-01-01T00:00:00Z --expect 1 --timeout 2"), &rc);
  EXPECT_EQ(rc, 1) << future;
}

TEST_F(SliceTest, RedeliveredEventIsNotCountedTwice) {
  producer_->Send("tact.outbound", JsonEvent(OutageEvent("redo-1", "cust-kafka-2", v1::PROACTIVE_SERVICE)));
  ASSERT_TRUE(WaitForRecords("redo-1", 1));
  producer_->Send("tact.outbound", JsonEvent(OutageEvent("redo-1", "cust-kafka-2")));  // redelivery
  ASSERT_TRUE(WaitForRecords("redo-1", 2));
  producer_->Send("tact.outbound", JsonEvent(OutageEvent("redo-2", "cust-kafka-2", v1::PROACTIVE_SERVICE)));
  ASSERT_TRUE(WaitForRecords("redo-2", 1));
  producer_->Send("tact.outbound", JsonEvent(OutageEvent("redo-3", "cust-kafka-2", v1::PROACTIVE_SERVICE)));
  ASSERT_TRUE(WaitForRecords("redo-3", 1));

  const auto redo1 = RecordsFor("redo-1");
  EXPECT_EQ(redo1[0].decision().decision(), v1::RELEASE);
  EXPECT_FALSE(redo1[0].decision().duplicate());
  EXPECT_EQ(redo1[1].decision().decision(), v1::RELEASE);
  EXPECT_TRUE(redo1[1].decision().duplicate());
  // Counted once: the second distinct event is still within the cap of 2, the third is not.
  EXPECT_EQ(RecordsFor("redo-2")[0].decision().decision(), v1::RELEASE);
  EXPECT_EQ(RecordsFor("redo-3")[0].decision().decision(), v1::SUPPRESS);
}

TEST_F(SliceTest, MalformedEventGoesToDlqAndTheNextOneFlows) {
  producer_->Send("tact.outbound", "{\"eventId\": \"broken-1\", \"tenant\": ", "k1");  // truncated JSON
  producer_->Send("tact.outbound", JsonEvent(OutageEvent("after-broken", "cust-kafka-3", v1::PROMOTION)), "k1");
  ASSERT_TRUE(WaitForRecords("after-broken", 1));
  EXPECT_EQ(RecordsFor("after-broken")[0].decision().decision(), v1::RELEASE);
  ASSERT_TRUE(WaitFor([] { return dlq_->Count() >= 1; }, absl::Seconds(10), "DLQ record"));
  bool found = false;
  for (const testing::Record& r : dlq_->Records()) {
    if (r.value == "{\"eventId\": \"broken-1\", \"tenant\": ") {
      found = true;
      EXPECT_TRUE(r.headers.at("tact-dlq-reason").starts_with("invalid JSON event")) << r.headers.at("tact-dlq-reason");
      EXPECT_EQ(r.headers.at("tact-source-topic"), "tact.outbound");
      EXPECT_FALSE(r.headers.at("tact-source-offset").empty());
      EXPECT_EQ(r.key, "k1");
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(SliceTest, ValidJsonMissingCustomerIsDeadLetteredWithFieldName) {
  producer_->Send("tact.outbound",
                  R"({"event_id":"nocust-1","tenant":"acme","channel":"EMAIL","message_class":"PROMOTION"})");
  ASSERT_TRUE(WaitFor(
      [] {
        for (const testing::Record& r : dlq_->Records()) {
          if (r.value.find("nocust-1") != std::string::npos) return r.headers.at("tact-dlq-reason") == "customer_id: required";
        }
        return false;
      },
      absl::Seconds(30), "DLQ record naming customer_id"));
}

TEST_F(SliceTest, CheckOverGrpcGivesTheSameDecisions) {
  auto stub = Stub();
  auto check = [&](const std::string& event_id, bool dry_run = false) {
    v1::CheckRequest req;
    req.set_dry_run(dry_run);
    *req.mutable_event() = ProtoEvent({.event_id = event_id, .customer_id = "cust-grpc-1"});
    v1::CheckResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    const grpc::Status s = stub->Check(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.decision();
  };
  EXPECT_EQ(check("g-1").decision(), v1::RELEASE);
  EXPECT_EQ(check("g-2").decision(), v1::RELEASE);
  EXPECT_EQ(check("g-3", /*dry_run=*/true).decision(), v1::SUPPRESS);
  const v1::Decision third = check("g-3");
  EXPECT_EQ(third.decision(), v1::SUPPRESS);
  EXPECT_EQ(third.rule_id(), kProactiveRule);
  EXPECT_EQ(third.policy_version(), "2026.11.2");
  EXPECT_NE(third.reason().find("cap 2 per rolling 7d"), std::string::npos) << third.reason();
  const v1::Decision again = check("g-1");
  EXPECT_EQ(again.decision(), v1::RELEASE);
  EXPECT_TRUE(again.duplicate());
}

TEST_F(SliceTest, InvalidCheckNamesTheField) {
  auto stub = Stub();
  v1::CheckRequest req;
  req.mutable_event()->set_event_id("bad-1");
  req.mutable_event()->set_tenant("acme");
  v1::CheckResponse resp;
  grpc::ClientContext ctx;
  const grpc::Status s = stub->Check(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "event.customer_id: required");
}

TEST_F(SliceTest, HealthServiceReportsServing) {
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(tactd_->grpc_target(), grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(WaitFor(
      [&] {
        grpc::health::v1::HealthCheckRequest req;
        req.set_service("tact.v1.Throttle");
        grpc::health::v1::HealthCheckResponse resp;
        grpc::ClientContext ctx;
        return health->Check(&ctx, req, &resp).ok() &&
               resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      },
      absl::Seconds(10), "health SERVING"));
}

// Its own stack: SIGTERM drains and exits 0, and what was decided is committed (a restart does not redo it).
TEST(SliceShutdown, SigtermDrainsAndExitsZero) {
  TempDir dir;
  RedisServer redis(dir.path());
  DevBroker broker(dir.path(), 1);
  testing::TestProducer producer(broker.bootstrap());
  TopicReader decisions(broker.bootstrap(), "tact.decisions");
  {
    Tactd tactd(dir.path(), broker.bootstrap(), redis.address());
    for (int i = 0; i < 20; ++i) {
      producer.Send("tact.outbound",
                    JsonEvent(OutageEvent(absl::StrCat("term-", i), absl::StrCat("c", i), v1::PROMOTION)));
    }
    ASSERT_TRUE(WaitFor([&] { return decisions.Count() >= 20; }, absl::Seconds(30), "20 decisions"));
    tactd.process().Signal(SIGTERM);
    EXPECT_EQ(tactd.process().Wait(absl::Seconds(30)), std::optional<int>(0)) << tactd.process().Log();
  }
  // A new instance in the same group starts after the committed offsets: nothing is decided again.
  Tactd again(dir.path(), broker.bootstrap(), redis.address());
  producer.Send("tact.outbound", JsonEvent(OutageEvent("term-last", "c-last", v1::PROMOTION)));
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const testing::Record& r : decisions.Records()) {
          if (r.value.find("\"term-last\"") != std::string::npos) return true;
        }
        return false;
      },
      absl::Seconds(30), "decision for term-last"));
  EXPECT_EQ(decisions.Count(), 21u);  // term-0..19 were committed before exit, so none was redelivered
}

}  // namespace
}  // namespace tact
