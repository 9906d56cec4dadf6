#pragma once

// The decision path in three steps (DecisionService runs them; BatchSequencer chains them across batches):
//   PrepareBatch  gate, policy evaluation, markers: the store checks to make (no counter store involved)
//   the store     CounterStore::CheckAndReserve(prepared.checks, prepared.deadline), when there are checks
//   FinishBatch   outage / fail-open, duplicates, the Decision proto and the audit record (no counter store call)
// Both steps are pure apart from the campaign gate port (campaign::GateEnforcer), which they call only when one is
// given, and the policy archive (PolicyArchive::Find: a store read), which FinishBatch asks only for a duplicate
// decided under a policy that is not the current one and not in the archive's memory.
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/core/customer_hash.h"
#include "daemon/core/event.h"
#include "daemon/decision/campaign_gate.h"
#include "daemon/decision/marker.h"
#include "daemon/decision/policy_archive.h"
#include "daemon/policy/evaluate.h"
#include "daemon/store/counter_store.h"
#include "google/protobuf/arena.h"
#include "tact/v1/decision.pb.h"

namespace tact::decision {

struct DecideOptions {
  bool dry_run = false;
  std::string source;           // "kafka" | "grpc"
  std::string source_position;  // topic[partition]@offset on the Kafka path
  std::string client;           // gRPC: the authenticated client's name, or "anonymous"; empty on the Kafka path
  absl::Time deadline = absl::InfiniteFuture();  // store deadline; InfiniteFuture = the service default
  // Build Decided::record (the audit record for tact.decisions). Callers that only answer with the decision
  // (a gRPC dry run, or grpc.record_decisions off) skip it: no keyed hash, no copy of the decision.
  bool record = true;
  // Prepended to field names in INVALID_ARGUMENT errors of the decision path ("event." over gRPC).
  std::string field_prefix;
};

// One event to decide. `event` is borrowed until its batch is finished.
struct DecisionRequest {
  const Event* event = nullptr;
  DecideOptions options;
};

// A decision and, with DecideOptions::record, its audit record. The decision lives in the record (record.decision),
// built once: it was copied into the record and both freed, ~4% of tactd's CPU per Kafka event.
// The record is its own, or on a protobuf arena that a batch's records share (kArenaBatch): a record is ~40 messages
// and strings, each allocated and freed alone otherwise (~5% of tactd's CPU per Kafka event). The arena lives while
// one of them does. Copies are deep; moving a record's message to one that is not on its arena copies it. A Decided
// moved from has no record: it may only be assigned or destroyed.
class Decided {
 public:
  Decided();
  explicit Decided(std::shared_ptr<google::protobuf::Arena> arena);
  Decided(const Decided& other);
  Decided& operator=(const Decided& other);
  Decided(Decided&&) noexcept = default;
  Decided& operator=(Decided&&) noexcept = default;
  ~Decided() = default;

  // Without DecideOptions::record, only its decision is set.
  v1::DecisionRecord& record() { return *record_; }
  const v1::DecisionRecord& record() const { return *record_; }
  const v1::Decision& decision() const { return record_->decision(); }
  v1::Decision& decision() { return *record_->mutable_decision(); }

 private:
  std::shared_ptr<google::protobuf::Arena> arena_;  // null: the record is `owned_`
  std::unique_ptr<v1::DecisionRecord> owned_;
  v1::DecisionRecord* record_;
};

// Batches of at least this many requests put their records on one arena: the Kafka path's. gRPC calls are decided
// alone or a few together, and move their decisions into their answers, which a record on an arena would copy.
inline constexpr size_t kArenaBatch = 16;
using DecidedBatch = std::vector<absl::StatusOr<Decided>>;
using StoreResults = absl::StatusOr<std::vector<store::CheckResult>>;

// What every step of one batch reads.
struct BatchContext {
  std::shared_ptr<const policy::Policy> policy;  // nullptr: every event is FAILED_PRECONDITION
  absl::Time now;                                // the batch's decision time
  absl::Duration store_deadline = absl::Milliseconds(250);  // cap on one store round-trip
  const std::set<MessageClass>* fail_open_classes = nullptr;  // borrowed; nullptr = none
  campaign::GateEnforcer* campaign_gate = nullptr;                   // borrowed; nullptr = no gate
  const CustomerHasher* hasher = nullptr;                     // borrowed; needed for audit records
  // Borrowed; finds the policy a duplicate's "m4;" marker names when it is not `policy` (nullptr: none, such a
  // duplicate gets its earlier verdict from the stored outcome alone: earlier_decision.h).
  PolicyArchive* archive = nullptr;
};

// A batch evaluated and ready for its store call. Not copyable: `checks` point into `plans`.
struct PreparedBatch {
  PreparedBatch(BatchContext context, std::span<const DecisionRequest> requests);
  PreparedBatch(PreparedBatch&&) = default;
  PreparedBatch(const PreparedBatch&) = delete;
  PreparedBatch& operator=(const PreparedBatch&) = delete;

  // What the store call of one check is for.
  struct CheckOf {
    size_t request = 0;        // index into `requests`
    bool gate_held = false;    // its campaign's gate defers it: the store only looks (a dry run), never decides
    bool dedupe_only = false;  // its plan counts and reads nothing: the store only dedupes it
  };

  BatchContext context;
  std::span<const DecisionRequest> requests;
  DecidedBatch out;                 // per request: its error or decision so far (gate DEFER, refusals)
  std::vector<policy::Plan> plans;  // per request (empty for a refused one); never reallocated after Prepare
  PlanHashMemo plan_hashes;         // the markers' PlanHash, once per run of equal plans
  std::vector<store::CustomerCheck> checks;  // the store call: empty = none
  std::vector<CheckOf> check_of;             // per check
  absl::Time deadline = absl::InfiniteFuture();  // the store call's deadline
  absl::Status gate_outage;  // an outage of the campaign gate that left a fail-closed event undecided
  std::unique_ptr<GateBatch> gates;
  std::chrono::steady_clock::time_point started;  // for the decision latency (set by DecisionService)
};

// Evaluates every request and lists the store checks to make. `requests` must outlive the result.
PreparedBatch PrepareBatch(BatchContext context, std::span<const DecisionRequest> requests);

// The decisions of a prepared batch from its store call's `results` (ignored when there were no checks),
// with the campaign gate settled and the audit records built; results follow `prepared.requests`.
DecidedBatch FinishBatch(PreparedBatch& prepared, StoreResults results);

// True when a store failure `failure` (an outage) leaves a fail-closed event of `prepared` undecided: the
// Kafka path then holds that event, and every later one of its partition, until the store is back. Fail-open
// events, gate-held ones and those with nothing to count are decided even then.
bool LeavesUndecided(const PreparedBatch& prepared, const absl::Status& failure);
// The store failure that leaves a fail-closed event of `prepared` undecided (the call's, or one check's when only
// some failed: a Redis Cluster node down), OK when there is none.
absl::Status UndecidedFailure(const PreparedBatch& prepared, const StoreResults& results);

std::string_view DecisionName(v1::DecisionKind kind);

}  // namespace tact::decision
