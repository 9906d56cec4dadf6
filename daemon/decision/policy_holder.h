#pragma once

#include <memory>

#include "absl/synchronization/mutex.h"
#include "daemon/policy/policy.h"

namespace tact::decision {

// The active policy as an immutable snapshot. Readers keep the snapshot they got for the whole decision; a
// reload swaps in a fully built policy or nothing. Thread-safety: any thread.
class PolicyHolder {
 public:
  std::shared_ptr<const policy::Policy> Get() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return current_;
  }
  void Set(std::shared_ptr<const policy::Policy> next) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    current_ = std::move(next);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const policy::Policy> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tact::decision
