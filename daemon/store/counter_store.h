#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/policy/evaluate.h"

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

struct CheckResult {
  bool duplicate = false;
  std::string marker;              // on duplicate: the marker stored with the earlier decision
  policy::StoreOutcome outcome;    // on duplicate: the outcome stored with the earlier decision
};

// The port the decision service needs from the counter backend.
// Thread-safety: implementations are safe to call concurrently from any thread.
class CounterStore {
 public:
  virtual ~CounterStore() = default;
  // Results follow `checks` order. Each check is atomic on its own. UNAVAILABLE if the backend cannot be
  // reached or missed `deadline`: effects unknown, retrying is safe (dedupe by event_id).
  virtual absl::StatusOr<std::vector<CheckResult>> CheckAndReserve(std::span<const CustomerCheck> checks,
                                                                   absl::Time deadline) = 0;
  // Cheap reachability probe for readiness.
  virtual bool Healthy() = 0;
};
using CounterStorePtr = std::unique_ptr<CounterStore>;

// Decision markers live this long: longer than Kafka's redelivery horizon for uncommitted offsets.
inline constexpr absl::Duration kDefaultSeenTtl = absl::Hours(72);

}  // namespace tact::store
