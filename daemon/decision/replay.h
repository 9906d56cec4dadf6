#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/policy/signals.h"
#include "daemon/store/counter_store.h"

namespace tact::decision {

// Decides events at chosen times against a store, through the same DecisionService code tactd runs: the engine
// behind `tactctl test`, `tactctl explain`, `tactctl simulate` and the store semantics tests.
// Thread-safety: not thread-safe, one per thread.
class Replayer {
 public:
  Replayer(std::shared_ptr<const policy::Policy> policy, store::CounterStore& store);

  absl::StatusOr<Decided> Decide(const Event& event, absl::Time at, bool dry_run = false);
  absl::Status PutSignal(const policy::Signal& signal, absl::Time at);

  // The pure pieces of the last decision, for explanations.
  const policy::Policy& policy() const { return *policy_; }

 private:
  std::shared_ptr<const policy::Policy> policy_;
  store::CounterStore& store_;
  FakeClock clock_{absl::UnixEpoch()};
  PolicyHolder holder_;
  CustomerHasher hasher_{"tact-offline-replay"};
  DecisionService service_;
};

}  // namespace tact::decision
