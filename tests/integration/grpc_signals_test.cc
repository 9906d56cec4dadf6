// Throttle.Explain and the Signals service over a real port (tactd + redis-server + devbroker): the rule trace
// against live state and that it reserves nothing, PutSignal feeding suppress_if, GetCustomerState after Checks,
// tenant isolation and field-naming validation.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/proto_time.h"
#include "tact/v1/policies.grpc.pb.h"
#include "tact/v1/signals.grpc.pb.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/grpc_client.h"
#include "tests/support/stack.h"

namespace tact {
namespace {

using testing::CheckRequestFor;
using testing::ClientEntry;
using testing::DevBroker;
using testing::PrepareCall;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;

constexpr char kTokenA[] = "signals-token-a";  // test credentials, not secrets
constexpr char kTokenB[] = "signals-token-b";
constexpr char kTokenOps[] = "signals-token-ops";  // every tenant

v1::Signal Csat(const std::string& tenant, const std::string& customer, int score) {
  v1::Signal s;
  s.set_tenant(tenant);
  s.set_customer_id(customer);
  s.set_kind(v1::CSAT);
  s.set_csat(score);
  *s.mutable_at() = TimeToProto(absl::Now() - absl::Minutes(1));
  return s;
}

class GrpcSignalsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new testing::SuiteStack([](const std::string& dir) {
      const std::string clients = dir + "/clients.yaml";
      std::ofstream(clients) << absl::StrCat("clients:\n", ClientEntry("crm-a", kTokenA, "acme", 1000, 1000),
                                             ClientEntry("crm-b", kTokenB, "beta", 1000, 1000),
                                             ClientEntry("ops", kTokenOps, "\"*\"", 1000, 1000));
      return std::vector<std::string>{"--grpc-clients-file", clients};
    });
  }
  static void TearDownTestSuite() { delete stack_; }
  void TearDown() override {
    if (HasFailure()) std::cerr << stack_->tactd.process().Log();
  }

  static grpc::Status Check(const v1::CheckRequest& req, v1::CheckResponse* resp, const std::string& token = kTokenA) {
    grpc::ClientContext ctx;
    PrepareCall(ctx, token);
    return v1::Throttle::NewStub(stack_->channel)->Check(&ctx, req, resp);
  }
  static grpc::Status Explain(const v1::CheckRequest& req, v1::ExplainResponse* resp,
                              const std::string& token = kTokenA) {
    grpc::ClientContext ctx;
    PrepareCall(ctx, token);
    return v1::Throttle::NewStub(stack_->channel)->Explain(&ctx, req, resp);
  }
  static grpc::Status Put(const v1::Signal& signal, const std::string& token = kTokenA) {
    grpc::ClientContext ctx;
    PrepareCall(ctx, token);
    v1::PutSignalRequest req;
    *req.mutable_signal() = signal;
    v1::PutSignalResponse resp;
    return v1::Signals::NewStub(stack_->channel)->PutSignal(&ctx, req, &resp);
  }
  static grpc::Status State(const std::string& tenant, const std::string& customer, v1::CustomerState* resp,
                            const std::string& token = kTokenA) {
    grpc::ClientContext ctx;
    PrepareCall(ctx, token);
    v1::GetCustomerStateRequest req;
    req.set_tenant(tenant);
    req.set_customer_id(customer);
    return v1::Signals::NewStub(stack_->channel)->GetCustomerState(&ctx, req, resp);
  }
  static std::vector<std::string> RuleIds() {
    grpc::ClientContext ctx;
    PrepareCall(ctx, kTokenA);
    v1::PolicyInfo info;
    EXPECT_TRUE(v1::Policies::NewStub(stack_->channel)->GetPolicy(&ctx, v1::GetPolicyRequest(), &info).ok());
    return {info.rule_ids().begin(), info.rule_ids().end()};
  }

  static testing::SuiteStack* stack_;
};

testing::SuiteStack* GrpcSignalsTest::stack_ = nullptr;

const v1::TraceLine* Line(const v1::ExplainResponse& r, const std::string& rule) {
  for (const v1::TraceLine& l : r.trace()) {
    if (l.rule_id() == rule) return &l;
  }
  return nullptr;
}

TEST_F(GrpcSignalsTest, ExplainTracesEveryRuleAgainstLiveStateAndReservesNothing) {
  v1::ExplainResponse ex;
  for (int i = 0; i < 3; ++i) {  // explaining over and over counts nothing
    const grpc::Status s = Explain(CheckRequestFor(absl::StrCat("ex-", i), "acme", "ex-cust"), &ex);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(ex.decision().decision(), v1::RELEASE);
  }
  // Every rule of the policy, in evaluation order.
  std::vector<std::string> traced;
  for (const v1::TraceLine& l : ex.trace()) traced.push_back(l.rule_id());
  EXPECT_EQ(traced, RuleIds());
  const v1::TraceLine* cap = Line(ex, "proactive-service-2-per-7d");
  ASSERT_NE(cap, nullptr);
  EXPECT_TRUE(cap->matched());
  EXPECT_EQ(cap->effect(), "limit");
  EXPECT_TRUE(absl::StartsWith(cap->check(), "2 per rolling 7d: 0 used")) << cap->check();
  EXPECT_FALSE(cap->applies());
  const v1::TraceLine* promo = Line(ex, "promotion-low-csat");
  ASSERT_NE(promo, nullptr);
  EXPECT_FALSE(promo->matched());
  EXPECT_EQ(promo->why_not(), "message_class PROACTIVE_SERVICE not in [PROMOTION]");
  EXPECT_EQ(promo->effect(), "suppress_if");

  // Nothing was reserved: two real checks still fit the 2-per-7d cap.
  v1::CheckResponse resp;
  ASSERT_TRUE(Check(CheckRequestFor("ex-a", "acme", "ex-cust"), &resp).ok());
  EXPECT_EQ(resp.decision().decision(), v1::RELEASE);
  ASSERT_TRUE(Check(CheckRequestFor("ex-b", "acme", "ex-cust"), &resp).ok());
  EXPECT_EQ(resp.decision().decision(), v1::RELEASE);
  EXPECT_EQ(resp.decision().counters(0).used(), 1);

  // Now the live state is full: Explain says so, and which rule decided.
  ASSERT_TRUE(Explain(CheckRequestFor("ex-c", "acme", "ex-cust"), &ex).ok());
  EXPECT_EQ(ex.decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(ex.decision().rule_id(), "proactive-service-2-per-7d");
  cap = Line(ex, "proactive-service-2-per-7d");
  ASSERT_NE(cap, nullptr);
  EXPECT_TRUE(absl::StartsWith(cap->check(), "2 per rolling 7d: 2 used (full)")) << cap->check();
  EXPECT_TRUE(cap->applies());
  EXPECT_TRUE(cap->decided());
  // An event decided before is explained as that decision (a duplicate), still without writing.
  ASSERT_TRUE(Explain(CheckRequestFor("ex-a", "acme", "ex-cust"), &ex).ok());
  EXPECT_EQ(ex.decision().decision(), v1::RELEASE);
  EXPECT_TRUE(ex.decision().duplicate());
  v1::CustomerState state;
  ASSERT_TRUE(State("acme", "ex-cust", &state).ok());
  ASSERT_EQ(state.counters_size(), 1);
  EXPECT_EQ(state.counters(0).used(), 2);
}

TEST_F(GrpcSignalsTest, PutSignalMakesTheCsatRuleSuppressAPromotion) {
  v1::CheckResponse resp;
  const grpc::Status put = Put(Csat("acme", "unhappy", 2));
  ASSERT_TRUE(put.ok()) << put.error_message();
  const grpc::Status s = Check(CheckRequestFor("sig-1", "acme", "unhappy", v1::PROMOTION), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(resp.decision().rule_id(), "promotion-low-csat");
  // A good rating does not suppress.
  ASSERT_TRUE(Put(Csat("acme", "happy", 5)).ok());
  ASSERT_TRUE(Check(CheckRequestFor("sig-2", "acme", "happy", v1::PROMOTION), &resp).ok());
  EXPECT_EQ(resp.decision().decision(), v1::RELEASE);
}

TEST_F(GrpcSignalsTest, GetCustomerStateShowsCountersAndSignals) {
  const std::string customer = "state-customer@example.com";
  v1::CheckResponse resp;
  ASSERT_TRUE(Check(CheckRequestFor("st-1", "acme", customer), &resp).ok());
  ASSERT_TRUE(Check(CheckRequestFor("st-2", "acme", customer), &resp).ok());
  ASSERT_TRUE(Check(CheckRequestFor("st-3", "acme", customer), &resp).ok());  // suppressed: not counted
  EXPECT_EQ(resp.decision().decision(), v1::SUPPRESS);
  v1::CheckRequest promo = CheckRequestFor("st-4", "acme", customer, v1::PROMOTION);
  ASSERT_TRUE(Check(promo, &resp).ok());
  EXPECT_EQ(resp.decision().decision(), v1::RELEASE);
  v1::Signal complaint;
  complaint.set_tenant("acme");
  complaint.set_customer_id(customer);
  complaint.set_kind(v1::COMPLAINT_OPENED);
  complaint.set_ref("T-17");
  *complaint.mutable_at() = TimeToProto(absl::Now());
  ASSERT_TRUE(Put(complaint).ok());

  v1::CustomerState state;
  const grpc::Status s = State("acme", customer, &state);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(state.tenant(), "acme");
  EXPECT_FALSE(state.customer_hash().empty());
  EXPECT_EQ(state.customer_hash().find(customer), std::string::npos);
  EXPECT_FALSE(state.policy_version().empty());
  std::map<std::string, v1::CounterState> by_rule;
  for (const v1::CounterState& c : state.counters()) by_rule[c.rule_id()] = c;
  ASSERT_TRUE(by_rule.contains("proactive-service-2-per-7d")) << state.DebugString();
  const v1::CounterState& cap = by_rule["proactive-service-2-per-7d"];
  EXPECT_EQ(cap.counter(), "r:proactive-service-2-per-7d");
  EXPECT_EQ(cap.used(), 2);
  EXPECT_EQ(cap.limit(), 2);
  EXPECT_EQ(cap.window(), "rolling 7d");
  const absl::Time frees = TimeFromProto(cap.frees_at());
  EXPECT_GT(frees, absl::Now() + absl::Hours(24 * 7) - absl::Minutes(5));
  EXPECT_LE(frees, absl::Now() + absl::Hours(24 * 7));
  ASSERT_TRUE(by_rule.contains("promotion-1-per-day")) << state.DebugString();
  EXPECT_EQ(by_rule["promotion-1-per-day"].used(), 1);
  EXPECT_TRUE(absl::StartsWith(by_rule["promotion-1-per-day"].counter(), "c:promotion-1-per-day:"));
  ASSERT_EQ(state.signals_size(), 1);
  EXPECT_EQ(state.signals(0).field(), "complaint:T-17");
  EXPECT_FALSE(state.signals(0).has_expires_at());
  // The raw customer id never reaches the log (the access log names client, method, code, latency).
  EXPECT_EQ(stack_->tactd.process().Log().find(customer), std::string::npos);

  // An unknown customer has no state (and nothing is created by asking).
  ASSERT_TRUE(State("acme", "nobody", &state).ok());
  EXPECT_EQ(state.counters_size(), 0);
  EXPECT_EQ(state.signals_size(), 0);
}

TEST_F(GrpcSignalsTest, ClientCannotReachAnotherTenant) {
  v1::CustomerState state;
  grpc::Status s = State("beta", "c1", &state);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "tenant: client 'crm-a' may not act for tenant 'beta'");
  s = Put(Csat("beta", "c1", 1));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "signal.tenant: client 'crm-a' may not act for tenant 'beta'");
  v1::ExplainResponse ex;
  s = Explain(CheckRequestFor("x-1", "beta", "c1"), &ex);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "event.tenant: client 'crm-a' may not act for tenant 'beta'");
  // crm-b may: and crm-a's refused PutSignal wrote nothing for beta's customer.
  s = State("beta", "c1", &state, kTokenB);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(state.signals_size(), 0);
  // No token: UNAUTHENTICATED on every new RPC.
  EXPECT_EQ(State("acme", "c1", &state, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Put(Csat("acme", "c1", 1), "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Explain(CheckRequestFor("x-2", "acme", "c1"), &ex, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// Redis keys were "tact:{<tenant>:<customer>}:": tenant "acme:X" + customer "y" was tenant "acme" + customer
// "X:y", so crm-a (acme only) read and wrote that tenant's customer through a crafted customer id. Now such a
// tenant is refused on every path, and ids with the old separators are customers of their own.
TEST_F(GrpcSignalsTest, CraftedIdsCannotReachAnotherTenantsCustomer) {
  const std::string charset = "may contain only letters, digits, '.', '_' and '-'";
  v1::Signal opt_out = Csat("acme:X", "y", 1);
  opt_out.set_kind(v1::OPT_OUT);
  opt_out.clear_csat();
  grpc::Status s = Put(opt_out, kTokenOps);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "signal.tenant: " + charset);
  v1::CheckResponse resp;
  s = Check(CheckRequestFor("cx-1", "acme:X", "y"), &resp, kTokenOps);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "event.tenant: " + charset);
  v1::CustomerState state;
  s = State("acme:X", "y", &state, kTokenOps);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "tenant: " + charset);
  // crm-a's crafted customer sees nothing of it, and its own messages are counted for itself only.
  ASSERT_TRUE(State("acme", "X:y", &state).ok());
  EXPECT_EQ(state.counters_size(), 0) << state.DebugString();
  EXPECT_EQ(state.signals_size(), 0) << state.DebugString();
  v1::CheckRequest promo = CheckRequestFor("cx-2", "acme", "X:y", v1::PROMOTION);
  ASSERT_TRUE(Check(promo, &resp).ok());
  EXPECT_EQ(resp.decision().decision(), v1::RELEASE) << resp.decision().reason();

  // Within a tenant: customer "w"'s marker of event "e}:r:proactive-service-2-per-7d" was the rolling window of
  // customer "w}:seen:e" (whose every check then failed), and ids with '{', '}' or 256 bytes share nothing.
  ASSERT_TRUE(Check(CheckRequestFor("e}:r:proactive-service-2-per-7d", "acme", "w"), &resp).ok());
  EXPECT_EQ(resp.decision().decision(), v1::RELEASE);
  for (const std::string& customer : {std::string("w}:seen:e"), std::string("{w}"), std::string(256, '}'),
                                      std::string(255, 'w') + ":"}) {
    SCOPED_TRACE(customer.substr(0, 16));
    for (int i = 0; i < 3; ++i) {  // two proactive-service messages per 7 days: the third is suppressed
      s = Check(CheckRequestFor(absl::StrCat("cx-", customer.size(), "-", customer.substr(0, 1), "-", i), "acme", customer),
                &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(resp.decision().decision(), i < 2 ? v1::RELEASE : v1::SUPPRESS) << resp.decision().reason();
    }
  }
  ASSERT_TRUE(State("acme", "w", &state).ok());
  ASSERT_EQ(state.counters_size(), 1) << state.DebugString();
  EXPECT_EQ(state.counters(0).used(), 1);
}

TEST_F(GrpcSignalsTest, InvalidArgumentsNameTheField) {
  auto expect_invalid = [](const grpc::Status& s, const std::string& message) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_EQ(s.error_message(), message);
  };
  {
    grpc::ClientContext ctx;
    PrepareCall(ctx, kTokenA);
    v1::PutSignalResponse resp;
    expect_invalid(v1::Signals::NewStub(stack_->channel)->PutSignal(&ctx, v1::PutSignalRequest(), &resp),
                   "signal: required");
  }
  expect_invalid(Put(Csat("acme", "v1", 9)), "signal.csat: must be 1..5");
  v1::Signal no_time = Csat("acme", "v1", 2);
  no_time.clear_at();
  expect_invalid(Put(no_time), "signal.at: required (when it happened)");
  v1::Signal no_customer = Csat("acme", "", 2);
  expect_invalid(Put(no_customer), "signal.customer_id: required");
  v1::Signal no_ref = Csat("acme", "v1", 2);
  no_ref.set_kind(v1::COMPLAINT_OPENED);
  EXPECT_EQ(Put(no_ref).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(Put(no_ref).error_message(), "signal.ref: ")) << Put(no_ref).error_message();
  v1::CustomerState state;
  expect_invalid(State("acme", "", &state), "customer_id: required");
  expect_invalid(State("", "c1", &state), "tenant: required");
  expect_invalid(State("acme", std::string(257, 'c'), &state), "customer_id: longer than 256 bytes");
  expect_invalid(Put(Csat("", "v1", 2)), "signal.tenant: required");
  v1::CheckResponse resp;
  expect_invalid(Check(CheckRequestFor("v-0", "", "c1"), &resp), "event.tenant: required");
  expect_invalid(Check(CheckRequestFor("v-0", "acme", ""), &resp), "event.customer_id: required");
  expect_invalid(Check(CheckRequestFor("v-0", "acme corp", "c1"), &resp),
                 "event.tenant: may contain only letters, digits, '.', '_' and '-'");
  v1::ExplainResponse ex;
  expect_invalid(Explain(CheckRequestFor("v-1", "acme", ""), &ex), "event.customer_id: required");
  grpc::ClientContext ctx;
  PrepareCall(ctx, kTokenA);
  expect_invalid(v1::Throttle::NewStub(stack_->channel)->Explain(&ctx, v1::CheckRequest(), &ex), "event: required");
}

}  // namespace
}  // namespace tact
