#pragma once

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "daemon/ops/metrics.h"
#include "daemon/policy/policy.h"

namespace tact::decision {

// Label values: source ∈ {kafka, grpc}; decision ∈ {RELEASE, DEFER, SUPPRESS, EXPIRED}; rule = a rule id of the
// active policy or "none"; class = MessageClass name; code = absl status code name. Dry runs are not counted in
// decisions_total (they decide nothing).
#define TACT_DECISION_STATS(COUNTER, GAUGE, HISTOGRAM)                                                          \
  COUNTER(decisions_total, "Decisions made, by outcome and deciding rule", (source, decision, rule))            \
  COUNTER(decision_errors_total, "Events that could not be decided (fail-closed store outage, no policy)",      \
          (source, code))                                                                                        \
  COUNTER(duplicate_decisions_total, "Redelivered events answered with the decision already made", (source))    \
  COUNTER(fail_open_total, "Fail-open classes released unchecked while the store was unavailable", (class))     \
  HISTOGRAM(decision_duration_seconds, "Time to decide one event, store round-trip included", (source))
TACT_STATS_STRUCT(DecisionStats, TACT_DECISION_STATS);

// The active policy and its reloads. policy_info carries only the active version (the previous one is removed).
#define TACT_POLICY_STATS(COUNTER, GAUGE, HISTOGRAM)                                                            \
  COUNTER(policy_reloads_total, "Policy loads and reloads, by result (ok, failed)", (result))                    \
  COUNTER(policy_reload_failures_total, "Policy reloads rejected; the last good policy kept serving", ())       \
  GAUGE(policy_info, "The active policy (value 1), by version and content digest", (version, digest))           \
  GAUGE(policy_rules, "Rules in the active policy", ())                                                          \
  GAUGE(policy_loaded, "1 once a policy is loaded", ())
TACT_STATS_STRUCT(PolicyStats, TACT_POLICY_STATS);

// Records policy loads into PolicyStats. Thread-safety: any thread.
class PolicyMetrics {
 public:
  explicit PolicyMetrics(prometheus::Registry& registry) : stats_(registry) {}
  void Loaded(const policy::Policy& policy) ABSL_LOCKS_EXCLUDED(mu_);
  void LoadFailed() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  PolicyStats stats_;
  absl::Mutex mu_;
  std::string version_ ABSL_GUARDED_BY(mu_);
  std::string digest_ ABSL_GUARDED_BY(mu_);
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tact::decision
