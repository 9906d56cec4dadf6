#include "daemon/decision/decision_stats.h"

namespace tact::decision {

void PolicyMetrics::Loaded(const policy::Policy& policy) {
  absl::MutexLock lock(&mu_);
  if (loaded_) {
    stats_.policy_info.Remove({version_, digest_});
  }
  version_ = policy.version;
  digest_ = policy.digest;
  loaded_ = true;
  stats_.policy_info.Set({version_, digest_}, 1);
  stats_.policy_rules.Set({}, static_cast<double>(policy.rules.size()));
  stats_.policy_loaded.Set({}, 1);
  stats_.policy_reloads_total.Inc({"ok"});
}

void PolicyMetrics::LoadFailed() {
  absl::MutexLock lock(&mu_);
  stats_.policy_reloads_total.Inc({"failed"});
  if (loaded_) {  // a failed first load is a start-up failure, not a rejected reload
    stats_.policy_reload_failures_total.Inc({});
  }
}

}  // namespace tact::decision
