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
  CampaignGate* campaign_gate = nullptr;  // borrowed; nullptr = no gate
};

// The one decision path shared by the Kafka pipeline and the gRPC API: evaluate the policy (pure), apply the
// plan in the store (atomic, idempotent), build the decision and its audit record.
// Errors: FAILED_PRECONDITION without a policy; UNAVAILABLE / DEADLINE_EXCEEDED when the store failed and the
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
  absl::StatusOr<v1::ExplainResponse> Explain(const Event& event, absl::Time deadline = absl::InfiniteFuture());

  const CustomerHasher& hasher() const { return hasher_; }

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
