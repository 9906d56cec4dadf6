#include "daemon/policy/decide.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact::policy {
namespace {

// Which check decides, by precedence.
using Kind = DecidedBy;
struct Decisive {
  Kind kind = Kind::kNone;
  size_t index = 0;
};

Decisive FindDecisive(const Plan& plan, const StoreOutcome& o) {
  for (size_t i = 0; i < plan.signals.size() && i < o.signals.size(); ++i) {
    if (!plan.signals[i].shadow && o.signals[i].hit) return {Kind::kSignal, i};
  }
  for (size_t i = 0; i < plan.limits.size() && i < o.usage.size(); ++i) {
    if (!plan.limits[i].shadow && o.usage[i].used >= plan.limits[i].count) return {Kind::kLimit, i};
  }
  for (size_t i = 0; i < plan.quiet.size(); ++i) {
    if (!plan.quiet[i].shadow) return {Kind::kQuiet, i};
  }
  return {};
}

Verdict OnExceedVerdict(OnExceed o) { return o == OnExceed::kDefer ? Verdict::kDefer : Verdict::kSuppress; }

std::string CapReason(const LimitCheck& l, const LimitUsage& u) {
  return absl::StrCat("cap ", l.count, " per ", AsAbsl(l.window_text), " reached (", u.used, " used)");
}

std::string SignalReason(const SignalCheck& s) { return absl::StrCat("customer signal: ", AsAbsl(s.condition)); }

void AddCounters(const Plan& plan, const StoreOutcome& outcome, Verdicts& v) {
  if (!plan.limits.empty()) v.counters.reserve(plan.limits.size());
  for (size_t i = 0; i < plan.limits.size(); ++i) {
    const LimitCheck& l = plan.limits[i];
    const LimitUsage u = i < outcome.usage.size() ? outcome.usage[i] : LimitUsage{};
    v.counters.push_back(CounterView{l.rule_id, u.used, l.count, l.window_text});
  }
}

// What shadow rules would have done.
void AddShadowOutcomes(const Plan& plan, const StoreOutcome& outcome, Verdicts& v) {
  for (size_t i = 0; i < plan.signals.size() && i < outcome.signals.size(); ++i) {
    const SignalCheck& s = plan.signals[i];
    if (s.shadow && outcome.signals[i].hit) v.shadow.push_back({s.rule_id, Verdict::kSuppress, SignalReason(s)});
  }
  for (size_t i = 0; i < plan.limits.size() && i < outcome.usage.size(); ++i) {
    const LimitCheck& l = plan.limits[i];
    if (l.shadow && outcome.usage[i].used >= l.count) {
      v.shadow.push_back({l.rule_id, OnExceedVerdict(l.on_exceed), CapReason(l, outcome.usage[i])});
    }
  }
  for (const QuietHold& q : plan.quiet) {
    if (q.shadow) v.shadow.push_back({q.rule_id, OnExceedVerdict(q.on_exceed), q.Text()});
  }
}

void DecideByLimit(const LimitCheck& l, const LimitUsage& u, Verdicts& v) {
  v.rule_id = l.rule_id;
  v.reason = CapReason(l, u);
  v.verdict = OnExceedVerdict(l.on_exceed);
  if (v.verdict == Verdict::kDefer) v.defer_until = l.kind == WindowKind::kCalendar ? l.period_end : u.frees_at;
}

void DecideByQuiet(const QuietHold& q, Verdicts& v) {
  v.rule_id = q.rule_id;
  v.verdict = OnExceedVerdict(q.on_exceed);
  if (v.verdict == Verdict::kDefer) {
    v.defer_until = q.until;
    v.reason = absl::StrCat(q.Text(), ": deferred to the end of the quiet period");
  } else {
    v.reason = absl::StrCat(q.Text(), ": not sent during quiet hours");
  }
}

void Release(const Plan& plan, Verdicts& v) {
  v.verdict = Verdict::kRelease;
  v.reason = plan.limits.empty() && plan.signals.empty() ? "no limit applies" : "within every limit";
  if (!v.shadow.empty()) {
    absl::StrAppend(&v.reason, "; shadow rule '", AsAbsl(v.shadow.front().rule_id), "' would have constrained it");
  }
}

}  // namespace

std::string QuietHold::Text() const {
  return zone.empty() ? std::string(text) : absl::StrCat(AsAbsl(text), " ", AsAbsl(zone));
}

const QuietHold* Plan::DecisiveQuiet() const {
  for (const QuietHold& q : quiet) {
    if (!q.shadow) return &q;
  }
  return nullptr;
}

int FirstExceeded(const Plan& plan, const StoreOutcome& outcome) {
  for (size_t i = 0; i < plan.limits.size() && i < outcome.usage.size(); ++i) {
    if (!plan.limits[i].shadow && outcome.usage[i].used >= plan.limits[i].count) return static_cast<int>(i);
  }
  return -1;
}

Verdicts Decide(const Plan& plan, const StoreOutcome& outcome) {
  Verdicts v;
  v.matched_rules.assign(plan.matched_rules.begin(), plan.matched_rules.end());
  AddCounters(plan, outcome, v);
  AddShadowOutcomes(plan, outcome, v);
  const Decisive d = FindDecisive(plan, outcome);
  v.decided_by = d.kind;
  v.decided_index = d.index;
  switch (d.kind) {
    case Kind::kSignal:
      v.verdict = Verdict::kSuppress;
      v.rule_id = plan.signals[d.index].rule_id;
      v.reason = SignalReason(plan.signals[d.index]);
      break;
    case Kind::kLimit: DecideByLimit(plan.limits[d.index], outcome.usage[d.index], v); break;
    case Kind::kQuiet: DecideByQuiet(plan.quiet[d.index], v); break;
    case Kind::kNone: Release(plan, v); break;
  }
  return v;
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kRelease: return "RELEASE";
    case Verdict::kDefer: return "DEFER";
    case Verdict::kSuppress: return "SUPPRESS";
  }
  return "RELEASE";
}

}  // namespace tact::policy
