#include "daemon/policy/explain.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/strings.h"

namespace tact::policy {
namespace {

// Where Explain is in the plan's checks: each kind is in rule order.
struct Cursor {
  size_t signal = 0;
  size_t limit = 0;
  size_t quiet = 0;
};

void ExplainSignals(std::string_view id, const Plan& plan, const StoreOutcome& outcome, Cursor& at,
                    TraceLine& line) {
  line.effect = "suppress_if";
  std::vector<std::string> parts;
  for (; at.signal < plan.signals.size() && plan.signals[at.signal].rule_id == id; ++at.signal) {
    const bool hit = at.signal < outcome.signals.size() && outcome.signals[at.signal].hit;
    line.applies = line.applies || hit;
    parts.push_back(absl::StrCat(AsAbsl(plan.signals[at.signal].condition), hit ? ": holds" : ": no"));
  }
  line.check = absl::StrJoin(parts, "; ");
}

void ExplainLimit(const Plan& plan, const StoreOutcome& outcome, Cursor& at, TraceLine& line) {
  line.effect = "limit";
  if (at.limit >= plan.limits.size()) return;
  const LimitCheck& l = plan.limits[at.limit];
  const LimitUsage u = at.limit < outcome.usage.size() ? outcome.usage[at.limit] : LimitUsage{};
  line.applies = u.used >= l.count;
  line.check = absl::StrCat(l.count, " per ", AsAbsl(l.window_text), ": ", u.used, " used",
                            line.applies ? " (full)" : "", " [", AsAbsl(l.counter), "]");
  ++at.limit;
}

void ExplainQuiet(std::string_view id, const QuietHours& q, const Plan& plan, Cursor& at, TraceLine& line) {
  line.effect = "quiet_hours";
  if (at.quiet < plan.quiet.size() && plan.quiet[at.quiet].rule_id == id) {
    line.applies = true;
    line.check = absl::StrCat(plan.quiet[at.quiet].Text(), ": in force until ",
                              absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", plan.quiet[at.quiet].until, absl::UTCTimeZone()));
    ++at.quiet;
  } else {
    line.check = absl::StrCat("quiet hours ", ClockText(q.start_minute), "-", ClockText(q.end_minute), " ",
                              AsAbsl(plan.timezone), ": not in force");
  }
}

}  // namespace

std::vector<TraceLine> Explain(const Policy& policy, const Plan& plan, const StoreOutcome& outcome,
                               const Verdicts& verdicts) {
  std::vector<TraceLine> out;
  Cursor at;
  for (const std::string_view id : plan.matched_rules) {
    auto rule = std::find_if(policy.rules.begin(), policy.rules.end(), [&](const Rule& r) { return r.id == id; });
    const bool known = rule != policy.rules.end();
    TraceLine line{.rule_id = std::string(id), .shadow = known && rule->mode == Mode::kShadow,
                   .decided = verdicts.rule_id == id};
    if (known && rule->suppress_if) {
      ExplainSignals(id, plan, outcome, at, line);
    } else if (known && rule->limit) {
      ExplainLimit(plan, outcome, at, line);
    } else if (known && rule->quiet_hours) {
      ExplainQuiet(id, *rule->quiet_hours, plan, at, line);
    }
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace tact::policy
