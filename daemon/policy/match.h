#pragma once

// Matching: which rules select an event, and why one does not. Pure.
#include <string>

#include "daemon/policy/policy.h"

namespace tact::policy {

// True when `rule` selects `event`. Transactional messages match only rules that name the class.
bool Matches(const Rule& rule, const Event& event);

// Why `rule` does not select `event` ("channel SMS not in [EMAIL]"); empty when it matches. For explanations.
std::string WhyNoMatch(const Rule& rule, const Event& event);

}  // namespace tact::policy
