#pragma once

// The evidence of a decision: what triggered its deciding rule (the signal condition, the full window, the quiet
// period in the customer's zone), for the audit record (DecisionRecord.evidence). Pure: built only from the plan,
// the store's outcome and the verdicts the decision already computed, and only for the deciding rule.
#include <string_view>

#include "absl/time/time.h"
#include "daemon/policy/evaluate.h"
#include "tact/v1/decision.pb.h"

namespace tact::decision {

// Fills `out` for the rule that decided `verdicts` (decided from `plan` and `outcome` at `now`); leaves it empty on
// a default release. Never names the customer: rule ids, condition and window text, times, counts, the zone, and
// for a signal the ticket or callback id (SignalEvidence.ref, tenant data) and when the signal was set.
void BuildEvidence(const policy::Plan& plan, const policy::StoreOutcome& outcome, const policy::Verdicts& verdicts,
                   absl::Time now, v1::Evidence* out);

// The signal kind a condition's field patterns look for: "csat:1" → "csat", "complaint:*" → "complaint".
std::string_view SignalKindOfField(std::string_view field);

// The signal's id in a stored signal field: the ticket of "complaint:<ref>", the callback of "callback:<ref>";
// empty for the kinds without one ("csat:2", "escalation", "opt_out:SMS").
std::string_view SignalRefOfField(std::string_view field);

}  // namespace tact::decision
