#pragma once

// A redelivered event's earlier final decision, from the decision marker the store returned with it (marker.h).
#include <memory>
#include <optional>

#include "daemon/core/event.h"
#include "daemon/decision/marker.h"
#include "daemon/decision/policy_archive.h"
#include "daemon/policy/evaluate.h"

namespace tact::decision {

// The plan the earlier decision was made from. m2/m3/JSON markers: the marker's own plan (moved out of `marker`).
// "m4;": policy::PlanEvent(the policy with the marker's digest, event, decided_at) — `current` when it is that
// policy, else archive->Find (store I/O; nullptr archive = none) — used only when its PlanHash is the marker's
// plan_hash; the plan keeps its policy alive (Plan::storage). nullopt when it cannot be rebuilt (the policy is not
// found, or the event plans differently: a changed event, changed time zone data): decide with FallbackVerdicts.
// `event` must be the message the marker was stored for (CheckSameMessage) with a known customer_timezone.
// Thread-safety: any thread.
std::optional<policy::Plan> EarlierPlan(Marker& marker, const Event& event,
                                        const std::shared_ptr<const policy::Policy>& current, PolicyArchive* archive);

// The earlier decision from its stored outcome alone, when its plan cannot be rebuilt: a final decision is RELEASE
// when the store counted the event (outcome.reserved), else SUPPRESS (store::ShouldReserve / IsFinal, check.lua);
// no deciding rule, no counters, no evidence; the reason names the marker's policy version.
policy::Verdicts FallbackVerdicts(const Marker& marker, const policy::StoreOutcome& outcome);

}  // namespace tact::decision
