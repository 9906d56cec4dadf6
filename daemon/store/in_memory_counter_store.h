#pragma once

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "daemon/store/counter_store.h"

namespace tact::store {

// The same semantics as the Redis store, in process memory. Used by unit tests and `tactctl simulate`.
// Thread-safety: any thread (one mutex).
class InMemoryCounterStore final : public CounterStore {
 public:
  absl::StatusOr<std::vector<CheckResult>> CheckAndReserve(std::span<const CustomerCheck> checks,
                                                           absl::Time deadline) override;
  bool Healthy() override { return true; }

 private:
  struct Seen {
    std::string marker;
    policy::StoreOutcome outcome;
  };
  CheckResult CheckOne(const CustomerCheck& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::map<std::string, std::multimap<absl::Time, std::string>> windows_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Seen> seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tact::store
