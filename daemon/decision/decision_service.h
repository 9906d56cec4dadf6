#pragma once

#include <future>
#include <set>
#include <span>
#include <vector>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/core/event.h"
#include "daemon/decision/campaign_gate.h"
#include "daemon/decision/decision_stats.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/store/counter_store.h"
#include "tact/v1/decision.pb.h"
#include "tact/v1/throttle.pb.h"

namespace tact::decision {

struct DecideOptions {
  bool dry_run = false;
  std::string source;           // "kafka" | "grpc"
  std::string source_position;  // topic[partition]@offset on the Kafka path
  absl::Time deadline = absl::InfiniteFuture();  // store deadline; InfiniteFuture = the service default
  // Build Decided::record (the audit record for tact.decisions). Callers that only answer with the decision
  // (gRPC Check) skip it: no keyed hash, no copy of the decision.
  bool record = true;
  // Prepended to field names in INVALID_ARGUMENT errors of the decision path ("event." over gRPC).
  std::string field_prefix;
};

struct Decided {
  v1::Decision decision;
  v1::DecisionRecord record;
};

struct DecisionServiceOptions {
  absl::Duration store_deadline = absl::Milliseconds(250);
  // Classes released (marked degraded) when the store is unreachable; every other class fails closed
  // (UNAVAILABLE on gRPC, held and retried on the Kafka path).
  std::set<MessageClass> fail_open_classes = {v1::TRANSACTIONAL};
  DecisionStats* stats = nullptr;  // borrowed; nullptr = not measured
  // Campaign release gate (campaign_gate.h): events of gated campaigns are released only within their plan.
  campaign::GateEnforcer* campaign_gate = nullptr;  // borrowed; nullptr = no gate
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

  // Many events in one store round-trip; results follow `events` order. Events of one customer are decided
  // in the order given. The store deadline is the earliest of the events' deadlines.
  struct Request {
    const Event* event = nullptr;
    DecideOptions options;
  };
  // Orders the store steps of batches decided side by side (the Kafka pipeline prepares batch N+1 while batch N's
  // store call runs): a batch's store call is sent only once the previous batch's has returned, and not at all
  // when an outage (UNAVAILABLE or DEADLINE_EXCEEDED, from the store or the campaign gate) left a fail-closed
  // event of that one undecided; its checks then fail UNAVAILABLE too, so no later event of a customer is decided
  // before an earlier one. A batch of only fail-open events stops nothing (they are decided, degraded); a batch
  // without a store step passes the previous outcome on.
  struct BatchOrder {
    std::shared_future<absl::Status> after;  // the previous batch's `done`; not valid(): there is none
    std::promise<absl::Status> done;         // set once by DecideBatch: OK, or the outage that stops later batches
  };
  std::vector<absl::StatusOr<Decided>> DecideBatch(std::span<const Request> requests, BatchOrder* order = nullptr);

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
  std::vector<absl::StatusOr<Decided>> DecideBatchUnmeasured(std::span<const Request> requests, BatchOrder* order);
  void Measure(const Request& request, const absl::StatusOr<Decided>& result, double seconds);

  const PolicyHolder& policies_;
  store::CounterStore& store_;
  const Clock& clock_;
  const CustomerHasher& hasher_;
  const DecisionServiceOptions options_;
};

std::string_view DecisionName(v1::DecisionKind kind);

}  // namespace tact::decision
