#include "daemon/store/in_memory_counter_store.h"

#include "daemon/store/keys.h"

namespace tact::store {

absl::StatusOr<std::vector<CheckResult>> InMemoryCounterStore::CheckAndReserve(std::span<const CustomerCheck> checks,
                                                                               absl::Time /*deadline*/) {
  absl::MutexLock lock(&mu_);
  std::vector<CheckResult> out;
  out.reserve(checks.size());
  for (const CustomerCheck& c : checks) {
    out.push_back(CheckOne(c));
  }
  return out;
}

CheckResult InMemoryCounterStore::CheckOne(const CustomerCheck& c) {
  const std::string prefix = CustomerPrefix(c.tenant, c.customer_id);
  const std::string seen_key = SeenKey(prefix, c.event_id);
  if (auto it = seen_.find(seen_key); it != seen_.end()) {
    return CheckResult{.duplicate = true, .marker = it->second.marker, .outcome = it->second.outcome};
  }
  CheckResult r;
  const policy::Plan& plan = *c.plan;
  for (size_t i = 0; i < plan.limits.size(); ++i) {
    const policy::LimitCheck& l = plan.limits[i];
    auto& window = windows_[prefix + l.counter];
    window.erase(window.begin(), window.upper_bound(c.now - l.window));
    policy::LimitUsage u{.used = static_cast<int64_t>(window.size())};
    if (u.used >= l.count) {
      auto it = window.begin();
      std::advance(it, u.used - l.count);
      u.frees_at = it->first + l.window;
      if (r.outcome.first_exceeded < 0 && !l.shadow) {
        r.outcome.first_exceeded = static_cast<int>(i);
      }
    }
    r.outcome.usage.push_back(u);
  }
  if (c.dry_run) {
    return r;
  }
  const bool released = r.outcome.first_exceeded < 0;
  if (released) {
    for (const policy::LimitCheck& l : plan.limits) {
      windows_[prefix + l.counter].emplace(c.now, c.event_id);
    }
  }
  if (released || plan.limits[r.outcome.first_exceeded].on_exceed == policy::OnExceed::kSuppress) {
    seen_[seen_key] = Seen{c.marker, r.outcome};
  }
  return r;
}

}  // namespace tact::store
