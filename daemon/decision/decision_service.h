#pragma once

#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/core/event.h"
#include "daemon/decision/decision_stats.h"
#include "daemon/decision/decision_steps.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/store/counter_store.h"
#include "tact/v1/decision.pb.h"
#include "tact/v1/throttle.pb.h"

namespace tact::decision {

struct DecisionServiceOptions {
  absl::Duration store_deadline = absl::Milliseconds(250);
  // Classes released (marked degraded) when the store is unreachable; every other class fails closed
  // (UNAVAILABLE on gRPC, held and retried on the Kafka path).
  std::set<MessageClass> fail_open_classes = {v1::TRANSACTIONAL};
  DecisionStats* stats = nullptr;  // borrowed; nullptr = not measured
  // Campaign release gate (campaign_gate.h): events of gated campaigns are released only within their plan.
  campaign::GateEnforcer* campaign_gate = nullptr;  // borrowed; nullptr = no gate
  // The policies earlier decisions were made under (a redelivered event decided under another policy): borrowed;
  // nullptr = only the current policy (others get their earlier verdict without its rules).
  PolicyArchive* archive = nullptr;
};

// The one decision path shared by the Kafka pipeline and the gRPC API: evaluate the policy (pure), apply the
// plan in the store (atomic, idempotent), build the decision and its audit record.
// Every event goes through the store's dedupe by event_id, also one whose plan counts and reads nothing (such
// an event is decided from its plan alone, marked degraded, when the store is unreachable). An event_id names
// one message of one (tenant, customer): a reuse for the same message gets the earlier final decision
// (duplicate); a reuse with another message_class, channel or campaign_id is INVALID_ARGUMENT on event_id.
// The store deadline is the earlier of the request's deadline and now + store_deadline (now: when the batch is
// decided), so a caller's long deadline never holds a call at a stalled store for longer than one round-trip's.
// Errors: FAILED_PRECONDITION without a policy; INVALID_ARGUMENT for an unknown customer_timezone or a reused
// event_id; UNAVAILABLE / DEADLINE_EXCEEDED when the store failed and the
// class fails closed (by default everything but TRANSACTIONAL, which is released and marked degraded).
// Thread-safety: any thread.
class DecisionService {
 public:
  DecisionService(const PolicyHolder& policies, store::CounterStore& store, const Clock& clock,
                  const CustomerHasher& hasher, DecisionServiceOptions options = {});

  absl::StatusOr<Decided> Decide(const Event& event, const DecideOptions& options);

  // Many events in one store round-trip: PrepareBatch, CounterStore::CheckAndReserve, FinishBatch
  // (decision_steps.h); results follow `requests` order. Events of one customer are decided in the order given.
  // The store deadline is the earliest of the events' deadlines. Batches decided side by side are not ordered
  // among each other: BatchSequencer (batch_sequencer.h) orders consecutive batches.
  using Request = DecisionRequest;
  DecidedBatch DecideBatch(std::span<const Request> requests);

  // The steps of DecideBatch, for BatchSequencer: Prepare (policy snapshot, decision time, campaign gate), the
  // store call (none without checks) and Finish (measured from Prepare on). `requests` must outlive the batch.
  PreparedBatch Prepare(std::span<const Request> requests);
  StoreResults CallStore(const PreparedBatch& prepared);
  DecidedBatch Finish(PreparedBatch& prepared, StoreResults results);

  // The decision Decide would make now for `event` (the same path, campaign gate included, always as a dry run
  // against the customer's live state: nothing is reserved or recorded), and one trace line per rule of the
  // active policy in evaluation order: matched rules say what they checked against the store, the others why they
  // did not match. A duplicate event_id explains the earlier decision. Errors as Decide. `deadline`
  // InfiniteFuture = the service default.
  absl::StatusOr<v1::ExplainResponse> Explain(const Event& event, absl::Time deadline = absl::InfiniteFuture(),
                                              std::string_view field_prefix = "");

  const CustomerHasher& hasher() const { return hasher_; }
  const Clock& clock() const { return clock_; }

 private:
  // Counts `request` in the batch's `waited` (source) and `decided` (source, decision, rule) label sets; the rarer
  // series (errors, duplicates, fail-open) at once.
  void Measure(const Request& request, const absl::StatusOr<Decided>& result, ops::LabelCounts& waited,
               ops::LabelCounts& decided);

  const PolicyHolder& policies_;
  store::CounterStore& store_;
  const Clock& clock_;
  const CustomerHasher& hasher_;
  const DecisionServiceOptions options_;
};

}  // namespace tact::decision
