#include "daemon/decision/earlier_decision.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact::decision {

std::optional<policy::Plan> EarlierPlan(Marker& marker, const Event& event,
                                        const std::shared_ptr<const policy::Policy>& current, PolicyArchive* archive) {
  if (!marker.decided_at_ms) return std::move(marker.plan);  // the marker holds its plan
  std::shared_ptr<const policy::Policy> pol;
  if (current != nullptr && current->digest == marker.policy_digest) {
    pol = current;
  } else if (archive != nullptr && !marker.policy_digest.empty()) {
    pol = archive->Find(marker.policy_digest);
  }
  if (pol == nullptr) return std::nullopt;
  policy::Plan plan = policy::PlanEvent(*pol, event, absl::FromUnixMillis(*marker.decided_at_ms));
  if (PlanHash(plan) != marker.plan_hash) return std::nullopt;
  // The plan borrows the policy's text: it keeps the policy alive, with the counter keys it owns already.
  plan.storage = std::make_shared<std::pair<std::shared_ptr<const policy::Policy>, std::shared_ptr<const void>>>(
      std::move(pol), std::move(plan.storage));
  return plan;
}

policy::Verdicts FallbackVerdicts(const Marker& marker, const policy::StoreOutcome& outcome) {
  policy::Verdicts v;
  v.verdict = outcome.reserved ? policy::Verdict::kRelease : policy::Verdict::kSuppress;
  v.reason = absl::StrCat("decided before under policy ", AsAbsl(marker.policy_version),
                          "; its rules are not available to this instance");
  return v;
}

}  // namespace tact::decision
