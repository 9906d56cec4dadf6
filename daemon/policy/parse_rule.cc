#include "daemon/policy/parse_rule.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/policy/parse.h"

namespace tact::policy {
namespace {

using namespace yaml_reader;  // NOLINT: the YAML reading vocabulary shared by the parser's files

// "HH:MM" (24-hour clock) → minutes after midnight.
absl::StatusOr<int> ClockValue(const YAML::Node& node, const Source& src, const std::string& what) {
  TACT_ASSIGN_OR_RETURN(std::string s, ScalarString(node, src, what));
  int h = 0;
  int m = 0;
  const bool shape = s.size() == 5 && s[2] == ':' && std::isdigit(s[0]) && std::isdigit(s[1]) &&
                     std::isdigit(s[3]) && std::isdigit(s[4]);
  if (shape) {
    h = (s[0] - '0') * 10 + (s[1] - '0');
    m = (s[3] - '0') * 10 + (s[4] - '0');
  }
  if (!shape || h > 23 || m > 59) {
    return src.Error(node, absl::StrCat(what, ": bad time of day '", s, "' (expected HH:MM, e.g. 21:00)"));
  }
  return h * 60 + m;
}

absl::StatusOr<Match> ParseMatch(const YAML::Node& node, const Source& src, const std::string& where) {
  TACT_RETURN_IF_ERROR(
      CheckKeys(node, {"tenant", "channel", "message_class", "campaign", "attributes"}, src, where));
  Match m;
  if (node["tenant"]) {
    TACT_ASSIGN_OR_RETURN(m.tenants, TenantList(node["tenant"], src, where + ".tenant"));
  }
  if (node["channel"]) {
    TACT_ASSIGN_OR_RETURN(m.channels, EnumList<Channel>(node["channel"], src, where + ".channel",
                                                        &v1::Channel_Parse, {"EMAIL", "SMS", "PUSH", "IN_APP"}));
  }
  if (node["message_class"]) {
    TACT_ASSIGN_OR_RETURN(m.classes,
                          EnumList<MessageClass>(node["message_class"], src, where + ".message_class",
                                                 &v1::MessageClass_Parse,
                                                 {"TRANSACTIONAL", "SERVICE", "PROACTIVE_SERVICE", "PROMOTION"}));
  }
  if (node["campaign"]) {
    TACT_ASSIGN_OR_RETURN(m.campaigns, StringList(node["campaign"], src, where + ".campaign"));
  }
  if (const YAML::Node attrs = node["attributes"]) {
    if (!attrs.IsMap() || attrs.size() == 0) {
      return src.Error(attrs, where + ".attributes must be a mapping of attribute name to value(s)");
    }
    absl::flat_hash_set<std::string> seen;
    for (const auto& kv : attrs) {
      TACT_ASSIGN_OR_RETURN(std::string key, ScalarString(kv.first, src, where + ".attributes key"));
      if (!seen.insert(key).second) {
        return src.Error(kv.first, absl::StrCat(where, ".attributes: key '", key, "' appears twice"));
      }
      TACT_ASSIGN_OR_RETURN(m.attributes[key], StringList(kv.second, src, where + ".attributes." + key));
    }
  }
  if (!m.channels.empty()) {
    m.channel_mask = 0;
    for (Channel c : m.channels) m.channel_mask |= 1u << c;
  }
  if (!m.classes.empty()) {
    m.class_mask = 0;
    for (MessageClass c : m.classes) m.class_mask |= 1u << c;
  } else {
    m.class_mask = ~(1u << v1::TRANSACTIONAL);  // transactional only when named
  }
  return m;
}

absl::StatusOr<Limit> ParseLimit(const YAML::Node& node, const Source& src, const std::string& where) {
  TACT_RETURN_IF_ERROR(CheckKeys(node, {"count", "window", "kind", "scope"}, src, where));
  Limit l;
  if (!node["count"]) {
    return src.Error(node, where + ": 'count' is required");
  }
  TACT_ASSIGN_OR_RETURN(l.count, IntInRange(node["count"], src, where + ".count", 1, 1'000'000));
  if (const YAML::Node kind = node["kind"]) {
    TACT_ASSIGN_OR_RETURN(std::string k, ScalarString(kind, src, where + ".kind"));
    if (k == "rolling") {
      l.kind = WindowKind::kRolling;
    } else if (k == "calendar") {
      l.kind = WindowKind::kCalendar;
    } else {
      return src.Error(kind, absl::StrCat(where, ".kind: unknown value '", k, "' ", Expected({"rolling", "calendar"})));
    }
  }
  if (!node["window"]) {
    return src.Error(node, where + (l.kind == WindowKind::kRolling ? ": 'window' is required (e.g. 7d)"
                                                                    : ": 'window' is required (day, week or month)"));
  }
  if (l.kind == WindowKind::kRolling) {
    TACT_ASSIGN_OR_RETURN(l.window, DurationValue(node["window"], src, where + ".window"));
    if (l.window > absl::Hours(24 * 366)) {
      return src.Error(node["window"], where + ".window: a rolling window can be at most 366d");
    }
  } else {
    TACT_ASSIGN_OR_RETURN(std::string w, ScalarString(node["window"], src, where + ".window"));
    if (w == "day") {
      l.unit = CalendarUnit::kDay;
    } else if (w == "week") {
      l.unit = CalendarUnit::kWeek;
    } else if (w == "month") {
      l.unit = CalendarUnit::kMonth;
    } else {
      return src.Error(node["window"], absl::StrCat(where, ".window: a calendar window is day, week or month, got '",
                                                    w, "'"));
    }
  }
  l.window_text = l.kind == WindowKind::kRolling ? absl::StrCat("rolling ", ShortDuration(l.window))
                                                 : absl::StrCat("calendar ", AsAbsl(CalendarUnitName(l.unit)));
  if (const YAML::Node scope = node["scope"]) {
    TACT_ASSIGN_OR_RETURN(std::string s, ScalarString(scope, src, where + ".scope"));
    static constexpr std::pair<std::string_view, Scope> kScopes[] = {
        {"customer", Scope::kCustomer},
        {"customer+channel", Scope::kCustomerChannel},
        {"customer+campaign", Scope::kCustomerCampaign},
        {"customer+class", Scope::kCustomerClass}};
    auto it = std::find_if(std::begin(kScopes), std::end(kScopes), [&](const auto& p) { return p.first == s; });
    if (it == std::end(kScopes)) {
      return src.Error(scope, absl::StrCat(where, ".scope: unknown value '", s, "' ",
                                           Expected({"customer", "customer+channel", "customer+campaign",
                                                     "customer+class"})));
    }
    l.scope = it->second;
  }
  return l;
}

absl::StatusOr<QuietHours> ParseQuietHours(const YAML::Node& node, const Source& src, const std::string& where) {
  TACT_RETURN_IF_ERROR(CheckKeys(node, {"start", "end"}, src, where));
  if (!node["start"] || !node["end"]) {
    return src.Error(node, where + ": 'start' and 'end' are required (local time, e.g. start: \"21:00\", "
                                   "end: \"08:00\")");
  }
  QuietHours q;
  TACT_ASSIGN_OR_RETURN(q.start_minute, ClockValue(node["start"], src, where + ".start"));
  TACT_ASSIGN_OR_RETURN(q.end_minute, ClockValue(node["end"], src, where + ".end"));
  if (q.start_minute == q.end_minute) {
    return src.Error(node, absl::StrCat(where, ": start and end are both ", ClockText(q.start_minute),
                                        ", so the quiet period is empty and the rule never applies"));
  }
  return q;
}


absl::Status ParseId(const YAML::Node& node, const Source& src, const std::string& where, Rule& r) {
  if (!node["id"]) {
    return src.Error(node, where + ": 'id' is required");
  }
  TACT_ASSIGN_OR_RETURN(r.id, ScalarString(node["id"], src, where + ".id"));
  const bool id_ok = std::all_of(r.id.begin(), r.id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
  if (!id_ok || r.id.size() > 64) {
    return src.Error(node["id"], absl::StrCat("rule id '", r.id,
                                              "' must be 1-64 characters of a-z, 0-9, '-', '_' or '.'"));
  }
  return absl::OkStatus();
}

// A file with a `tenant:` narrows every rule to it; a rule naming only other tenants could never match.
absl::Status ApplyFileTenant(const YAML::Node& node, const Source& src, const std::string& rw,
                             const std::string& file_tenant, Rule& r) {
  if (file_tenant.empty()) return absl::OkStatus();
  if (r.match.tenants.empty()) {
    r.match.tenants.push_back(file_tenant);
  } else if (std::find(r.match.tenants.begin(), r.match.tenants.end(), file_tenant) == r.match.tenants.end()) {
    return src.Error(node["match"]["tenant"],
                     absl::StrCat(rw, " can never match: this file applies only to tenant '", file_tenant,
                                  "' but the rule matches tenant '", absl::StrJoin(r.match.tenants, "', '"), "'"));
  } else {
    r.match.tenants = {file_tenant};
  }
  return absl::OkStatus();
}

// Exactly one of limit, suppress_if, quiet_hours.
absl::Status ParseEffect(const YAML::Node& node, const Source& src, const std::string& rw, Rule& r) {
  const int effects = (node["limit"] ? 1 : 0) + (node["suppress_if"] ? 1 : 0) + (node["quiet_hours"] ? 1 : 0);
  if (effects != 1) {
    return src.Error(node, absl::StrCat(rw, effects == 0 ? ": an effect is required" : ": has more than one effect",
                                        " (exactly one of limit, suppress_if, quiet_hours; split it into one rule "
                                        "per effect)"));
  }
  if (node["limit"]) {
    TACT_ASSIGN_OR_RETURN(r.limit, ParseLimit(node["limit"], src, rw + ".limit"));
  } else if (node["suppress_if"]) {
    TACT_ASSIGN_OR_RETURN(r.suppress_if, ParseSuppressIf(node["suppress_if"], src, rw + ".suppress_if"));
  } else {
    TACT_ASSIGN_OR_RETURN(r.quiet_hours, ParseQuietHours(node["quiet_hours"], src, rw + ".quiet_hours"));
    r.on_exceed = OnExceed::kDefer;  // quiet hours hold messages until they end unless told otherwise
  }
  return absl::OkStatus();
}

// One of two values of an enum-like key ("suppress" / "defer", "enforce" / "shadow").
template <typename T>
absl::Status OneOf(const YAML::Node& node, const Source& src, const std::string& what,
                   std::pair<const char*, T> first, std::pair<const char*, T> second, T* out) {
  TACT_ASSIGN_OR_RETURN(std::string v, ScalarString(node, src, what));
  if (v == first.first) {
    *out = first.second;
  } else if (v == second.first) {
    *out = second.second;
  } else {
    return src.Error(node, absl::StrCat(what, ": unknown value '", v, "' ", Expected({first.first, second.first})));
  }
  return absl::OkStatus();
}

absl::Status ParseOnExceedAndMode(const YAML::Node& node, const Source& src, const std::string& rw, Rule& r) {
  if (const YAML::Node oe = node["on_exceed"]) {
    if (r.suppress_if) {
      return src.Error(oe, rw + ": suppress_if always suppresses; remove on_exceed");
    }
    TACT_RETURN_IF_ERROR(OneOf(oe, src, rw + ".on_exceed", std::pair{"suppress", OnExceed::kSuppress},
                               std::pair{"defer", OnExceed::kDefer}, &r.on_exceed));
  }
  if (const YAML::Node mode = node["mode"]) {
    TACT_RETURN_IF_ERROR(OneOf(mode, src, rw + ".mode", std::pair{"enforce", Mode::kEnforce},
                               std::pair{"shadow", Mode::kShadow}, &r.mode));
  }
  return absl::OkStatus();
}

// The text evaluation uses, built once so evaluating builds none per event.
void CompileRuleText(Rule& r) {
  if (r.limit) r.counter_prefix = absl::StrCat(r.limit->kind == WindowKind::kRolling ? "r:" : "c:", r.id);
  if (r.quiet_hours) {
    r.quiet_text = absl::StrCat("quiet hours ", ClockText(r.quiet_hours->start_minute), "-",
                                ClockText(r.quiet_hours->end_minute));
  }
}

}  // namespace

std::string RuleWhere(const YAML::Node& node, int index) {
  if (node.IsMap() && node["id"] && node["id"].IsScalar() && !node["id"].Scalar().empty()) {
    return absl::StrCat("rule '", node["id"].Scalar(), "'");
  }
  return absl::StrCat("rule #", index + 1);
}
absl::StatusOr<absl::Duration> DurationValue(const YAML::Node& node, const Source& src, const std::string& what) {
  TACT_ASSIGN_OR_RETURN(std::string text, ScalarString(node, src, what));
  absl::StatusOr<absl::Duration> d = ParseDuration(text);
  if (!d.ok()) {
    return src.Error(node, absl::StrCat(what, ": ", d.status().message()));
  }
  return *d;
}

absl::StatusOr<Rule> ParseRule(const YAML::Node& node, const Source& src, int index, const std::string& file_tenant) {
  const std::string where = RuleWhere(node, index);
  TACT_RETURN_IF_ERROR(CheckKeys(
      node, {"id", "description", "match", "limit", "suppress_if", "quiet_hours", "on_exceed", "mode"}, src, where));
  Rule r;
  r.file = src.path();
  r.line = node.Mark().line + 1;
  TACT_RETURN_IF_ERROR(ParseId(node, src, where, r));
  const std::string rw = absl::StrCat("rule '", r.id, "'");
  if (!node["description"]) {
    return src.Error(node, rw + ": 'description' is required (say why the rule exists)");
  }
  TACT_ASSIGN_OR_RETURN(r.description, ScalarString(node["description"], src, rw + ".description"));
  if (node["match"]) {
    TACT_ASSIGN_OR_RETURN(r.match, ParseMatch(node["match"], src, rw + ".match"));
  }
  TACT_RETURN_IF_ERROR(ApplyFileTenant(node, src, rw, file_tenant, r));
  TACT_RETURN_IF_ERROR(ParseEffect(node, src, rw, r));
  TACT_RETURN_IF_ERROR(ParseOnExceedAndMode(node, src, rw, r));
  CompileRuleText(r);
  return r;
}

}  // namespace tact::policy
