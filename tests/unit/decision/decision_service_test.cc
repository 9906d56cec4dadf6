#include "daemon/decision/decision_service.h"

#include <gtest/gtest.h>

#include <optional>

#include "absl/strings/str_cat.h"

#include "daemon/decision/marker.h"
#include "daemon/decision/policy_archive.h"
#include "daemon/decision/store_spec.h"
#include "daemon/store/in_memory_counter_store.h"
#include "tests/unit/decision/decision_test_support.h"

namespace tact::decision {
namespace {

using test_support::MakeEvent;
using test_support::ParseTestPolicy;

class UnreachableStore final : public store::CounterStore {
 public:
  absl::StatusOr<std::vector<store::CheckResult>> CheckAndReserve(std::span<const store::CustomerCheck>,
                                                                  absl::Time) override {
    return absl::UnavailableError("redis connect: Connection refused");
  }
  absl::Status PutSignal(const store::SignalWrite&, absl::Time, absl::Time) override {
    return absl::UnavailableError("redis connect: Connection refused");
  }
  bool Healthy() override { return false; }
};

class DecisionServiceTest : public ::testing::Test {
 protected:
  DecisionServiceTest() { policies_.Set(ParseTestPolicy(test_support::kTwoPerWeekPolicy)); }

  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  PolicyHolder policies_;
  store::InMemoryCounterStore store_;
  CustomerHasher hasher_{"k"};
  DecisionService service_{policies_, store_, clock_, hasher_};
};

// A new policy, "v2", that would release what "v1" suppressed.
constexpr char kGenerousPolicy[] = R"(
version: "v2"
rules:
  - id: generous
    description: ten a week
    match: { message_class: PROACTIVE_SERVICE }
    limit: { count: 10, window: 7d }
)";

TEST_F(DecisionServiceTest, ThirdWithinWindowIsSuppressedAndRecordHasNoCustomerId) {
  EXPECT_EQ(service_.Decide(MakeEvent("a"), {})->decision().decision(), v1::RELEASE);
  EXPECT_EQ(service_.Decide(MakeEvent("b"), {})->decision().decision(), v1::RELEASE);
  absl::StatusOr<Decided> third = service_.Decide(MakeEvent("c"), {.source = "grpc"});
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(third->decision().rule_id(), "proactive-2");
  EXPECT_EQ(third->decision().policy_version(), "v1");
  EXPECT_EQ(third->record().customer_hash(), hasher_.Hash("acme", "maria@example.com"));
  EXPECT_EQ(third->record().DebugString().find("maria"), std::string::npos);
  clock_.Advance(absl::Hours(24 * 7));
  EXPECT_EQ(service_.Decide(MakeEvent("d"), {})->decision().decision(), v1::RELEASE);
}

// A batch's events are counted per label set once the batch is decided: each in its decision's series, and every
// one in the latency histogram (each waited for the whole batch).
TEST_F(DecisionServiceTest, ABatchCountsEveryEventInItsDecisionsSeries) {
  prometheus::Registry registry;
  DecisionStats stats(registry);
  DecisionService service(policies_, store_, clock_, hasher_, {.stats = &stats});
  const Event a = MakeEvent("a"), b = MakeEvent("b"), c = MakeEvent("c"), d = MakeEvent("d");
  const std::vector<DecisionService::Request> batch = {
      {&a, {.source = "kafka"}}, {&b, {.source = "kafka"}}, {&c, {.source = "kafka"}}, {&d, {.source = "grpc"}}};
  ASSERT_EQ(service.DecideBatch(batch).size(), 4u);
  const std::string text = ops::SerializeMetrics(registry);
  EXPECT_NE(text.find(R"(tact_decisions_total{decision="RELEASE",rule="none",source="kafka"} 2)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(tact_decisions_total{decision="SUPPRESS",rule="proactive-2",source="kafka"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(tact_decisions_total{decision="SUPPRESS",rule="proactive-2",source="grpc"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(tact_decision_duration_seconds_count{source="kafka"} 3)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(tact_decision_duration_seconds_count{source="grpc"} 1)"), std::string::npos) << text;
}

// A batch of kArenaBatch requests or more has its records on one arena: each record is whole, and a record copied or
// moved out of the batch outlives the batch (the arena lives while one of its records does).
TEST_F(DecisionServiceTest, ABatchsRecordsOnTheirArenaOutliveTheBatch) {
  std::vector<Event> events;
  for (size_t i = 0; i < kArenaBatch + 4; ++i) {
    Event e = MakeEvent(absl::StrCat("e", i));
    e.customer_id = absl::StrCat("customer-", i % 5);  // 2 released per customer, then suppressed
    events.push_back(std::move(e));
  }
  std::vector<DecisionService::Request> batch;
  for (const Event& e : events) batch.push_back({&e, {.source = "kafka", .source_position = "t[0]@1"}});
  std::optional<Decided> copied, moved;
  {
    DecidedBatch out = service_.DecideBatch(batch);
    ASSERT_EQ(out.size(), events.size());
    for (size_t i = 0; i < out.size(); ++i) {
      ASSERT_TRUE(out[i].ok()) << out[i].status();
      const v1::DecisionRecord& r = out[i]->record();
      EXPECT_EQ(r.event_id(), events[i].event_id);
      EXPECT_EQ(r.customer_hash(), hasher_.Hash("acme", events[i].customer_id));
      EXPECT_EQ(r.source_position(), "t[0]@1");
      EXPECT_EQ(r.decision().decision(), i < 10 ? v1::RELEASE : v1::SUPPRESS) << i;
      EXPECT_EQ(r.decision().policy_version(), "v1");
    }
    EXPECT_NE(out[0]->record().GetArena(), nullptr);
    EXPECT_EQ(out[0]->record().GetArena(), out[out.size() - 1]->record().GetArena());
    copied = *out[12];
    moved = *std::move(out[3]);
  }
  EXPECT_EQ(copied->record().event_id(), "e12");
  EXPECT_EQ(copied->decision().rule_id(), "proactive-2");
  EXPECT_EQ(moved->record().event_id(), "e3");
  EXPECT_EQ(moved->decision().decision(), v1::RELEASE);
  Decided assigned;  // assigned from one on the arena: a copy there, which keeps the arena alive
  assigned = *copied;
  copied.reset();
  EXPECT_EQ(assigned.record().event_id(), "e12");
  // A smaller batch (a gRPC call's) keeps each record on its own.
  const Event lone = MakeEvent("lone");
  const DecisionService::Request one{&lone, {.source = "grpc"}};
  EXPECT_EQ(service_.DecideBatch({&one, 1}).front()->record().GetArena(), nullptr);
}

TEST_F(DecisionServiceTest, DuplicateGetsTheEarlierDecisionEvenAfterAPolicyChange) {
  // The markers are "m4;" (no plan): the earlier policy is found in the archive (the reloader remembers every
  // policy it activates) and the plan made again from it.
  PolicyArchive archive(clock_);
  archive.Remember(policies_.Get(), {});
  DecisionService service(policies_, store_, clock_, hasher_, {.archive = &archive});
  ASSERT_EQ(service.Decide(MakeEvent("a"), {})->decision().decision(), v1::RELEASE);
  ASSERT_EQ(service.Decide(MakeEvent("b"), {})->decision().decision(), v1::RELEASE);
  clock_.Advance(absl::Microseconds(1234));  // decided at a time with a sub-millisecond part
  const absl::StatusOr<Decided> first = service.Decide(MakeEvent("c"), {});
  ASSERT_EQ(first->decision().decision(), v1::SUPPRESS);
  policies_.Set(ParseTestPolicy(kGenerousPolicy));
  clock_.Advance(absl::Hours(30));
  absl::StatusOr<Decided> again = service.Decide(MakeEvent("c"), {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->decision().duplicate());
  EXPECT_EQ(again->decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(again->decision().rule_id(), "proactive-2");
  EXPECT_EQ(again->decision().policy_version(), "v1");
  EXPECT_EQ(again->decision().reason(), first->decision().reason());
  ASSERT_EQ(again->decision().counters().size(), 1);
  EXPECT_EQ(again->decision().counters(0).used(), 2);
  EXPECT_TRUE(again->record().has_evidence());
}

TEST_F(DecisionServiceTest, DuplicateOfAPolicyNotAvailableKeepsItsVerdictWithoutItsRules) {
  // No archive (or the policy expired from it): a redelivery after the policy changed still gets its verdict.
  ASSERT_EQ(service_.Decide(MakeEvent("a"), {})->decision().decision(), v1::RELEASE);
  ASSERT_EQ(service_.Decide(MakeEvent("b"), {})->decision().decision(), v1::RELEASE);
  ASSERT_EQ(service_.Decide(MakeEvent("c"), {})->decision().decision(), v1::SUPPRESS);
  const std::string digest = policies_.Get()->digest;
  policies_.Set(ParseTestPolicy(kGenerousPolicy));
  for (const char* id : {"a", "c"}) {
    absl::StatusOr<Decided> again = service_.Decide(MakeEvent(id), {});
    ASSERT_TRUE(again.ok()) << again.status();
    const v1::Decision& d = again->decision();
    EXPECT_TRUE(d.duplicate());
    EXPECT_EQ(d.decision(), std::string_view(id) == "a" ? v1::RELEASE : v1::SUPPRESS) << id;
    EXPECT_FALSE(d.degraded());
    EXPECT_EQ(d.rule_id(), "");
    EXPECT_EQ(d.policy_version(), "v1");
    EXPECT_EQ(d.policy_digest(), digest);
    EXPECT_EQ(d.reason(), "decided before under policy v1; its rules are not available to this instance");
    EXPECT_FALSE(again->record().has_evidence());
  }
  // Explain says the same, and why it cannot trace the rules.
  absl::StatusOr<v1::ExplainResponse> explained = service_.Explain(MakeEvent("c"));
  ASSERT_TRUE(explained.ok()) << explained.status();
  EXPECT_EQ(explained->decision().decision(), v1::SUPPRESS);
  ASSERT_EQ(explained->trace_size(), 1);
  EXPECT_EQ(explained->trace(0).check(),
            "not checked: decided before under policy v1; its rules are not available to this instance");
}

TEST_F(DecisionServiceTest, DryRunReservesNothing) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(service_.Decide(MakeEvent("dry"), {.dry_run = true})->decision().decision(), v1::RELEASE);
  }
  EXPECT_EQ(service_.Decide(MakeEvent("x"), {})->decision().decision(), v1::RELEASE);
  EXPECT_EQ(service_.Decide(MakeEvent("y"), {})->decision().decision(), v1::RELEASE);
}

TEST_F(DecisionServiceTest, StoreDownFailsOpenForTransactionalAndClosedForTheRest) {
  UnreachableStore down;
  DecisionService service(policies_, down, clock_, hasher_);
  absl::StatusOr<Decided> receipt = service.Decide(MakeEvent("r", v1::TRANSACTIONAL), {});
  ASSERT_TRUE(receipt.ok());
  EXPECT_EQ(receipt->decision().decision(), v1::RELEASE);
  EXPECT_TRUE(receipt->decision().degraded());
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
  EXPECT_EQ(out[0]->decision().decision(), v1::RELEASE);
  EXPECT_EQ(out[1]->decision().decision(), v1::RELEASE);
  EXPECT_EQ(out[1]->decision().reason(), "no limit applies");
  EXPECT_EQ(out[2]->decision().decision(), v1::RELEASE);
  EXPECT_EQ(out[3]->decision().decision(), v1::SUPPRESS);
  EXPECT_TRUE(out[4]->decision().duplicate());
  EXPECT_EQ(out[4]->record().event_id(), "a");
  EXPECT_EQ(out[4]->record().source(), "kafka");
}

TEST_F(DecisionServiceTest, NoPolicyIsFailedPrecondition) {
  PolicyHolder empty;
  DecisionService service(empty, store_, clock_, hasher_);
  EXPECT_TRUE(absl::IsFailedPrecondition(service.Decide(MakeEvent("a"), {}).status()));
}


// Event ids (README "Event ids"): every event is deduped by the store, also one whose plan counts nothing; an id
// names one message, and its reuse for another message is refused on both paths.
TEST_F(DecisionServiceTest, EventWithoutLimitsIsDedupedToo) {
  absl::StatusOr<Decided> first = service_.Decide(MakeEvent("svc-1", v1::SERVICE), {});  // no rule matches SERVICE
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->decision().decision(), v1::RELEASE);
  EXPECT_FALSE(first->decision().duplicate());
  absl::StatusOr<Decided> again = service_.Decide(MakeEvent("svc-1", v1::SERVICE), {});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->decision().decision(), v1::RELEASE);
  EXPECT_TRUE(again->decision().duplicate()) << "a reused id of a plan without limits got a fresh decision";
}

TEST_F(DecisionServiceTest, ReusedEventIdForAnotherMessageIsInvalid) {
  ASSERT_TRUE(service_.Decide(MakeEvent("reuse"), {})->decision().decision() == v1::RELEASE);
  Event other_class = MakeEvent("reuse", v1::SERVICE);
  absl::StatusOr<Decided> d = service_.Decide(other_class, {.field_prefix = "event."});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.status().message(), "event.event_id: already used for a different message (message_class differs)");
  Event other_channel = MakeEvent("reuse");
  other_channel.channel = v1::SMS;
  other_channel.campaign_id = "spring";
  EXPECT_EQ(service_.Decide(other_channel, {}).status().message(),
            "event_id: already used for a different message (channel, campaign_id differ)");
  // The same message again gets its earlier decision; the same id of another customer is another message.
  EXPECT_TRUE(service_.Decide(MakeEvent("reuse"), {})->decision().duplicate());
  Event other_customer = MakeEvent("reuse", v1::SERVICE);
  other_customer.customer_id = "sam@example.com";
  EXPECT_FALSE(service_.Decide(other_customer, {})->decision().duplicate());
  // A transactional message (no store need) reusing a decided id is refused too, not released afresh.
  ASSERT_TRUE(service_.Decide(MakeEvent("svc-2", v1::SERVICE), {}).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(service_.Decide(MakeEvent("svc-2", v1::TRANSACTIONAL), {}).status()));
}

TEST_F(DecisionServiceTest, MarkerWithoutFingerprintMatchesAnyEvent) {
  // A marker an earlier version stored ("m2;", no fingerprint) for event "old": a redelivery gets that decision,
  // whatever its class.
  const std::shared_ptr<const policy::Policy> pol = policies_.Get();
  const Event e = MakeEvent("old");
  const policy::Plan plan = policy::PlanEvent(*pol, e, clock_.Now());
  const std::string m2 = EncodeMarker({.policy_version = "v0", .policy_digest = "d0", .plan = plan});
  ASSERT_TRUE(m2.starts_with("m2;"));
  const store::CustomerCheck check{.tenant = e.tenant, .customer_id = e.customer_id, .event_id = e.event_id,
                                   .now = clock_.Now(), .spec = ToCheckSpec(plan), .marker = m2};
  ASSERT_TRUE(store_.CheckAndReserve({&check, 1}, clock_.Now() + absl::Seconds(1)).ok());
  absl::StatusOr<Decided> d = service_.Decide(MakeEvent("old", v1::SERVICE), {});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->decision().duplicate());
  EXPECT_EQ(d->decision().policy_version(), "v0");
}

TEST_F(DecisionServiceTest, StoreDownDecidesAPlanWithoutLimitsFromThePlanDegraded) {
  UnreachableStore down;
  DecisionService service(policies_, down, clock_, hasher_, {.fail_open_classes = {}});  // every class fails closed
  absl::StatusOr<Decided> d = service.Decide(MakeEvent("svc", v1::SERVICE), {});
  ASSERT_TRUE(d.ok()) << d.status();  // as before the dedupe: nothing to count, so no store dependency
  EXPECT_EQ(d->decision().decision(), v1::RELEASE);
  EXPECT_TRUE(d->decision().degraded());
  EXPECT_TRUE(absl::IsUnavailable(service.Decide(MakeEvent("p"), {}).status()));
}

TEST_F(DecisionServiceTest, UnknownTimeZoneIsInvalidNeverAnotherZone) {
  Event e = MakeEvent("tz");
  e.customer_timezone = "America/Los_Angles";
  absl::StatusOr<Decided> d = service_.Decide(e, {.field_prefix = "event."});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.status().message(), "event.customer_timezone: unknown time zone");
  e.customer_timezone = "America/Los_Angeles";
  EXPECT_TRUE(service_.Decide(e, {}).ok());
}

// Records the deadline of each store call.
class DeadlineStore final : public store::CounterStore {
 public:
  absl::StatusOr<std::vector<store::CheckResult>> CheckAndReserve(std::span<const store::CustomerCheck> checks,
                                                                  absl::Time deadline) override {
    deadlines.push_back(deadline);
    return std::vector<store::CheckResult>(checks.size());
  }
  absl::Status PutSignal(const store::SignalWrite&, absl::Time, absl::Time) override { return absl::OkStatus(); }
  bool Healthy() override { return true; }
  std::vector<absl::Time> deadlines;
};

TEST_F(DecisionServiceTest, StoreDeadlineIsCappedAtOneRoundTrip) {
  DeadlineStore store;
  DecisionService service(policies_, store, clock_, hasher_, {.store_deadline = absl::Milliseconds(250)});
  const absl::Time now = clock_.Now();
  ASSERT_TRUE(service.Decide(MakeEvent("a"), {.deadline = now + absl::Seconds(10)}).ok());  // a gRPC caller's 10 s
  ASSERT_TRUE(service.Decide(MakeEvent("b"), {.deadline = now + absl::Milliseconds(100)}).ok());
  ASSERT_TRUE(service.Decide(MakeEvent("c"), {}).ok());  // none given (Kafka)
  ASSERT_TRUE(service.Explain(MakeEvent("d"), now + absl::Seconds(10)).ok());
  ASSERT_EQ(store.deadlines.size(), 5u);  // Explain: its decision and its trace
  EXPECT_EQ(store.deadlines[0], now + absl::Milliseconds(250));
  EXPECT_EQ(store.deadlines[1], now + absl::Milliseconds(100));
  EXPECT_EQ(store.deadlines[2], now + absl::Milliseconds(250));
  EXPECT_EQ(store.deadlines[3], now + absl::Milliseconds(250));
  EXPECT_EQ(store.deadlines[4], now + absl::Milliseconds(250));
}

}  // namespace
}  // namespace tact::decision
