#include "daemon/decision/decision_steps.h"

#include <gtest/gtest.h>

#include "daemon/decision/marker.h"
#include "tests/unit/decision/decision_test_support.h"

// PrepareBatch and FinishBatch without a store: the store results are made up here.
namespace tact::decision {
namespace {

using test_support::MakeEvent;
using test_support::ParseTestPolicy;

class DecisionStepsTest : public ::testing::Test {
 protected:
  BatchContext Context() {
    return {.policy = policy_,
            .now = now_,
            .store_deadline = absl::Milliseconds(250),
            .fail_open_classes = &fail_open_,
            .hasher = &hasher_};
  }
  std::vector<DecisionRequest> Requests(const std::vector<const Event*>& events, DecideOptions options = {}) {
    std::vector<DecisionRequest> out;
    for (const Event* e : events) out.push_back({e, options});
    return out;
  }

  const absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::shared_ptr<const policy::Policy> policy_ = ParseTestPolicy(test_support::kTwoPerWeekPolicy);
  std::set<MessageClass> fail_open_ = {v1::TRANSACTIONAL};
  CustomerHasher hasher_{"k"};
};

TEST_F(DecisionStepsTest, PrepareListsTheChecksWithMarkersAndTheCappedDeadline) {
  Event bad_zone = MakeEvent("tz");
  bad_zone.customer_timezone = "Mars/Olympus";
  const Event promo = MakeEvent("p");
  const Event service = MakeEvent("s", v1::SERVICE);  // no rule matches: dedupe only
  std::vector<DecisionRequest> requests = Requests({&bad_zone, &promo, &service});
  requests[1].options.deadline = now_ + absl::Milliseconds(100);
  requests[2].options.dry_run = true;
  PreparedBatch p = PrepareBatch(Context(), requests);
  ASSERT_EQ(p.checks.size(), 2u);
  EXPECT_EQ(p.out[0].status().message(), "customer_timezone: unknown time zone");
  EXPECT_EQ(p.checks[0].event_id, "p");
  EXPECT_FALSE(p.checks[0].dry_run);
  EXPECT_TRUE(DecodeMarker(p.checks[0].marker).ok());
  ASSERT_FALSE(p.plans[1].limits.empty());
  ASSERT_EQ(p.checks[0].spec.limits.size(), p.plans[1].limits.size());
  EXPECT_EQ(p.checks[0].spec.limits[0].counter.data(), p.plans[1].limits[0].counter.data());  // borrowed
  EXPECT_TRUE(p.checks[1].dry_run);
  EXPECT_TRUE(p.checks[1].marker.empty());  // a dry run stores nothing
  EXPECT_EQ(p.check_of[0].request, 1u);
  EXPECT_FALSE(p.check_of[0].dedupe_only);
  EXPECT_TRUE(p.check_of[1].dedupe_only);
  EXPECT_EQ(p.deadline, now_ + absl::Milliseconds(100));
}

TEST_F(DecisionStepsTest, PrepareWithoutAPolicyIsFailedPreconditionAndChecksNothing) {
  const Event promo = MakeEvent("p");
  BatchContext context = Context();
  context.policy = nullptr;
  const std::vector<DecisionRequest> requests = Requests({&promo});
  PreparedBatch p = PrepareBatch(context, requests);
  EXPECT_TRUE(p.checks.empty());
  EXPECT_TRUE(absl::IsFailedPrecondition(FinishBatch(p, std::vector<store::CheckResult>())[0].status()));
}

TEST_F(DecisionStepsTest, FinishOnAnOutageFailsClosedExceptFailOpenClassesAndPlansWithoutStoreNeeds) {
  const Event promo = MakeEvent("p");
  const Event receipt = MakeEvent("r", v1::TRANSACTIONAL);
  const Event service = MakeEvent("s", v1::SERVICE);
  const std::vector<DecisionRequest> requests = Requests({&promo, &receipt, &service});
  PreparedBatch p = PrepareBatch(Context(), requests);
  const absl::Status outage = absl::UnavailableError("redis: down");
  EXPECT_TRUE(LeavesUndecided(p, outage));
  EXPECT_FALSE(LeavesUndecided(p, absl::InternalError("bad reply")));
  DecidedBatch out = FinishBatch(p, outage);
  EXPECT_EQ(out[0].status(), outage);
  ASSERT_TRUE(out[1].ok());
  EXPECT_EQ(out[1]->decision().decision(), v1::RELEASE);
  EXPECT_EQ(out[1]->decision().reason(), "store unavailable; TRANSACTIONAL fails open");
  EXPECT_TRUE(out[1]->decision().degraded());
  ASSERT_TRUE(out[2].ok());
  EXPECT_EQ(out[2]->decision().decision(), v1::RELEASE);
  EXPECT_TRUE(out[2]->decision().degraded());

  const std::vector<DecisionRequest> open_only = Requests({&receipt, &service});
  EXPECT_FALSE(LeavesUndecided(PrepareBatch(Context(), open_only), outage));
}

// Redis Cluster: one node down fails only its checks (per-check status), each with its class's fail mode.
TEST_F(DecisionStepsTest, FinishOnAPartialFailureAppliesTheFailModeToTheFailedChecksOnly) {
  const Event promo = MakeEvent("p");
  Event other = MakeEvent("q");
  other.customer_id = "other@example.com";
  const Event receipt = MakeEvent("r", v1::TRANSACTIONAL);
  const std::vector<DecisionRequest> requests = Requests({&promo, &other, &receipt});
  PreparedBatch p = PrepareBatch(Context(), requests);
  ASSERT_EQ(p.checks.size(), 3u);
  const absl::Status down = absl::UnavailableError("redis node 10.0.0.2:6379: connect refused");
  std::vector<store::CheckResult> results(3);
  results[0].status = down;
  results[1].outcome.usage.push_back({.used = 0});
  results[2].status = down;
  EXPECT_EQ(UndecidedFailure(p, results), down);  // the Kafka path holds the promotion
  DecidedBatch out = FinishBatch(p, results);
  EXPECT_EQ(out[0].status(), down);
  ASSERT_TRUE(out[1].ok()) << out[1].status();
  EXPECT_EQ(out[1]->decision().decision(), v1::RELEASE);
  EXPECT_FALSE(out[1]->decision().degraded());
  ASSERT_TRUE(out[2].ok());
  EXPECT_TRUE(out[2]->decision().degraded());  // TRANSACTIONAL fails open

  std::vector<store::CheckResult> open_only(3);
  open_only[0].outcome.usage.push_back({.used = 0});
  open_only[1].outcome.usage.push_back({.used = 0});
  open_only[2].status = down;
  EXPECT_TRUE(UndecidedFailure(p, open_only).ok());
  EXPECT_EQ(UndecidedFailure(p, absl::StatusOr<std::vector<store::CheckResult>>(down)), down);
}

TEST_F(DecisionStepsTest, FinishDecidesFromTheOutcomeAndBuildsTheRecord) {
  const Event promo = MakeEvent("p");
  const std::vector<DecisionRequest> requests = Requests({&promo}, {.source = "kafka", .source_position = "t[0]@7"});
  PreparedBatch p = PrepareBatch(Context(), requests);
  store::CheckResult full;
  full.outcome.usage.push_back({.used = 2});
  DecidedBatch out = FinishBatch(p, std::vector<store::CheckResult>{full});
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(out[0]->decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(out[0]->decision().rule_id(), "proactive-2");
  EXPECT_EQ(out[0]->record().decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(out[0]->record().customer_hash(), hasher_.Hash("acme", "maria@example.com"));
  EXPECT_EQ(out[0]->record().source_position(), "t[0]@7");
  EXPECT_EQ(out[0]->record().DebugString().find("maria"), std::string::npos);
}

TEST_F(DecisionStepsTest, PrepareWritesCompactMarkersThatPlanAgainTheSame) {
  const Event promo = MakeEvent("p");
  const std::vector<DecisionRequest> requests = Requests({&promo});
  BatchContext context = Context();
  context.now += absl::Microseconds(999);  // a sub-millisecond decision time
  PreparedBatch p = PrepareBatch(context, requests);
  ASSERT_EQ(p.checks.size(), 1u);
  ASSERT_TRUE(p.checks[0].marker.starts_with("m4;")) << p.checks[0].marker;
  absl::StatusOr<Marker> m = DecodeMarker(p.checks[0].marker);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->decided_at_ms, absl::ToUnixMillis(context.now));
  EXPECT_EQ(m->plan_hash, PlanHash(p.plans[0]));
  EXPECT_EQ(m->policy_digest, policy_->digest);
  EXPECT_EQ(m->fingerprint, FingerprintOf(promo));
}

TEST_F(DecisionStepsTest, FinishRebuildsADuplicateFromItsMarkerAndRefusesAnotherMessage) {
  const Event promo = MakeEvent("p");
  const policy::Plan earlier = policy::PlanEvent(*policy_, promo, now_);
  store::CheckResult dup{.duplicate = true,
                         .marker = EncodeMarker({.policy_version = "v0",
                                                 .policy_digest = "d0",
                                                 .plan = earlier,
                                                 .fingerprint = FingerprintOf(promo)})};
  const std::vector<DecisionRequest> requests = Requests({&promo});
  PreparedBatch p = PrepareBatch(Context(), requests);
  DecidedBatch out = FinishBatch(p, std::vector<store::CheckResult>{dup});
  ASSERT_TRUE(out[0].ok());
  EXPECT_TRUE(out[0]->decision().duplicate());
  EXPECT_EQ(out[0]->decision().policy_version(), "v0");

  const Event other = MakeEvent("p", v1::TRANSACTIONAL);
  const std::vector<DecisionRequest> other_requests = Requests({&other});
  PreparedBatch q = PrepareBatch(Context(), other_requests);
  EXPECT_EQ(FinishBatch(q, std::vector<store::CheckResult>{dup})[0].status().message(),
            "event_id: already used for a different message (message_class differs)");
}

}  // namespace
}  // namespace tact::decision
