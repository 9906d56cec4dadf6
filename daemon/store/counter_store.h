#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/policy/evaluate.h"
#include "daemon/policy/signals.h"

namespace tact::store {

// One customer's atomic dedupe + check + reserve.
struct CustomerCheck {
  std::string tenant;
  std::string customer_id;
  std::string event_id;
  absl::Time now;
  const policy::Plan* plan = nullptr;  // borrowed for the duration of the call
  // Decide without writing anything (gRPC dry_run).
  bool dry_run = false;
  // Opaque text stored with a final decision (RELEASE or SUPPRESS) and returned when the same event_id
  // comes again, so the earlier decision can be rebuilt exactly.
  std::string marker;
};

// What the store does for one check (both stores implement exactly this; see check.lua):
//  1. an event_id decided before returns that decision's outcome and marker (duplicate);
//  2. every signal check of the plan is evaluated against the customer's live signal fields;
//  3. every limit's usage is read (rolling: sorted set pruned to the window; calendar: the period's counter);
//  4. when policy::ShouldReserve holds and it is not a dry run, the event is counted in every limit;
//  5. when policy::IsFinal holds (RELEASE or SUPPRESS) and it is not a dry run, the marker is stored.
struct CheckResult {
  bool duplicate = false;
  std::string marker;              // on duplicate: the marker stored with the earlier decision
  policy::StoreOutcome outcome;    // on duplicate: the outcome stored with the earlier decision
};

// The counters of one limit rule: every counter whose suffix is `prefix` ("r:<rule>" / "c:<rule>") or starts
// with `prefix` + ':' (a scope value, a calendar period).
struct CounterFamily {
  std::string rule_id;
  std::string prefix;
  policy::WindowKind kind = policy::WindowKind::kRolling;
  absl::Duration window;  // rolling: the window its usage is counted in
};

struct CustomerRead {
  std::string tenant;
  std::string customer_id;
  absl::Time now;
  std::vector<CounterFamily> families;
};

struct CounterState {
  std::string rule_id;
  std::string counter;  // key suffix
  int64_t used = 0;
  // Rolling: when the oldest counted message leaves the window; calendar: the period end.
  absl::Time frees_at = absl::InfinitePast();
};

struct SignalState {
  std::string field;
  absl::Time at;
  absl::Time expires_at = absl::InfiniteFuture();  // InfiniteFuture = until ended
};

// Counters sorted by suffix (only those with used > 0); signals sorted by field (only live ones).
struct CustomerState {
  std::vector<CounterState> counters;
  std::vector<SignalState> signals;
};

// The counter index: the customer's hash `idx` (field = counter suffix, value = ms when that counter is empty
// again: the last reservation + window, or the calendar period end), written when the store reserves.
// True when `suffix` belongs to `family`.
inline bool InFamily(std::string_view suffix, const CounterFamily& family) {
  return suffix.starts_with(family.prefix) &&
         (suffix.size() == family.prefix.size() || suffix[family.prefix.size()] == ':');
}

// The port the decision service needs from the counter backend.
// Thread-safety: implementations are safe to call concurrently from any thread.
class CounterStore {
 public:
  virtual ~CounterStore() = default;
  // Results follow `checks` order. Each check is atomic on its own. UNAVAILABLE if the backend cannot be
  // reached or missed `deadline` (an outage, daemon/core/outage.h): effects unknown, retrying is safe (dedupe by
  // event_id).
  virtual absl::StatusOr<std::vector<CheckResult>> CheckAndReserve(std::span<const CustomerCheck> checks,
                                                                   absl::Time deadline) = 0;
  // Records a customer signal (CSAT, complaint opened/closed, escalation, callback, opt-out) in the customer's
  // signal hash; the hash expires with its last field. INVALID_ARGUMENT for an incomplete signal.
  virtual absl::Status PutSignal(const policy::Signal& signal, absl::Time now, absl::Time deadline) = 0;
  // Reads one customer's live counters (those of `families` with something counted in their window, by counter
  // suffix) and live signals, without writing anything and without scanning the keyspace (the customer's
  // counter index lists the suffixes). UNAVAILABLE / DEADLINE_EXCEEDED as CheckAndReserve.
  virtual absl::StatusOr<CustomerState> ReadCustomer(const CustomerRead& read, absl::Time deadline);
  // Cheap reachability probe for readiness.
  virtual bool Healthy() = 0;
};
using CounterStorePtr = std::unique_ptr<CounterStore>;

inline absl::StatusOr<CustomerState> CounterStore::ReadCustomer(const CustomerRead&, absl::Time) {
  return absl::UnimplementedError("this counter store cannot read customer state");
}

// Plan values as the stores use them (integer milliseconds, as check.lua receives them).
inline int64_t SinceMs(const policy::SignalCheck& s) {
  return s.since == absl::InfinitePast() ? 0 : absl::ToUnixMillis(s.since);
}
inline int64_t PeriodEndMs(const policy::LimitCheck& l) {
  return l.period_end == absl::InfinitePast() ? 0 : absl::ToUnixMillis(l.period_end);
}
// 0 none, 1 defer, 2 suppress: the first enforcing quiet hold in force.
inline int QuietCode(const policy::Plan& plan) {
  const policy::QuietHold* q = plan.DecisiveQuiet();
  return q == nullptr ? 0 : (q->on_exceed == policy::OnExceed::kSuppress ? 2 : 1);
}

// Decision markers live this long: longer than Kafka's redelivery horizon for uncommitted offsets.
inline constexpr absl::Duration kDefaultSeenTtl = absl::Hours(72);

}  // namespace tact::store
