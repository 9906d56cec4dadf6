#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "daemon/policy/policy.h"

namespace tact::policy {

// One counter the store must check (and reserve on release). Self-contained: no pointers into the policy,
// so a Plan can be stored with a decision and replayed (duplicates) after the policy changed.
struct LimitCheck {
  std::string rule_id;
  std::string counter;  // key suffix inside the customer's hash tag, e.g. "r:promo-daily" or "r:x:EMAIL"
  int64_t count = 0;
  absl::Duration window;
  OnExceed on_exceed = OnExceed::kSuppress;
  bool shadow = false;  // counted and reported, never decisive
};

// What the pure engine wants done for one event.
struct Plan {
  std::vector<std::string> matched_rules;  // evaluation order
  std::vector<LimitCheck> limits;          // in rule order; the first exceeded enforcing limit decides
};

// What the store saw for each limit of a plan, in plan order.
struct LimitUsage {
  int64_t used = 0;                               // already counted in the window, before this event
  absl::Time frees_at = absl::InfinitePast();     // when a slot frees up (only when used >= count)
};

struct StoreOutcome {
  int first_exceeded = -1;  // index into plan.limits of the deciding exceeded limit, or -1
  std::vector<LimitUsage> usage;
};

enum class Verdict { kRelease, kDefer, kSuppress };

struct CounterView {
  std::string rule_id;
  int64_t used = 0;
  int64_t limit = 0;
  std::string window;
};

struct Verdicts {
  Verdict verdict = Verdict::kRelease;
  std::string rule_id;  // the deciding rule, empty on a default release
  std::string reason;
  absl::Time defer_until = absl::InfinitePast();
  std::vector<CounterView> counters;
  std::vector<std::string> matched_rules;
  std::vector<std::string> shadow_hits;  // shadow rules that would have constrained this event
};

// True when `rule` selects `event`. Transactional messages match only rules that name the class.
bool Matches(const Rule& rule, const Event& event);

// Pure: which rules apply and which counters to check. Deterministic (invariant I4).
Plan Evaluate(const Policy& policy, const Event& event);

// Pure: the store's answer → the decision.
Verdicts Decide(const Plan& plan, const StoreOutcome& outcome);

}  // namespace tact::policy
