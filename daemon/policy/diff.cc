#include "daemon/policy/diff.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/strings.h"

namespace tact::policy {
namespace {

// Which messages a list admits: nullopt = every one (an empty list in the policy).
using Admits = std::optional<std::set<std::string>>;

enum class Reach { kSame, kWider, kNarrower, kOther };

Reach Compare(const Admits& from, const Admits& to) {
  if (!from && !to) return Reach::kSame;
  if (!from) return Reach::kNarrower;
  if (!to) return Reach::kWider;
  if (*from == *to) return Reach::kSame;
  if (std::includes(to->begin(), to->end(), from->begin(), from->end())) return Reach::kWider;
  if (std::includes(from->begin(), from->end(), to->begin(), to->end())) return Reach::kNarrower;
  return Reach::kOther;
}

std::string Text(const Admits& a) { return a ? absl::StrCat("[", absl::StrJoin(*a, ", "), "]") : "any"; }

Admits FromList(const std::vector<std::string>& values) {
  if (values.empty()) return std::nullopt;
  return std::set<std::string>(values.begin(), values.end());
}

template <typename Enum, typename NameFn>
std::set<std::string> FromMask(uint32_t mask, int size, NameFn name) {
  std::set<std::string> out;
  for (int i = 1; i < size; ++i) {  // 0 is the proto's UNSPECIFIED
    if ((mask >> i) & 1u) out.insert(std::string(name(static_cast<Enum>(i))));
  }
  return out;
}

std::set<std::string> Classes(const Rule& r) {
  return FromMask<MessageClass>(r.match.class_mask, v1::MessageClass_ARRAYSIZE,
                                [](MessageClass c) { return v1::MessageClass_Name(c); });
}

std::set<std::string> Channels(const Rule& r) {
  return FromMask<Channel>(r.match.channel_mask, v1::Channel_ARRAYSIZE,
                           [](Channel c) { return v1::Channel_Name(c); });
}

// A change of which messages the rule applies to: a wider match holds more messages back (tightened).
void CompareMatch(std::string_view what, const Admits& from, const Admits& to, std::vector<AspectChange>& out) {
  const Reach reach = Compare(from, to);
  if (reach == Reach::kSame) return;
  const ChangeKind kind = reach == Reach::kWider      ? ChangeKind::kTightened
                          : reach == Reach::kNarrower ? ChangeKind::kLoosened
                                                      : ChangeKind::kChanged;
  out.push_back({kind, absl::StrCat("match ", AsAbsl(what), " ", Text(from), " -> ", Text(to))});
}

void CompareMatches(const Rule& from, const Rule& to, std::vector<AspectChange>& out) {
  CompareMatch("tenant", FromList(from.match.tenants), FromList(to.match.tenants), out);
  CompareMatch("channel", Channels(from), Channels(to), out);
  CompareMatch("message_class", Classes(from), Classes(to), out);
  CompareMatch("campaign", FromList(from.match.campaigns), FromList(to.match.campaigns), out);
  std::set<std::string> keys;
  for (const auto& [k, v] : from.match.attributes) keys.insert(k);
  for (const auto& [k, v] : to.match.attributes) keys.insert(k);
  for (const std::string& k : keys) {
    auto values = [&k](const Rule& r) -> Admits {
      auto it = r.match.attributes.find(k);
      return it == r.match.attributes.end() ? Admits() : FromList(it->second);
    };
    CompareMatch(absl::StrCat("attributes.", k), values(from), values(to), out);
  }
}

// Longer windows and coarser scopes hold more messages back.
int CalendarRank(CalendarUnit u) { return u == CalendarUnit::kDay ? 0 : u == CalendarUnit::kWeek ? 1 : 2; }

void CompareLimits(const Limit& from, const Limit& to, std::vector<AspectChange>& out) {
  if (from.count != to.count) {
    out.push_back({to.count > from.count ? ChangeKind::kLoosened : ChangeKind::kTightened,
                   absl::StrCat("limit count ", from.count, " -> ", to.count)});
  }
  if (from.window_text != to.window_text) {
    ChangeKind kind = ChangeKind::kChanged;
    if (from.kind == to.kind && from.kind == WindowKind::kRolling) {
      kind = to.window > from.window ? ChangeKind::kTightened : ChangeKind::kLoosened;
    } else if (from.kind == to.kind) {
      kind = CalendarRank(to.unit) > CalendarRank(from.unit) ? ChangeKind::kTightened : ChangeKind::kLoosened;
    }
    out.push_back({kind, absl::StrCat("limit window ", from.window_text, " -> ", to.window_text)});
  }
  if (from.scope != to.scope) {
    // customer counts every message of the customer; the other scopes count a part of them each.
    const ChangeKind kind = from.scope == Scope::kCustomer ? ChangeKind::kLoosened
                            : to.scope == Scope::kCustomer ? ChangeKind::kTightened
                                                           : ChangeKind::kChanged;
    out.push_back({kind, absl::StrCat("limit scope ", AsAbsl(ScopeName(from.scope)), " -> ", AsAbsl(ScopeName(to.scope)))});
  }
}

std::set<std::string> ConditionTexts(const SuppressIf& s) {
  std::set<std::string> out;
  for (const SuppressIf::Condition& c : s.conditions) out.insert(c.text);
  return out;
}

// One condition's change: present in one set only, or `more` (it holds for more customers) or not.
void CompareCondition(std::string_view name, bool from, bool to, std::vector<AspectChange>& out) {
  if (from == to) return;
  out.push_back({to ? ChangeKind::kTightened : ChangeKind::kLoosened,
                 absl::StrCat("suppress_if ", AsAbsl(name), to ? " added" : " dropped")});
}

std::string DurationText(const std::optional<absl::Duration>& d) { return d ? ShortDuration(*d) : "none"; }

// The rule applies when ANY condition holds: a condition added, or made to hold for more customers (a higher
// CSAT threshold, a longer look-back), tightens.
void CompareSuppressIf(const SuppressIf& from, const SuppressIf& to, std::vector<AspectChange>& out) {
  if (from.csat_at_most.has_value() != to.csat_at_most.has_value()) {
    CompareCondition("csat_at_most", from.csat_at_most.has_value(), to.csat_at_most.has_value(), out);
  } else if (from.csat_at_most) {
    if (*from.csat_at_most != *to.csat_at_most) {
      out.push_back({*to.csat_at_most > *from.csat_at_most ? ChangeKind::kTightened : ChangeKind::kLoosened,
                     absl::StrCat("suppress_if csat_at_most ", *from.csat_at_most, " -> ", *to.csat_at_most)});
    }
    if (from.csat_within != to.csat_within) {
      out.push_back({to.csat_within > from.csat_within ? ChangeKind::kTightened : ChangeKind::kLoosened,
                     absl::StrCat("suppress_if csat_within ", ShortDuration(from.csat_within), " -> ",
                                  ShortDuration(to.csat_within))});
    }
  }
  CompareCondition("open_complaint", from.open_complaint, to.open_complaint, out);
  CompareCondition("callback_pending", from.callback_pending, to.callback_pending, out);
  CompareCondition("opted_out", from.opted_out, to.opted_out, out);
  if (from.escalation_within != to.escalation_within) {
    const ChangeKind kind = !to.escalation_within    ? ChangeKind::kLoosened
                            : !from.escalation_within ? ChangeKind::kTightened
                            : *to.escalation_within > *from.escalation_within ? ChangeKind::kTightened
                                                                              : ChangeKind::kLoosened;
    out.push_back({kind, absl::StrCat("suppress_if escalation_within ", DurationText(from.escalation_within), " -> ",
                                      DurationText(to.escalation_within))});
  }
}

int QuietMinutes(const QuietHours& q) {
  const int m = (q.end_minute - q.start_minute + 24 * 60) % (24 * 60);
  return m == 0 ? 24 * 60 : m;
}

void CompareQuietHours(const Rule& from, const Rule& to, std::vector<AspectChange>& out) {
  if (from.quiet_text == to.quiet_text) return;
  const int a = QuietMinutes(*from.quiet_hours), b = QuietMinutes(*to.quiet_hours);
  const ChangeKind kind = b > a ? ChangeKind::kTightened : b < a ? ChangeKind::kLoosened : ChangeKind::kChanged;
  out.push_back({kind, absl::StrCat(from.quiet_text, " -> ", to.quiet_text)});
}

std::string Effect(const Rule& r) {
  if (r.limit) {
    return absl::StrCat("limit ", r.limit->count, " per ", r.limit->window_text, " (", AsAbsl(ScopeName(r.limit->scope)),
                        "), on_exceed ", AsAbsl(OnExceedName(r.on_exceed)));
  }
  if (r.suppress_if) return absl::StrCat("suppress_if ", absl::StrJoin(ConditionTexts(*r.suppress_if), " or "));
  return r.quiet_text;
}

std::string_view ModeName(Mode m) { return m == Mode::kShadow ? "shadow" : "enforce"; }

std::vector<AspectChange> CompareRules(const Rule& from, const Rule& to) {
  std::vector<AspectChange> out;
  const bool same_effect = from.limit.has_value() == to.limit.has_value() &&
                           from.suppress_if.has_value() == to.suppress_if.has_value();
  if (!same_effect) {
    out.push_back({ChangeKind::kChanged, absl::StrCat("effect ", Effect(from), " -> ", Effect(to))});
  } else if (from.limit) {
    CompareLimits(*from.limit, *to.limit, out);
  } else if (from.suppress_if) {
    CompareSuppressIf(*from.suppress_if, *to.suppress_if, out);
  } else {
    CompareQuietHours(from, to, out);
  }
  CompareMatches(from, to, out);
  if (from.on_exceed != to.on_exceed) {
    // A deferred message still goes out later; a suppressed one never does.
    out.push_back({to.on_exceed == OnExceed::kDefer ? ChangeKind::kLoosened : ChangeKind::kTightened,
                   absl::StrCat("on_exceed ", AsAbsl(OnExceedName(from.on_exceed)), " -> ", AsAbsl(OnExceedName(to.on_exceed)))});
  }
  if (from.mode != to.mode) {
    out.push_back({to.mode == Mode::kShadow ? ChangeKind::kLoosened : ChangeKind::kTightened,
                   absl::StrCat("mode ", AsAbsl(ModeName(from.mode)), " -> ", AsAbsl(ModeName(to.mode)))});
  }
  if (from.description != to.description) out.push_back({ChangeKind::kChanged, "description edited"});
  return out;
}

ChangeKind Strongest(const std::vector<AspectChange>& aspects) {
  auto has = [&aspects](ChangeKind k) {
    return std::any_of(aspects.begin(), aspects.end(), [k](const AspectChange& a) { return a.kind == k; });
  };
  if (has(ChangeKind::kLoosened)) return ChangeKind::kLoosened;
  if (has(ChangeKind::kTightened)) return ChangeKind::kTightened;
  return ChangeKind::kChanged;
}

std::string Where(const Rule& r) { return absl::StrCat(r.file, ":", r.line); }

std::vector<std::string> Union(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> all = a;
  all.insert(b.begin(), b.end());
  return {all.begin(), all.end()};
}

void CompareSettings(const Policy& from, const Policy& to, std::vector<std::string>& out) {
  if (from.default_timezone != to.default_timezone) {
    out.push_back(absl::StrCat("defaults.timezone ", from.default_timezone, " -> ", to.default_timezone));
  }
  std::set<std::string> tenants;
  for (const auto& [t, z] : from.tenant_timezones) tenants.insert(t);
  for (const auto& [t, z] : to.tenant_timezones) tenants.insert(t);
  for (const std::string& t : tenants) {
    auto zone = [&t](const Policy& p) {
      auto it = p.tenant_timezones.find(t);
      return it == p.tenant_timezones.end() ? std::string("(default)") : it->second;
    };
    if (zone(from) != zone(to)) {
      out.push_back(absl::StrCat("tenant ", t, " timezone ", zone(from), " -> ", zone(to)));
    }
  }
}

}  // namespace

std::string_view ChangeKindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::kAdded: return "added";
    case ChangeKind::kRemoved: return "removed";
    case ChangeKind::kLoosened: return "loosened";
    case ChangeKind::kTightened: return "tightened";
    case ChangeKind::kChanged: return "changed";
  }
  return "changed";
}

int PolicyDiff::count(ChangeKind k) const {
  return static_cast<int>(std::count_if(rules.begin(), rules.end(), [k](const RuleChange& r) { return r.kind == k; }));
}

PolicyDiff DiffPolicies(const Policy& from, const Policy& to) {
  PolicyDiff diff{.from_version = from.version, .to_version = to.version, .from_digest = from.digest,
                  .to_digest = to.digest};
  std::map<std::string, const Rule*> old_rules;
  for (const Rule& r : from.rules) old_rules[r.id] = &r;
  std::set<std::string> classes;
  for (const Rule& r : to.rules) {
    auto it = old_rules.find(r.id);
    RuleChange change{.rule = r.id, .where = Where(r)};
    if (it == old_rules.end()) {
      change.kind = ChangeKind::kAdded;
      change.effect = Effect(r);
      change.classes = Union(Classes(r), {});
    } else {
      change.aspects = CompareRules(*it->second, r);
      change.classes = Union(Classes(*it->second), Classes(r));
      old_rules.erase(it);
      if (change.aspects.empty()) continue;
      change.kind = Strongest(change.aspects);
    }
    classes.insert(change.classes.begin(), change.classes.end());
    diff.rules.push_back(std::move(change));
  }
  for (const Rule& r : from.rules) {
    if (!old_rules.contains(r.id)) continue;
    RuleChange change{.rule = r.id, .kind = ChangeKind::kRemoved, .effect = Effect(r),
                      .classes = Union(Classes(r), {}), .where = Where(r)};
    classes.insert(change.classes.begin(), change.classes.end());
    diff.rules.push_back(std::move(change));
  }
  CompareSettings(from, to, diff.settings);
  diff.classes.assign(classes.begin(), classes.end());
  return diff;
}

}  // namespace tact::policy
