#include "daemon/policy/parse.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <bit>
#include <bitset>
#include <charconv>
#include <set>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/sha256.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/policy/campaign_gates.h"
#include "daemon/policy/policy_files.h"
#include "daemon/policy/yaml_reader.h"

namespace tact::policy {
namespace {

using namespace yaml_reader;  // NOLINT: the YAML reading vocabulary shared with campaign_gates.cc

absl::StatusOr<absl::Duration> DurationValue(const YAML::Node& node, const Source& src, const std::string& what) {
  TACT_ASSIGN_OR_RETURN(std::string text, ScalarString(node, src, what));
  absl::StatusOr<absl::Duration> d = ParseDuration(text);
  if (!d.ok()) {
    return src.Error(node, absl::StrCat(what, ": ", d.status().message()));
  }
  return *d;
}

absl::StatusOr<absl::TimeZone> Zone(const YAML::Node& node, const Source& src, const std::string& what,
                                    std::string* name) {
  TACT_ASSIGN_OR_RETURN(*name, ScalarString(node, src, what));
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(*name, &tz)) {
    return src.Error(node, absl::StrCat(what, ": unknown time zone '", *name,
                                        "' (expected an IANA name such as Europe/Berlin)"));
  }
  return tz;
}

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

absl::StatusOr<SuppressIf> ParseSuppressIf(const YAML::Node& node, const Source& src, const std::string& where) {
  TACT_RETURN_IF_ERROR(CheckKeys(node,
                                 {"csat_at_most", "csat_within", "open_complaint", "escalation_within",
                                  "callback_pending", "opted_out"},
                                 src, where));
  SuppressIf s;
  if (node["csat_at_most"]) {
    TACT_ASSIGN_OR_RETURN(int64_t v, IntInRange(node["csat_at_most"], src, where + ".csat_at_most", 1, 5));
    s.csat_at_most = static_cast<int>(v);
    if (!node["csat_within"]) {
      return src.Error(node["csat_at_most"], where + ": 'csat_within' is required with csat_at_most (e.g. 30d)");
    }
  }
  if (node["csat_within"]) {
    if (!s.csat_at_most) {
      return src.Error(node["csat_within"], where + ": 'csat_within' needs 'csat_at_most' (e.g. 2)");
    }
    TACT_ASSIGN_OR_RETURN(s.csat_within, DurationValue(node["csat_within"], src, where + ".csat_within"));
  }
  if (node["open_complaint"]) {
    TACT_ASSIGN_OR_RETURN(s.open_complaint, Bool(node["open_complaint"], src, where + ".open_complaint"));
  }
  if (node["escalation_within"]) {
    TACT_ASSIGN_OR_RETURN(s.escalation_within,
                          DurationValue(node["escalation_within"], src, where + ".escalation_within"));
  }
  if (node["callback_pending"]) {
    TACT_ASSIGN_OR_RETURN(s.callback_pending, Bool(node["callback_pending"], src, where + ".callback_pending"));
  }
  if (node["opted_out"]) {
    TACT_ASSIGN_OR_RETURN(s.opted_out, Bool(node["opted_out"], src, where + ".opted_out"));
  }
  if (!s.csat_at_most && !s.open_complaint && !s.escalation_within && !s.callback_pending && !s.opted_out) {
    return src.Error(node, where + " has no condition that can hold, so the rule never applies "
                                   "(set at least one of csat_at_most, open_complaint, escalation_within, "
                                   "callback_pending, opted_out)");
  }
  // The store's generic form of each condition (see policy::SignalCheck), in a fixed order.
  if (s.csat_at_most) {
    SuppressIf::Condition c{absl::StrCat("CSAT ", *s.csat_at_most, " or lower within ", ShortDuration(s.csat_within)),
                            {}, s.csat_within};
    for (int v = 1; v <= *s.csat_at_most; ++v) c.fields.push_back(absl::StrCat("csat:", v));
    s.conditions.push_back(std::move(c));
  }
  if (s.open_complaint) s.conditions.push_back({"open complaint", {"complaint:*"}});
  if (s.escalation_within) {
    s.conditions.push_back({absl::StrCat("escalation within ", ShortDuration(*s.escalation_within)), {"escalation"},
                            *s.escalation_within});
  }
  if (s.callback_pending) s.conditions.push_back({"callback pending", {"callback:*"}});
  if (s.opted_out) {
    SuppressIf::Condition c{"opted out", {"opt_out"}};
    for (int ch = 0; ch < v1::Channel_ARRAYSIZE; ++ch) {  // + "opt_out:<channel>" of the event's channel
      c.channel_fields.push_back(
          {"opt_out", absl::StrCat("opt_out:", AsAbsl(ChannelName(static_cast<Channel>(ch))))});
    }
    s.conditions.push_back(std::move(c));
  }
  return s;
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

// Names a rule by its id when it has a readable one, else by its position.
std::string RuleWhere(const YAML::Node& node, int index) {
  if (node.IsMap() && node["id"] && node["id"].IsScalar() && !node["id"].Scalar().empty()) {
    return absl::StrCat("rule '", node["id"].Scalar(), "'");
  }
  return absl::StrCat("rule #", index + 1);
}

absl::StatusOr<Rule> ParseRule(const YAML::Node& node, const Source& src, int index, const std::string& file_tenant) {
  const std::string where = RuleWhere(node, index);
  TACT_RETURN_IF_ERROR(CheckKeys(
      node, {"id", "description", "match", "limit", "suppress_if", "quiet_hours", "on_exceed", "mode"}, src, where));
  Rule r;
  r.file = src.path();
  r.line = node.Mark().line + 1;
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
  const std::string rw = absl::StrCat("rule '", r.id, "'");
  if (!node["description"]) {
    return src.Error(node, rw + ": 'description' is required (say why the rule exists)");
  }
  TACT_ASSIGN_OR_RETURN(r.description, ScalarString(node["description"], src, rw + ".description"));
  if (node["match"]) {
    TACT_ASSIGN_OR_RETURN(r.match, ParseMatch(node["match"], src, rw + ".match"));
  }
  if (!file_tenant.empty()) {
    if (r.match.tenants.empty()) {
      r.match.tenants.push_back(file_tenant);
    } else if (std::find(r.match.tenants.begin(), r.match.tenants.end(), file_tenant) == r.match.tenants.end()) {
      return src.Error(node["match"]["tenant"],
                       absl::StrCat(rw, " can never match: this file applies only to tenant '", file_tenant,
                                    "' but the rule matches tenant '", absl::StrJoin(r.match.tenants, "', '"), "'"));
    } else {
      r.match.tenants = {file_tenant};
    }
  }
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
  if (const YAML::Node oe = node["on_exceed"]) {
    if (r.suppress_if) {
      return src.Error(oe, rw + ": suppress_if always suppresses; remove on_exceed");
    }
    TACT_ASSIGN_OR_RETURN(std::string v, ScalarString(oe, src, rw + ".on_exceed"));
    if (v == "suppress") {
      r.on_exceed = OnExceed::kSuppress;
    } else if (v == "defer") {
      r.on_exceed = OnExceed::kDefer;
    } else {
      return src.Error(oe, absl::StrCat(rw, ".on_exceed: unknown value '", v, "' ", Expected({"suppress", "defer"})));
    }
  }
  if (const YAML::Node mode = node["mode"]) {
    TACT_ASSIGN_OR_RETURN(std::string v, ScalarString(mode, src, rw + ".mode"));
    if (v == "enforce") {
      r.mode = Mode::kEnforce;
    } else if (v == "shadow") {
      r.mode = Mode::kShadow;
    } else {
      return src.Error(mode, absl::StrCat(rw, ".mode: unknown value '", v, "' ", Expected({"enforce", "shadow"})));
    }
  }
  if (r.limit) r.counter_prefix = absl::StrCat(r.limit->kind == WindowKind::kRolling ? "r:" : "c:", r.id);
  if (r.quiet_hours) {
    r.quiet_text = absl::StrCat("quiet hours ", ClockText(r.quiet_hours->start_minute), "-",
                                ClockText(r.quiet_hours->end_minute));
  }
  return r;
}

struct FileResult {
  std::string version;
  std::string tenant;  // the file applies only to this tenant; empty = every tenant
  std::string timezone;
  absl::TimeZone zone;
  YAML::Mark timezone_mark;
  std::vector<std::pair<Rule, YAML::Mark>> rules;
  std::vector<CampaignGate> campaign_gates;
};

// `errors` null: stop at the first error. Otherwise a rule with an error is recorded there and left out, and
// parsing goes on with the next rule; errors about the file as a whole are returned.
absl::StatusOr<FileResult> ParseFile(const PolicyFile& file, std::vector<absl::Status>* errors) {
  ListBudget budget{.per_list = kMaxListEntries, .per_file = kMaxListEntriesPerFile};
  const Source src(file.path, &budget);
  if (file.text.size() > kMaxPolicyFileBytes) {
    return src.Error(1, 1, absl::StrCat("file is larger than ", kMaxPolicyFileBytes,
                                        " bytes, the most a policy file may be (split it into several files)"));
  }
  YAML::Node root;
  try {
    root = YAML::Load(file.text);
  } catch (const YAML::Exception& e) {
    return src.Error(e.mark.line + 1, e.mark.column + 1, absl::StrCat("not valid YAML: ", e.msg));
  }
  if (!root || root.IsNull()) {
    return src.Error(1, 1, "file is empty (expected 'version' and 'rules')");
  }
  TACT_RETURN_IF_ERROR(CheckKeys(root, {"version", "tenant", "defaults", "rules", "campaign_gates"}, src, "policy file"));
  FileResult out;
  if (!root["version"]) {
    return src.Error(root, "policy file: 'version' is required");
  }
  TACT_ASSIGN_OR_RETURN(out.version, ScalarString(root["version"], src, "version"));
  if (root["tenant"]) {
    TACT_ASSIGN_OR_RETURN(out.tenant, ScalarString(root["tenant"], src, "tenant"));
    if (!IsValidTenantId(out.tenant)) {
      return src.Error(root["tenant"], absl::StrCat("tenant: '", out.tenant.substr(0, 64),
                                                    "' is not a tenant id (1-256 letters, digits, '.', '_' or '-')"));
    }
  }
  if (const YAML::Node defaults = root["defaults"]) {
    TACT_RETURN_IF_ERROR(CheckKeys(defaults, {"timezone"}, src, "defaults"));
    if (defaults["timezone"]) {
      TACT_ASSIGN_OR_RETURN(out.zone, Zone(defaults["timezone"], src, "defaults.timezone", &out.timezone));
      out.timezone_mark = defaults["timezone"].Mark();
    }
  }
  const YAML::Node rules = root["rules"];
  if (!rules) {
    return src.Error(root, "policy file: 'rules' is required");
  }
  if (!rules.IsSequence()) {
    return src.Error(rules, "rules must be a list");
  }
  if (rules.size() > kMaxRules) {
    return src.Error(rules, absl::StrCat("the file has ", rules.size(), " rules; at most ", kMaxRules,
                                         " are allowed per policy set"));
  }
  int i = 0;
  for (const auto& node : rules) {
    absl::StatusOr<Rule> r = ParseRule(node, src, i, out.tenant);
    if (budget.exceeded) {  // at the rule, and the file stops here: past the budget every list would fail
      return src.Error(node, absl::StrCat(RuleWhere(node, i), ": ", budget.TotalExceeded()));
    }
    ++i;
    if (!r.ok()) {
      if (errors == nullptr) return r.status();
      errors->push_back(r.status());
      continue;
    }
    out.rules.emplace_back(*std::move(r), node.Mark());
  }
  if (root["campaign_gates"]) {
    TACT_RETURN_IF_ERROR(
        ParseCampaignGates(root["campaign_gates"], file.path, out.tenant, &out.campaign_gates, &budget));
  }
  return out;
}

// --- "can never decide": an earlier enforcing rule always applies first ------------------------------------
//
// Every (earlier, later) pair of enforcing rules is looked at, so a pair must cost O(1) beyond work linear in the
// rules' list entries (a 17 KB file aliasing one 1,000-entry list in 100 rules used to cost rules² × entries²).
// Each string list is interned once as a canonical set (sorted, distinct) with an id: identical lists, such as
// one list aliased by every rule, share an id and cover each other at no cost; a subset test between two
// distinct sets runs once per pair of sets (memoised) and by binary search. Channels and classes are bitmasks,
// quiet hours minute sets computed once per rule. The verdicts are those of the definition in policies/README.md
// ("Rules that can never decide"), unchanged.

// Lists at least this long are matched through a hash set (Match::campaign_set etc.).
constexpr size_t kIndexedListMin = 8;

// Interned string sets. Not thread-safe; one per ParseAll.
class ListSets {
 public:
  explicit ListSets(CheckWork& work) : work_(work) {}

  // The id of the set of `values` (a non-empty list).
  int Intern(const std::vector<std::string>& values) {
    work_.list_entries_read += values.size();  // hashing the list, and comparing it on a hit
    if (auto it = by_list_.find(values); it != by_list_.end()) return it->second;
    std::vector<std::string> set = values;
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    work_.list_entries_read += values.size();
    auto [it, fresh] = by_set_.try_emplace(std::move(set), static_cast<int>(sets_.size()));
    if (fresh) sets_.push_back(&it->first);
    by_list_.emplace(values, it->second);
    return it->second;
  }

  // The set `id` as a hash set for matching events, shared by every rule with that set; null for a short set
  // (a scan is as fast).
  std::shared_ptr<const Match::ValueSet> Index(int id) {
    if (sets_[id]->size() < kIndexedListMin) return nullptr;
    if (index_.size() <= static_cast<size_t>(id)) index_.resize(id + 1);
    if (index_[id] == nullptr) {
      index_[id] = std::make_shared<const Match::ValueSet>(sets_[id]->begin(), sets_[id]->end());
    }
    return index_[id];
  }

  // Whether set `inner` ⊆ set `outer`.
  bool Subset(int inner, int outer) {
    if (inner == outer) return true;
    const std::vector<std::string>& a = *sets_[inner];
    const std::vector<std::string>& b = *sets_[outer];
    if (a.size() > b.size() || a.front() < b.front() || b.back() < a.back()) return false;
    const std::pair<int, int> key(inner, outer);
    if (auto it = subset_.find(key); it != subset_.end()) return it->second;
    bool covered = true;
    auto from = b.begin();
    for (const std::string& v : a) {  // both sorted: each lookup starts past the previous one
      work_.list_entries_read += 1 + std::bit_width(static_cast<size_t>(b.end() - from));
      from = std::lower_bound(from, b.end(), v);
      if (from == b.end() || *from != v) {
        covered = false;
        break;
      }
      ++from;
    }
    subset_.emplace(key, covered);
    return covered;
  }

 private:
  CheckWork& work_;
  absl::flat_hash_map<std::vector<std::string>, int> by_list_;  // as written (aliases hit here) → id
  absl::node_hash_map<std::vector<std::string>, int> by_set_;   // canonical → id (node: stable keys)
  std::vector<const std::vector<std::string>*> sets_;           // id → canonical set (a key of by_set_)
  std::vector<std::shared_ptr<const Match::ValueSet>> index_;   // id → its hash set, once built
  absl::flat_hash_map<std::pair<int, int>, bool> subset_;
};

// What the check needs of one rule, computed once.
struct RuleFacts {
  bool transactional = false;  // names TRANSACTIONAL in message_class
  uint32_t channels = 0;       // listed channels (bits); 0 = no list, any channel
  uint32_t classes = 0;        // listed classes (bits); 0 = no list
  int tenants = -1;            // interned set; -1 = no list
  int campaigns = -1;
  std::vector<std::pair<int, int>> attributes;  // (interned key, interned values), sorted by key id
  std::bitset<1440> quiet;                      // quiet_hours only: the minutes it holds
};

template <typename Enum>
uint32_t Bits(const std::vector<Enum>& values) {
  uint32_t bits = 0;
  for (Enum v : values) bits |= 1u << static_cast<int>(v);
  return bits;
}

std::bitset<1440> QuietMinutes(const QuietHours& q) {
  std::bitset<1440> b;
  for (int m = q.start_minute; m != q.end_minute; m = (m + 1) % 1440) b.set(m);
  return b;
}

// An absent list (0 / -1) in `outer` covers anything; one in `inner` only an absent one in `outer`.
bool BitsCover(uint32_t outer, uint32_t inner) { return outer == 0 || (inner != 0 && (inner & ~outer) == 0); }

class ShadowCheck {
 public:
  explicit ShadowCheck(CheckWork& work) : sets_(work), work_(work) {}

  // The rule's facts; also attaches the hash sets of its long lists to r.match (shared between rules).
  RuleFacts Compile(Rule& r) {
    Match& m = r.match;
    RuleFacts f;
    f.transactional = std::find(m.classes.begin(), m.classes.end(), v1::TRANSACTIONAL) != m.classes.end();
    f.channels = Bits(m.channels);
    f.classes = Bits(m.classes);
    if (!m.tenants.empty()) {
      f.tenants = sets_.Intern(m.tenants);
      m.tenant_set = sets_.Index(f.tenants);
    }
    if (!m.campaigns.empty()) {
      f.campaigns = sets_.Intern(m.campaigns);
      m.campaign_set = sets_.Index(f.campaigns);
    }
    m.attribute_sets.clear();
    for (const auto& [key, values] : m.attributes) {
      const int key_id = keys_.try_emplace(key, static_cast<int>(keys_.size())).first->second;
      f.attributes.emplace_back(key_id, sets_.Intern(values));
      m.attribute_sets.push_back(sets_.Index(f.attributes.back().second));
    }
    std::sort(f.attributes.begin(), f.attributes.end());
    if (r.quiet_hours) f.quiet = QuietMinutes(*r.quiet_hours);
    return f;
  }

  // The first earlier rule (policy order) that makes `rule` unable to ever decide; null when none.
  const Rule* FindShadowing(const std::vector<Rule>& earlier, const std::vector<RuleFacts>& earlier_facts,
                            const Rule& rule, const RuleFacts& facts) {
    if (rule.mode != Mode::kEnforce) return nullptr;
    for (size_t i = 0; i < earlier.size(); ++i) {
      ++work_.rule_pairs;
      if (earlier[i].mode == Mode::kEnforce && EffectDominates(earlier[i], earlier_facts[i], rule, facts) &&
          MatchCovers(earlier_facts[i], facts)) {
        return &earlier[i];
      }
    }
    return nullptr;
  }

 private:
  // True when every message `inner` matches is also matched by `outer`.
  bool MatchCovers(const RuleFacts& outer, const RuleFacts& inner) {
    if (inner.transactional && !outer.transactional) return false;
    if (!BitsCover(outer.channels, inner.channels) || !BitsCover(outer.classes, inner.classes)) return false;
    if (!SetCovers(outer.tenants, inner.tenants) || !SetCovers(outer.campaigns, inner.campaigns)) return false;
    // Every attribute key of `outer` is in `inner`, with outer's values containing inner's.
    if (outer.attributes.size() > inner.attributes.size()) return false;
    auto from = inner.attributes.begin();
    for (const auto& [key, values] : outer.attributes) {
      from = std::lower_bound(from, inner.attributes.end(), std::make_pair(key, -1));
      if (from == inner.attributes.end() || from->first != key || !sets_.Subset(from->second, values)) return false;
      ++from;
    }
    return true;
  }

  bool SetCovers(int outer, int inner) { return outer < 0 || (inner >= 0 && sets_.Subset(inner, outer)); }

  // True when `later` can never be the deciding rule because `earlier` always applies whenever it would.
  static bool EffectDominates(const Rule& earlier, const RuleFacts& earlier_facts, const Rule& later,
                              const RuleFacts& later_facts) {
    if (earlier.limit && later.limit) {
      const Limit& a = *earlier.limit;
      const Limit& b = *later.limit;
      // Every release that counts toward `b` also counts toward `a` (a matches a superset, all limits of a
      // release are reserved together, and a's window holds b's), so a's counter is never below b's: while a is
      // under its count, b (count >= a's) is too.
      // a's window holds b's: a rolling window at least as long; a calendar week or month holds whole days.
      const bool window_covers = a.kind == b.kind && (a.kind == WindowKind::kRolling
                                                          ? a.window >= b.window
                                                          : a.unit == b.unit || b.unit == CalendarUnit::kDay);
      return window_covers && (a.scope == b.scope || a.scope == Scope::kCustomer) && a.count <= b.count;
    }
    if (earlier.suppress_if && later.suppress_if) {
      const SuppressIf& a = *earlier.suppress_if;
      const SuppressIf& b = *later.suppress_if;
      if (b.csat_at_most &&
          !(a.csat_at_most && *a.csat_at_most >= *b.csat_at_most && a.csat_within >= b.csat_within)) {
        return false;
      }
      if (b.open_complaint && !a.open_complaint) return false;
      if (b.escalation_within && !(a.escalation_within && *a.escalation_within >= *b.escalation_within)) {
        return false;
      }
      if (b.callback_pending && !a.callback_pending) return false;
      if (b.opted_out && !a.opted_out) return false;
      return true;
    }
    if (earlier.quiet_hours && later.quiet_hours) {
      return (earlier_facts.quiet & later_facts.quiet) == later_facts.quiet;
    }
    return false;
  }

  ListSets sets_;
  absl::flat_hash_map<std::string, int> keys_;  // attribute key → id
  CheckWork& work_;
};

// The cross-rule check of a new rule against the rules before it.
absl::Status CheckReachable(const Policy& policy, const std::vector<RuleFacts>& facts, ShadowCheck& check,
                            const Rule& rule, const RuleFacts& rule_facts, const Source& src,
                            const YAML::Mark& mark) {
  if (const Rule* earlier = check.FindShadowing(policy.rules, facts, rule, rule_facts)) {
    return src.Error(mark.line + 1, mark.column + 1,
                     absl::StrCat("rule '", rule.id, "' can never decide: the earlier rule '", earlier->id, "' (",
                                  earlier->file, ":", earlier->line,
                                  ") matches every message it matches and always applies first "
                                  "(remove it, or make it stricter than '", earlier->id, "')"));
  }
  return absl::OkStatus();
}

// ParsePolicy (errors null: the first error) and LintPolicy (every error into `errors`; the result is then
// meaningless). Cross-rule checks see every rule that parsed; their work is counted into `work`.
absl::StatusOr<Policy> ParseAll(const std::vector<PolicyFile>& files, std::vector<absl::Status>* errors,
                                CheckWork& work) {
  if (files.empty()) {
    return absl::InvalidArgumentError("no policy files (expected *.yaml files)");
  }
  // Records an error when collecting; true when the caller must stop and return it.
  auto stop = [errors](const absl::Status& e) {
    if (errors == nullptr) return true;
    errors->push_back(e);
    return false;
  };
  Policy policy;
  std::set<std::string> versions;
  std::string digest_input;
  absl::flat_hash_map<std::string, std::string> rule_origin;      // id → file:line
  absl::flat_hash_map<std::string, std::string> zone_origin;      // tenant ("" = all) → file:line of its zone
  size_t total_rules = 0;
  ShadowCheck shadow(work);
  std::vector<RuleFacts> facts;  // parallel to policy.rules
  for (const PolicyFile& file : files) {
    absl::StatusOr<FileResult> parsed = ParseFile(file, errors);
    if (!parsed.ok()) {
      if (stop(parsed.status())) return parsed.status();
      continue;
    }
    FileResult& fr = *parsed;
    const Source src(file.path);
    versions.insert(fr.version);
    if (!fr.timezone.empty()) {
      const std::string here = absl::StrCat(file.path, ":", fr.timezone_mark.line + 1);
      auto [it, fresh] = zone_origin.emplace(fr.tenant, here);
      const std::string& current = fr.tenant.empty() ? policy.default_timezone : policy.tenant_timezones[fr.tenant];
      if (!fresh && current != fr.timezone) {
        absl::Status e = src.Error(
            fr.timezone_mark.line + 1, fr.timezone_mark.column + 1,
            absl::StrCat("defaults.timezone '", fr.timezone, "' conflicts with '", current, "' set at ", it->second,
                         fr.tenant.empty() ? "" : absl::StrCat(" for tenant '", fr.tenant, "'")));
        if (stop(e)) return e;
      } else if (fr.tenant.empty()) {
        policy.default_timezone = fr.timezone;
        policy.default_zone = fr.zone;
      } else {
        policy.tenant_timezones[fr.tenant] = fr.timezone;
        policy.tenant_zones[fr.tenant] = fr.zone;
      }
    }
    total_rules += fr.rules.size();
    if (total_rules > kMaxRules) {
      absl::Status e = src.Error(1, 1, absl::StrCat("the policy set has more than ", kMaxRules, " rules"));
      if (errors != nullptr) errors->push_back(e);
      return e;  // nothing useful to add past the limit
    }
    for (auto& [rule, mark] : fr.rules) {
      const std::string here = absl::StrCat(file.path, ":", mark.line + 1);
      auto [it, fresh] = rule_origin.emplace(rule.id, here);
      if (!fresh) {
        absl::Status e = src.Error(mark.line + 1, mark.column + 1,
                                   absl::StrCat("rule id '", rule.id, "' is already used at ", it->second));
        if (stop(e)) return e;
        continue;
      }
      RuleFacts rule_facts = shadow.Compile(rule);
      absl::Status problem = CheckReachable(policy, facts, shadow, rule, rule_facts, src, mark);
      if (!problem.ok()) {
        if (stop(problem)) return problem;
        continue;
      }
      policy.rules.push_back(std::move(rule));
      facts.push_back(std::move(rule_facts));
    }
    TACT_RETURN_IF_ERROR(AddCampaignGates(std::move(fr.campaign_gates), &policy));
    absl::StrAppend(&digest_input, file.path.substr(file.path.find_last_of('/') + 1), "\n", file.text.size(), "\n",
                    file.text);
  }
  if (errors != nullptr && !errors->empty()) return errors->front();
  policy.version = absl::StrJoin(versions, "+");
  policy.digest = Sha256Hex(digest_input);
  CompileIndex(policy);
  return policy;
}

// "<file>:<line>:<col>: …" (the message starts with "<file>:") → (line, col), for sorting.
std::pair<int, int> Position(std::string_view message, std::string_view file) {
  message.remove_prefix(file.size() + 1);
  int line = 0;
  int col = 0;
  auto [p, ec] = std::from_chars(message.data(), message.data() + message.size(), line);
  if (ec == std::errc() && p < message.data() + message.size() && *p == ':') {
    std::from_chars(p + 1, message.data() + message.size(), col);
  }
  return {line, col};
}

}  // namespace

absl::StatusOr<Policy> ParsePolicy(const std::vector<PolicyFile>& files) {
  CheckWork work;
  return ParseAll(files, nullptr, work);
}

std::vector<std::string> LintPolicy(const std::vector<PolicyFile>& files) {
  CheckWork work;
  return LintPolicy(files, &work);
}

std::vector<std::string> LintPolicy(const std::vector<PolicyFile>& files, CheckWork* work) {
  std::vector<absl::Status> errors;
  CheckWork unused;
  absl::StatusOr<Policy> p = ParseAll(files, &errors, work != nullptr ? *work : unused);
  if (!p.ok() && errors.empty()) errors.push_back(p.status());
  struct Sorted {
    size_t file;
    int line;
    int col;
    std::string message;
  };
  std::vector<Sorted> sorted;
  for (const absl::Status& e : errors) {
    const std::string m(e.message());
    Sorted s{files.size(), 0, 0, std::string(m)};  // errors without a file (none today) sort last
    for (size_t f = 0; f < files.size(); ++f) {
      const std::string& path = files[f].path;
      const bool ours = m.size() > path.size() && m.compare(0, path.size(), path) == 0 && m[path.size()] == ':';
      if (ours && (s.file == files.size() || path.size() > files[s.file].path.size())) {  // longest path wins
        const auto [line, col] = Position(m, path);
        s = {f, line, col, std::string(m)};
      }
    }
    sorted.push_back(std::move(s));
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const Sorted& a, const Sorted& b) {
    return std::tie(a.file, a.line, a.col) < std::tie(b.file, b.line, b.col);
  });
  std::vector<std::string> out;
  for (Sorted& s : sorted) out.push_back(std::move(s.message));
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

absl::StatusOr<std::vector<PolicyFile>> ReadPolicyDir(const std::string& dir) {
  TACT_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListYamlFiles(dir));
  std::vector<PolicyFile> files;
  for (std::string& path : paths) {
    // One byte past the limit is enough for ParsePolicy to refuse a runaway file; the rest is never read.
    TACT_ASSIGN_OR_RETURN(std::string text, ReadFilePrefix(path, kMaxPolicyFileBytes + 1));
    files.push_back({std::move(path), std::move(text)});
  }
  return files;
}

absl::StatusOr<Policy> LoadPolicyDir(const std::string& dir) {
  TACT_ASSIGN_OR_RETURN(std::vector<PolicyFile> files, ReadPolicyDir(dir));
  if (files.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": no policy files (expected *.yaml)"));
  }
  return ParsePolicy(files);
}

}  // namespace tact::policy
