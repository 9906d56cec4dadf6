#include "daemon/decision/decision_service.h"

#include <gtest/gtest.h>

#include "daemon/policy/parse.h"
#include "daemon/store/in_memory_counter_store.h"

namespace tact::decision {
namespace {

constexpr char kPolicy[] = R"(
version: "v1"
rules:
  - id: proactive-2
    description: two proactive emails per week
    match: { message_class: [PROACTIVE_SERVICE, TRANSACTIONAL] }
    limit: { count: 2, window: 7d }
)";

class UnreachableStore final : public store::CounterStore {
 public:
  absl::StatusOr<std::vector<store::CheckResult>> CheckAndReserve(std::span<const store::CustomerCheck>,
                                                                  absl::Time) override {
    return absl::UnavailableError("redis connect: Connection refused");
  }
  absl::Status PutSignal(const policy::Signal&, absl::Time, absl::Time) override {
    return absl::UnavailableError("redis connect: Connection refused");
  }
  bool Healthy() override { return false; }
};

std::shared_ptr<const policy::Policy> Parse(const std::string& yaml) {
  absl::StatusOr<policy::Policy> p = policy::ParsePolicy({{"p.yaml", yaml}});
  EXPECT_TRUE(p.ok()) << p.status();
  return std::make_shared<const policy::Policy>(*p);
}

Event MakeEvent(std::string id, MessageClass cls = v1::PROACTIVE_SERVICE) {
  Event e;
  e.event_id = std::move(id);
  e.tenant = "acme";
  e.customer_id = "maria@example.com";
  e.channel = v1::EMAIL;
  e.message_class = cls;
  return e;
}

class DecisionServiceTest : public ::testing::Test {
 protected:
  DecisionServiceTest() { policies_.Set(Parse(kPolicy)); }

  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  PolicyHolder policies_;
  store::InMemoryCounterStore store_;
  CustomerHasher hasher_{"k"};
  DecisionService service_{policies_, store_, clock_, hasher_};
};

TEST_F(DecisionServiceTest, ThirdWithinWindowIsSuppressedAndRecordHasNoCustomerId) {
  EXPECT_EQ(service_.Decide(MakeEvent("a"), {})->decision.decision(), v1::RELEASE);
  EXPECT_EQ(service_.Decide(MakeEvent("b"), {})->decision.decision(), v1::RELEASE);
  absl::StatusOr<Decided> third = service_.Decide(MakeEvent("c"), {.source = "grpc"});
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->decision.decision(), v1::SUPPRESS);
  EXPECT_EQ(third->decision.rule_id(), "proactive-2");
  EXPECT_EQ(third->decision.policy_version(), "v1");
  EXPECT_EQ(third->record.customer_hash(), hasher_.Hash("acme", "maria@example.com"));
  EXPECT_EQ(third->record.DebugString().find("maria"), std::string::npos);
  clock_.Advance(absl::Hours(24 * 7));
  EXPECT_EQ(service_.Decide(MakeEvent("d"), {})->decision.decision(), v1::RELEASE);
}

TEST_F(DecisionServiceTest, DuplicateGetsTheEarlierDecisionEvenAfterAPolicyChange) {
  ASSERT_EQ(service_.Decide(MakeEvent("a"), {})->decision.decision(), v1::RELEASE);
  ASSERT_EQ(service_.Decide(MakeEvent("b"), {})->decision.decision(), v1::RELEASE);
  ASSERT_EQ(service_.Decide(MakeEvent("c"), {})->decision.decision(), v1::SUPPRESS);
  policies_.Set(Parse(R"(
version: "v2"
rules:
  - id: generous
    description: ten a week
    match: { message_class: PROACTIVE_SERVICE }
    limit: { count: 10, window: 7d }
)"));
  absl::StatusOr<Decided> again = service_.Decide(MakeEvent("c"), {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->decision.duplicate());
  EXPECT_EQ(again->decision.decision(), v1::SUPPRESS);
  EXPECT_EQ(again->decision.rule_id(), "proactive-2");
  EXPECT_EQ(again->decision.policy_version(), "v1");
}

TEST_F(DecisionServiceTest, DryRunReservesNothing) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(service_.Decide(MakeEvent("dry"), {.dry_run = true})->decision.decision(), v1::RELEASE);
  }
  EXPECT_EQ(service_.Decide(MakeEvent("x"), {})->decision.decision(), v1::RELEASE);
  EXPECT_EQ(service_.Decide(MakeEvent("y"), {})->decision.decision(), v1::RELEASE);
}

TEST_F(DecisionServiceTest, StoreDownFailsOpenForTransactionalAndClosedForTheRest) {
  UnreachableStore down;
  DecisionService service(policies_, down, clock_, hasher_);
  absl::StatusOr<Decided> receipt = service.Decide(MakeEvent("r", v1::TRANSACTIONAL), {});
  ASSERT_TRUE(receipt.ok());
  EXPECT_EQ(receipt->decision.decision(), v1::RELEASE);
  EXPECT_TRUE(receipt->decision.degraded());
  EXPECT_TRUE(absl::IsUnavailable(service.Decide(MakeEvent("p"), {}).status()));

  DecisionService all_closed(policies_, down, clock_, hasher_, {.fail_open_classes = {}});
  EXPECT_TRUE(absl::IsUnavailable(all_closed.Decide(MakeEvent("r2", v1::TRANSACTIONAL), {}).status()));
}

TEST_F(DecisionServiceTest, BatchDecidesOneCustomersEventsInOrder) {
  const std::vector<Event> events{MakeEvent("a"), MakeEvent("r", v1::SERVICE), MakeEvent("b"), MakeEvent("c"),
                                  MakeEvent("a")};
  std::vector<DecisionService::Request> requests;
  for (const Event& e : events) requests.push_back({&e, {.source = "kafka"}});
  std::vector<absl::StatusOr<Decided>> out = service_.DecideBatch(requests);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0]->decision.decision(), v1::RELEASE);
  EXPECT_EQ(out[1]->decision.decision(), v1::RELEASE);
  EXPECT_EQ(out[1]->decision.reason(), "no limit applies");
  EXPECT_EQ(out[2]->decision.decision(), v1::RELEASE);
  EXPECT_EQ(out[3]->decision.decision(), v1::SUPPRESS);
  EXPECT_TRUE(out[4]->decision.duplicate());
  EXPECT_EQ(out[4]->record.event_id(), "a");
  EXPECT_EQ(out[4]->record.source(), "kafka");
}

TEST_F(DecisionServiceTest, NoPolicyIsFailedPrecondition) {
  PolicyHolder empty;
  DecisionService service(empty, store_, clock_, hasher_);
  EXPECT_TRUE(absl::IsFailedPrecondition(service.Decide(MakeEvent("a"), {}).status()));
}

}  // namespace
}  // namespace tact::decision
