// Input edges on both paths (redis-server + tact-devbroker + tactd): an unknown customer_timezone, a created_at far
// ahead, an event_id reused for another message and a malformed event carrying customer data get the same rule on
// the Kafka path (tact.dlq with a reason naming the field, never the text) and over gRPC (INVALID_ARGUMENT naming
// the field); a reused id of a message without limits gets its earlier decision; and a call in flight while Redis
// stalls gives up after redis.deadline_ms, not after the caller's own (long) deadline.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <memory>
#include <thread>

#include "absl/strings/substitute.h"
#include "absl/time/clock.h"
#include "daemon/pipeline/event_codec.h"
#include "tact/v1/signals.grpc.pb.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/admin.h"
#include "tests/support/grpc_client.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::CheckRequestFor;
using testing::DevBroker;
using testing::Metric;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::TopicReader;
using testing::WaitFor;

constexpr char kPhone[] = "+4915112345678";
constexpr char kMail[] = "maria.private@example.com";

std::string Event(const std::string& id, const std::string& customer, const std::string& cls,
                  const std::string& extra = "") {
  return absl::Substitute(R"({"eventId":"$0","tenant":"acme","customerId":"$1","channel":"SMS","messageClass":"$2"$3})",
                          id, customer, cls, extra);
}

class InputEdgesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new testing::SuiteStack([](const std::string&) {
      return std::vector<std::string>{"--redis-deadline-ms", "200"};
    });
  }
  static void TearDownTestSuite() { delete stack_; }
  void TearDown() override {
    if (HasFailure()) std::cerr << stack_->tactd.process().Log();
  }

  static grpc::Status Check(const v1::CheckRequest& req, v1::CheckResponse* resp) {
    grpc::ClientContext ctx;
    testing::PrepareCall(ctx, "");
    return v1::Throttle::NewStub(stack_->channel)->Check(&ctx, req, resp);
  }

  // The DLQ record of the input whose value contains `marker`, once there is one.
  static std::optional<testing::Record> DeadLetter(const TopicReader& dlq, const std::string& marker) {
    for (const testing::Record& r : dlq.Records()) {
      if (r.value.find(marker) != std::string::npos) return r;
    }
    return std::nullopt;
  }
  static std::optional<v1::DecisionRecord> Decision(const TopicReader& decisions, const std::string& id, int nth = 0) {
    for (const testing::Record& r : decisions.Records()) {
      if (auto rec = pipeline::DecodeDecisionRecord(r.value); rec.ok() && rec->event_id() == id && nth-- == 0) {
        return *rec;
      }
    }
    return std::nullopt;
  }

  static testing::SuiteStack* stack_;
};

testing::SuiteStack* InputEdgesTest::stack_ = nullptr;

TEST_F(InputEdgesTest, KafkaPathRefusesWhatGrpcRefusesAndDedupesEveryMessage) {
  TopicReader dlq(stack_->broker.bootstrap(), "tact.dlq");
  TopicReader decisions(stack_->broker.bootstrap(), "tact.decisions");
  testing::TestProducer producer(stack_->broker.bootstrap());
  const double invalid_before = Metric(stack_->tactd.admin_port(), "tact_dlq_total", {{"reason", "invalid"}});
  // Customer data inside malformed JSON: a missing comma after the phone number, an address where a time belongs.
  producer.Send("tact.outbound", absl::StrCat(R"({"eventId":"k-bad-1","customerId":")", kPhone, R"(" "x":1})"),
                "acme:k1");
  producer.Send("tact.outbound", Event("k-bad-2", kPhone, "PROMOTION", absl::StrCat(R"(,"createdAt":")", kMail, "\"")),
                "acme:k1");
  producer.Send("tact.outbound", Event("k-tz", "k2", "PROMOTION", R"(,"customerTimezone":"America/Los_Angles")"),
                "acme:k2");
  producer.Send("tact.outbound", Event("k-2099", "k3", "PROMOTION", R"(,"createdAt":"2099-01-01T00:00:00Z")"),
                "acme:k3");
  producer.Send("tact.outbound", Event("k-receipt", "k4", "TRANSACTIONAL"), "acme:k4");
  producer.Send("tact.outbound", Event("k-receipt", "k4", "TRANSACTIONAL"), "acme:k4");   // redelivered
  producer.Send("tact.outbound", Event("k-receipt", "k4", "PROMOTION"), "acme:k4");       // reused for another message
  ASSERT_TRUE(WaitFor([&] { return dlq.Count() >= 5 && decisions.Count() >= 2; }, absl::Seconds(30),
                      "five dead letters and two decisions"));

  auto reason = [&](const std::string& marker) {
    std::optional<testing::Record> r = DeadLetter(dlq, marker);
    return r ? r->headers["tact-dlq-reason"] : std::string("(no dead letter)");
  };
  EXPECT_EQ(reason("k-bad-1"), "invalid JSON event: syntax error at byte 51: expected ',' or '}'");
  EXPECT_EQ(reason("k-bad-2"), "invalid JSON event: created_at: expected an RFC 3339 time at byte 122");
  EXPECT_EQ(reason("k-tz"), "customer_timezone: unknown time zone");
  EXPECT_EQ(reason("k-2099"), "created_at: more than 24h in the future");
  EXPECT_EQ(reason("\"PROMOTION\"}"), "event_id: already used for a different message (message_class differs)");
  EXPECT_EQ(Metric(stack_->tactd.admin_port(), "tact_dlq_total", {{"reason", "invalid"}}) - invalid_before, 3);

  // The redelivered receipt (no limit applies: formerly never in the store) gets its earlier decision.
  std::optional<v1::DecisionRecord> first = Decision(decisions, "k-receipt", 0);
  std::optional<v1::DecisionRecord> again = Decision(decisions, "k-receipt", 1);
  ASSERT_TRUE(first && again);
  EXPECT_FALSE(first->decision().duplicate());
  EXPECT_TRUE(again->decision().duplicate());

  // Nothing of the customer data in the headers of any dead letter, nor in tactd's log.
  for (const testing::Record& r : dlq.Records()) {
    for (const auto& [k, v] : r.headers) {
      EXPECT_EQ(v.find(kPhone), std::string::npos) << k << ": " << v;
      EXPECT_EQ(v.find(kMail), std::string::npos) << k << ": " << v;
    }
  }
  const std::string log = stack_->tactd.process().Log();
  EXPECT_NE(log.find("pipeline.dead_letter"), std::string::npos);
  EXPECT_EQ(log.find(kPhone), std::string::npos);
  EXPECT_EQ(log.find("4915112345678"), std::string::npos);
  EXPECT_EQ(log.find(kMail), std::string::npos);
}

TEST_F(InputEdgesTest, GrpcRefusesTheSameAndDedupesEveryMessage) {
  v1::CheckResponse resp;
  v1::CheckRequest req = CheckRequestFor("g-tz", "acme", "g1", v1::PROMOTION);
  req.mutable_event()->set_customer_timezone("America/Los_Angles");
  grpc::Status s = Check(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "event.customer_timezone: unknown time zone");

  req = CheckRequestFor("g-receipt", "acme", "g2", v1::TRANSACTIONAL);
  ASSERT_TRUE(Check(req, &resp).ok());
  EXPECT_FALSE(resp.decision().duplicate());
  ASSERT_TRUE(Check(req, &resp).ok());
  EXPECT_TRUE(resp.decision().duplicate()) << "a reused id of a message without limits got a fresh decision";
  req.mutable_event()->set_message_class(v1::PROMOTION);
  s = Check(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "event.event_id: already used for a different message (message_class differs)");
}

// Redis stopped (SIGSTOP: connections stay open, nothing is answered) while a call with a 10-minute deadline is in
// flight on a pooled connection: each of the five store-bound calls ends with the documented store-down answer
// once redis.deadline_ms (200 ms here) has passed, long before the caller's deadline and well within this test's
// own bound. One call per stall, each right after a call that left a connection in the pool, so the call waits on
// Redis itself (not on a reconnect, which connect_timeout bounds anyway).
TEST_F(InputEdgesTest, CallsDuringARedisStallEndAfterTheStoreDeadlineNotTheCallers) {
  using Call = std::function<grpc::StatusCode(grpc::ClientContext&)>;
  auto stub = v1::Throttle::NewStub(stack_->channel);
  auto signals = v1::Signals::NewStub(stack_->channel);
  auto state = [&](grpc::ClientContext& ctx) {
    v1::GetCustomerStateRequest req;
    req.set_tenant("acme");
    req.set_customer_id("st5");
    v1::CustomerState r;
    return signals->GetCustomerState(&ctx, req, &r).error_code();
  };
  const std::vector<std::pair<std::string, Call>> calls = {
      {"Check",
       [&](grpc::ClientContext& ctx) {
         v1::CheckResponse r;
         return stub->Check(&ctx, CheckRequestFor("st-1", "acme", "st1", v1::PROMOTION), &r).error_code();
       }},
      {"CheckBatch",
       [&](grpc::ClientContext& ctx) {
         v1::CheckBatchRequest req;
         *req.add_items() = CheckRequestFor("st-2", "acme", "st2", v1::PROMOTION);
         v1::CheckBatchResponse r;
         const grpc::Status s = stub->CheckBatch(&ctx, req, &r);
         // A batch answers per item: the item's code.
         return s.ok() && r.results_size() == 1 ? static_cast<grpc::StatusCode>(r.results(0).error_code())
                                                : s.error_code();
       }},
      {"Explain",
       [&](grpc::ClientContext& ctx) {
         v1::ExplainResponse r;
         return stub->Explain(&ctx, CheckRequestFor("st-3", "acme", "st3", v1::PROMOTION), &r).error_code();
       }},
      {"PutSignal",
       [&](grpc::ClientContext& ctx) {
         v1::PutSignalRequest req;
         v1::Signal* sig = req.mutable_signal();
         sig->set_tenant("acme");
         sig->set_customer_id("st4");
         sig->set_kind(v1::OPT_OUT);
         sig->mutable_at()->set_seconds(absl::ToUnixSeconds(absl::Now()));
         v1::PutSignalResponse r;
         return signals->PutSignal(&ctx, req, &r).error_code();
       }},
      {"GetCustomerState", state},
  };
  for (const auto& [name, call] : calls) {
    SCOPED_TRACE(name);
    // A connection in the pool: a call that succeeds returns its connection (after a stall, reconnecting may
    // back off for a moment first).
    ASSERT_TRUE(WaitFor(
        [&] {
          grpc::ClientContext ctx;
          testing::PrepareCall(ctx, "");
          return state(ctx) == grpc::StatusCode::OK;
        },
        absl::Seconds(10), "Redis answering again"));
    stack_->redis.process().Signal(SIGSTOP);
    std::atomic<bool> done{false};
    grpc::StatusCode code = grpc::StatusCode::OK;
    std::thread t([&] {
      grpc::ClientContext ctx;
      testing::PrepareCall(ctx, "", std::chrono::minutes(10));
      code = call(ctx);
      done = true;
    });
    const bool answered = WaitFor([&] { return done.load(); }, absl::Seconds(30), "the call answered");
    stack_->redis.process().Signal(SIGCONT);  // also lets a call still waiting finish, so the thread can be joined
    t.join();
    EXPECT_TRUE(answered) << name << " waited for its own deadline instead of redis.deadline_ms";
    EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED)
        << name << ": " << code;
  }
}

}  // namespace
}  // namespace tact
