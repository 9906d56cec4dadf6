#pragma once

// The policy engine's entry point: which rules apply to an event and what the store must check (a Plan).
// Callers get the whole engine from this header: the plan (plan.h), matching (match.h), deciding (decide.h) and
// explaining (explain.h). Pure: no I/O except loading a customer's time zone through the policy's ZoneResolver.
#include <string>

#include "absl/time/time.h"
#include "daemon/policy/decide.h"
#include "daemon/policy/explain.h"
#include "daemon/policy/match.h"
#include "daemon/policy/plan.h"
#include "daemon/policy/policy.h"

namespace tact::policy {

// The zone for calendar windows and quiet hours: the event's customer_timezone when it has one, else the
// tenant's default, else the policy default. `name` receives the zone's name. A customer_timezone must be a
// known zone (IsKnownTimeZone): EventFromProto and DecisionService refuse an unknown one before PlanEvent,
// which must never see one (it has no zone to replace it with).
absl::TimeZone CustomerZone(const Policy& policy, const Event& event, std::string* name);

// Pure: which rules apply to `event` and what the store must check for it, at `now`. Deterministic.
Plan PlanEvent(const Policy& policy, const Event& event, absl::Time now);

}  // namespace tact::policy
