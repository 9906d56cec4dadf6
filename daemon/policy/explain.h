#pragma once

// Explaining: what each matched rule checked, for `tactctl explain`. Pure.
#include <string>
#include <vector>

#include "daemon/policy/decide.h"
#include "daemon/policy/policy.h"

namespace tact::policy {

// One line per matched rule, for `tactctl explain`: what the rule checked and whether it applied.
struct TraceLine {
  std::string rule_id;
  std::string effect;  // "limit", "suppress_if", "quiet_hours"
  std::string check;   // "2 per rolling 7d: 1 used", "CSAT 2 or lower within 30d: holds"
  bool applies = false;
  bool shadow = false;
  bool decided = false;
};
std::vector<TraceLine> Explain(const Policy& policy, const Plan& plan, const StoreOutcome& outcome,
                               const Verdicts& verdicts);

}  // namespace tact::policy
