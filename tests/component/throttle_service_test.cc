// Component tier (tests/component/in_process_services.h): the Throttle and Signals services on an in-process
// channel over the in-memory counter store, with bearer-token clients: decisions against the policy, per-item
// batch results, and the call gate's token and tenant checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/core/proto_time.h"
#include "daemon/core/sha256.h"
#include "tests/component/in_process_services.h"
#include "tests/support/grpc_client.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using ::testing::HasSubstr;
using testing::Call;
using testing::CheckRequestFor;
using testing::WaitFor;

constexpr char kPolicy[] = R"(
version: "component-throttle-1"
rules:
  - id: promo-daily
    description: one promotion a day
    match: { message_class: PROMOTION }
    limit: { count: 1, window: 1d }
)";

constexpr char kTokenAcme[] = "component-token-acme";  // test credentials, not secrets
constexpr char kTokenOps[] = "component-token-ops";

std::vector<api::Client> Clients() {
  return {{.name = "crm-acme", .token_sha256 = Sha256Hex(kTokenAcme), .tenants = {"acme"}},
          {.name = "ops", .token_sha256 = Sha256Hex(kTokenOps), .tenants = {"*"}}};
}

const absl::Time kNoon = absl::FromCivil(absl::CivilMinute(2027, 1, 4, 12, 0), absl::UTCTimeZone());

class ThrottleComponentTest : public ::testing::Test, protected testing::InProcessServices {
 protected:
  ThrottleComponentTest() : InProcessServices(kPolicy, kNoon, Clients()) {}

  grpc::Status Check(const v1::CheckRequest& req, v1::CheckResponse* resp, const std::string& token = kTokenAcme) {
    return Call(throttle_.get(), &v1::Throttle::Stub::Check, req, resp, token);
  }
  v1::Decision Promotion(const std::string& id, const std::string& customer, bool dry_run = false) {
    v1::CheckRequest req = CheckRequestFor(id, "acme", customer, v1::PROMOTION);
    req.set_dry_run(dry_run);
    v1::CheckResponse resp;
    const grpc::Status s = Check(req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.decision();
  }
  // The event ids of the published records, once the record of `marker` (a call answered last) is among them:
  // records are published after their call is answered, in order on the executor's one thread.
  std::vector<std::string> RecordedIdsUpTo(const std::string& marker) {
    std::vector<std::string> ids;
    EXPECT_TRUE(WaitFor(
        [&] {
          ids.clear();
          for (const v1::DecisionRecord& r : records_.Records()) ids.push_back(r.event_id());
          return !ids.empty() && ids.back() == marker;
        },
        absl::Seconds(10), "the marker's record"));
    return ids;
  }
  v1::DecisionRecord RecordOf(const std::string& event_id) const {
    for (const v1::DecisionRecord& r : records_.Records()) {
      if (r.event_id() == event_id) return r;
    }
    return {};
  }
  grpc::Status PutSignal(const v1::Signal& signal, const std::string& token = kTokenAcme) {
    v1::PutSignalRequest req;
    *req.mutable_signal() = signal;
    v1::PutSignalResponse resp;
    return Call(signals_.get(), &v1::Signals::Stub::PutSignal, req, &resp, token);
  }
};

TEST_F(ThrottleComponentTest, ChecksCountAgainstTheRuleAndARedeliveryGetsItsEarlierDecision) {
  EXPECT_EQ(Promotion("e1", "c1").decision(), v1::RELEASE);
  EXPECT_EQ(Promotion("e2", "c1", /*dry_run=*/true).decision(), v1::SUPPRESS);
  const v1::Decision second = Promotion("e2", "c1");
  EXPECT_EQ(second.decision(), v1::SUPPRESS);
  EXPECT_EQ(second.rule_id(), "promo-daily");
  EXPECT_EQ(second.policy_version(), "component-throttle-1");
  const v1::Decision again = Promotion("e1", "c1");  // the same event id: its earlier decision
  EXPECT_EQ(again.decision(), v1::RELEASE);
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(Promotion("e3", "c2").decision(), v1::RELEASE);  // another customer: their own count
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(Promotion("e4", "c1").decision(), v1::RELEASE);  // the window has passed
}

TEST_F(ThrottleComponentTest, CheckBatchDecidesEachItemInOrderAndNamesTheBadOne) {
  v1::CheckBatchRequest req;
  *req.add_items() = CheckRequestFor("b1", "acme", "c7", v1::PROMOTION);
  *req.add_items() = CheckRequestFor("b2", "acme", "", v1::PROMOTION);
  *req.add_items() = CheckRequestFor("b3", "acme", "c7", v1::PROMOTION);
  v1::CheckBatchResponse resp;
  const grpc::Status s = Call(throttle_.get(), &v1::Throttle::Stub::CheckBatch, req, &resp, kTokenAcme);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.results_size(), 3);
  EXPECT_EQ(resp.results(0).decision().decision(), v1::RELEASE);
  EXPECT_EQ(resp.results(1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(resp.results(1).error_message(), HasSubstr("items[1].event.customer_id"));
  EXPECT_FALSE(resp.results(1).has_decision());
  EXPECT_EQ(resp.results(2).decision().decision(), v1::SUPPRESS);
}

TEST_F(ThrottleComponentTest, ChecksPublishTheirRecordWithTheCallingClientButDryRunsAndReplaysDoNot) {
  EXPECT_EQ(Promotion("r1", "c1").decision(), v1::RELEASE);
  EXPECT_EQ(Promotion("r2", "c1", /*dry_run=*/true).decision(), v1::SUPPRESS);  // decides nothing: no record
  EXPECT_EQ(Promotion("r2", "c1").decision(), v1::SUPPRESS);
  EXPECT_TRUE(Promotion("r1", "c1").duplicate());  // a replay: r1's record was published when it was decided
  EXPECT_EQ(Promotion("r3", "c2").decision(), v1::RELEASE);
  EXPECT_THAT(RecordedIdsUpTo("r3"), ::testing::ElementsAre("r1", "r2", "r3"));
  const v1::DecisionRecord r2 = RecordOf("r2");
  EXPECT_EQ(r2.client(), "crm-acme");
  EXPECT_EQ(r2.source(), "grpc");
  EXPECT_TRUE(r2.source_position().empty());
  EXPECT_EQ(r2.tenant(), "acme");
  EXPECT_EQ(r2.customer_hash(), hasher_.Hash("acme", "c1"));
  EXPECT_EQ(r2.customer_hash_key_id(), hasher_.KeyId());
  EXPECT_EQ(r2.decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(r2.decision().rule_id(), "promo-daily");
  EXPECT_EQ(r2.decision().policy_version(), "component-throttle-1");
  EXPECT_EQ(r2.evidence().window().rule_id(), "promo-daily");
  EXPECT_EQ(r2.evidence().window().used(), 1);
  EXPECT_EQ(TimeFromProto(r2.decided_at()), kNoon);
}

TEST_F(ThrottleComponentTest, CheckBatchPublishesARecordPerDecidedItemAfterAnswering) {
  v1::CheckBatchRequest req;
  *req.add_items() = CheckRequestFor("rb1", "acme", "c8", v1::PROMOTION);
  *req.add_items() = CheckRequestFor("rb2", "acme", "", v1::PROMOTION);  // invalid: no decision, no record
  *req.add_items() = CheckRequestFor("rb3", "acme", "c8", v1::PROMOTION);
  req.mutable_items(2)->set_dry_run(true);
  *req.add_items() = CheckRequestFor("rb4", "acme", "c8", v1::PROMOTION);
  v1::CheckBatchResponse resp;
  const grpc::Status s = Call(throttle_.get(), &v1::Throttle::Stub::CheckBatch, req, &resp, kTokenOps);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Promotion("rb-marker", "c9").decision(), v1::RELEASE);
  EXPECT_THAT(RecordedIdsUpTo("rb-marker"), ::testing::ElementsAre("rb1", "rb4", "rb-marker"));
  EXPECT_EQ(RecordOf("rb1").client(), "ops");
  EXPECT_EQ(RecordOf("rb1").decision().decision(), v1::RELEASE);
  EXPECT_EQ(RecordOf("rb4").client(), "ops");
  EXPECT_EQ(RecordOf("rb4").source(), "grpc");
  EXPECT_EQ(RecordOf("rb4").decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(RecordOf("rb4").decision().rule_id(), "promo-daily");
}

TEST_F(ThrottleComponentTest, TokensAndTenantsAreCheckedBeforeAnyWork) {
  v1::CheckResponse resp;
  EXPECT_EQ(Check(CheckRequestFor("t1", "acme"), &resp, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Check(CheckRequestFor("t1", "acme"), &resp, "not-a-token").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status s = Check(CheckRequestFor("t1", "beta"), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("event.tenant"));
  EXPECT_TRUE(Check(CheckRequestFor("t1", "beta"), &resp, kTokenOps).ok());  // ops acts for every tenant

  v1::Signal csat;
  csat.set_tenant("beta");
  csat.set_customer_id("c1");
  csat.set_kind(v1::CSAT);
  csat.set_csat(4);
  *csat.mutable_at() = TimeToProto(kNoon - absl::Minutes(1));
  s = PutSignal(csat);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("signal.tenant"));
  csat.set_tenant("acme");
  csat.set_csat(9);
  s = PutSignal(csat);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("signal.csat"));
  csat.set_csat(4);
  EXPECT_TRUE(PutSignal(csat).ok());
}

// Check is decided on the queue's thread after the pass that received it: with no DecisionExecutor thread at all,
// Checks are still decided (and counted), and their records published.
class ThrottleWithoutWorkersTest : public ::testing::Test, protected testing::InProcessServices {
 protected:
  ThrottleWithoutWorkersTest() : InProcessServices(kPolicy, kNoon, Clients(), /*executor_threads=*/0) {}
};

TEST_F(ThrottleWithoutWorkersTest, CheckIsDecidedOnTheQueueThread) {
  v1::CheckResponse first;
  ASSERT_TRUE(Call(throttle_.get(), &v1::Throttle::Stub::Check, CheckRequestFor("w1", "acme", "ana", v1::PROMOTION),
                   &first, kTokenAcme)
                  .ok());
  EXPECT_EQ(first.decision().decision(), v1::RELEASE);
  v1::CheckResponse second;
  ASSERT_TRUE(Call(throttle_.get(), &v1::Throttle::Stub::Check, CheckRequestFor("w2", "acme", "ana", v1::PROMOTION),
                   &second, kTokenAcme)
                  .ok());
  EXPECT_EQ(second.decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(second.decision().rule_id(), "promo-daily");
  // Each record is published right after its call is answered, on the same thread.
  ASSERT_TRUE(WaitFor([&] { return records_.Records().size() == 2; }, absl::Seconds(10), "both records"));
  std::vector<std::string> ids;
  for (const v1::DecisionRecord& r : records_.Records()) ids.push_back(r.event_id());
  EXPECT_EQ(ids, (std::vector<std::string>{"w1", "w2"}));
}

// With grpc.check_max_wait_ms, a pass holding Checks keeps collecting until the wait ends, then decides them: a lone
// Check is not held past it.
class ThrottleCollectingTest : public ::testing::Test, protected testing::InProcessServices {
 protected:
  ThrottleCollectingTest()
      : InProcessServices(kPolicy, kNoon, Clients(), /*executor_threads=*/0, absl::Milliseconds(2)) {}
};

TEST_F(ThrottleCollectingTest, ChecksAreDecidedWhenTheWaitEnds) {
  for (const auto& [id, want] : {std::pair{"c1", v1::RELEASE}, std::pair{"c2", v1::SUPPRESS}}) {
    v1::CheckResponse response;
    ASSERT_TRUE(Call(throttle_.get(), &v1::Throttle::Stub::Check, CheckRequestFor(id, "acme", "ana", v1::PROMOTION),
                     &response, kTokenAcme)
                    .ok());
    EXPECT_EQ(response.decision().decision(), want) << id;
  }
}

}  // namespace
}  // namespace tact
