#pragma once

// Deciding: the store's answer to a plan → RELEASE / DEFER / SUPPRESS. Pure.
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "daemon/core/store_outcome.h"
#include "daemon/policy/plan.h"

namespace tact::policy {

// ---- StoreOutcome: what the store saw, in plan order (pure data shared with the store: core/store_outcome.h) -

using SignalResult = ::tact::SignalResult;
using LimitUsage = ::tact::LimitUsage;
using StoreOutcome = ::tact::StoreOutcome;

// ---- Decision ----------------------------------------------------------------------------------------------

enum class Verdict { kRelease, kDefer, kSuppress };

// Verdicts borrow rule ids and window text from the plan they were decided from (see Plan).
struct CounterView {
  std::string_view rule_id;
  int64_t used = 0;
  int64_t limit = 0;
  std::string_view window;
};

// What a shadow rule would have done had it been enforcing.
struct ShadowOutcome {
  std::string_view rule_id;
  Verdict verdict = Verdict::kSuppress;
  std::string reason;
};

// Which kind of check decided (by precedence), and its index in the plan's signals / limits / quiet.
enum class DecidedBy { kNone, kSignal, kLimit, kQuiet };

struct Verdicts {
  Verdict verdict = Verdict::kRelease;
  std::string_view rule_id;  // the deciding rule, empty on a default release
  DecidedBy decided_by = DecidedBy::kNone;
  size_t decided_index = 0;  // into Plan::signals, ::limits or ::quiet (and the outcome's) per decided_by
  std::string reason;
  absl::Time defer_until = absl::InfinitePast();
  SmallVector<CounterView, 8> counters;
  RuleIds matched_rules;
  std::vector<ShadowOutcome> shadow;  // shadow rules that would have constrained this event
};

// Pure: the store's answer → the decision. Precedence (documented in policies/README.md):
//   1. suppress_if — the first enforcing condition that holds suppresses;
//   2. limit — the first enforcing limit already at its count suppresses or defers (on_exceed);
//   3. quiet_hours — the first enforcing quiet period in force defers to its end (or suppresses);
//   4. otherwise RELEASE.
// Shadow rules never decide; what they would have done is listed in Verdicts::shadow.
Verdicts Decide(const Plan& plan, const StoreOutcome& outcome);

// The store's side of Decide is the store's own (store::ShouldReserve / store::IsFinal, on the data of
// decision::ToCheckSpec): reserve ⇔ Decide would RELEASE; a marker is stored ⇔ it would RELEASE or SUPPRESS.
// Index of the first enforcing limit already at its count, or -1.
int FirstExceeded(const Plan& plan, const StoreOutcome& outcome);

std::string_view VerdictName(Verdict v);

}  // namespace tact::policy
