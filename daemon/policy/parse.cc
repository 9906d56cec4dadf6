#include "daemon/policy/parse.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/sha256.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"

namespace tact::policy {
namespace {

inline constexpr size_t kMaxPolicyFileBytes = 1 << 20;  // 1 MiB per file
inline constexpr size_t kMaxRules = 1000;

// Errors carry file:line:col (1-based) and a message written for a compliance analyst.
class Source {
 public:
  explicit Source(const std::string& path) : path_(path) {}
  absl::Status Error(const YAML::Node& at, const std::string& msg) const {
    const YAML::Mark m = at.Mark();
    return Error(m.line + 1, m.column + 1, msg);
  }
  absl::Status Error(int line, int col, const std::string& msg) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ":", line, ":", col, ": ", msg));
  }
  const std::string& path() const { return path_; }

 private:
  const std::string& path_;
};

std::string Expected(std::initializer_list<std::string_view> allowed) {
  std::string out = "(expected one of: ";
  for (std::string_view a : allowed) {
    out.append(a).append(a == *(allowed.end() - 1) ? ")" : ", ");
  }
  return out;
}

// Each mapping level has its own allowed keys; yaml-cpp keeps both entries of a duplicate key.
absl::Status CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed, const Source& src,
                       const std::string& where) {
  if (!map.IsMap()) {
    return src.Error(map, absl::StrCat(where, " must be a mapping of keys to values"));
  }
  absl::flat_hash_set<std::string> seen;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      return src.Error(kv.first, absl::StrCat(where, ": keys must be plain words"));
    }
    const std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return src.Error(kv.first, absl::StrCat(where, ": unknown key '", key, "' ", Expected(allowed)));
    }
    if (!seen.insert(key).second) {
      return src.Error(kv.first, absl::StrCat(where, ": key '", key, "' appears twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ScalarString(const YAML::Node& node, const Source& src, const std::string& what) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    return src.Error(node, absl::StrCat(what, " must be a non-empty text value"));
  }
  return node.Scalar();
}

absl::StatusOr<int64_t> PositiveInt(const YAML::Node& node, const Source& src, const std::string& what) {
  if (!node.IsScalar()) {
    return src.Error(node, absl::StrCat(what, " must be a whole number"));
  }
  const std::string& s = node.Scalar();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return src.Error(node, absl::StrCat(what, " must be a whole number, got '", s, "'"));
  }
  if (v <= 0) {
    return src.Error(node, absl::StrCat(what, " must be at least 1, got ", v));
  }
  return v;
}

// A scalar or a list of scalars, as a list.
absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node, const Source& src,
                                                    const std::string& what) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    TACT_ASSIGN_OR_RETURN(std::string v, ScalarString(node, src, what));
    out.push_back(std::move(v));
    return out;
  }
  if (!node.IsSequence() || node.size() == 0) {
    return src.Error(node, absl::StrCat(what, " must be a value or a non-empty list of values"));
  }
  for (const auto& item : node) {
    TACT_ASSIGN_OR_RETURN(std::string v, ScalarString(item, src, what));
    out.push_back(std::move(v));
  }
  return out;
}

template <typename Enum>
absl::StatusOr<std::vector<Enum>> EnumList(const YAML::Node& node, const Source& src, const std::string& what,
                                           bool (*parse)(const std::string&, Enum*),
                                           std::initializer_list<std::string_view> names) {
  TACT_ASSIGN_OR_RETURN(std::vector<std::string> values, StringList(node, src, what));
  std::vector<Enum> out;
  for (const std::string& v : values) {
    Enum e;
    if (!parse(v, &e) || static_cast<int>(e) == 0) {
      return src.Error(node, absl::StrCat(what, ": unknown value '", v, "' ", Expected(names)));
    }
    out.push_back(e);
  }
  return out;
}

absl::StatusOr<Match> ParseMatch(const YAML::Node& node, const Source& src, const std::string& where) {
  TACT_RETURN_IF_ERROR(
      CheckKeys(node, {"tenant", "channel", "message_class", "campaign", "attributes"}, src, where));
  Match m;
  if (node["tenant"]) {
    TACT_ASSIGN_OR_RETURN(m.tenants, StringList(node["tenant"], src, where + ".tenant"));
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
  return m;
}

absl::StatusOr<Limit> ParseLimit(const YAML::Node& node, const Source& src, const std::string& where) {
  TACT_RETURN_IF_ERROR(CheckKeys(node, {"count", "window", "kind", "scope"}, src, where));
  Limit l;
  if (!node["count"]) {
    return src.Error(node, where + ": 'count' is required");
  }
  TACT_ASSIGN_OR_RETURN(l.count, PositiveInt(node["count"], src, where + ".count"));
  if (!node["window"]) {
    return src.Error(node, where + ": 'window' is required (e.g. 7d)");
  }
  TACT_ASSIGN_OR_RETURN(std::string window, ScalarString(node["window"], src, where + ".window"));
  absl::StatusOr<absl::Duration> d = ParseDuration(window);
  if (!d.ok()) {
    return src.Error(node["window"], absl::StrCat(where, ".window: ", d.status().message()));
  }
  l.window = *d;
  if (const YAML::Node kind = node["kind"]) {
    TACT_ASSIGN_OR_RETURN(std::string k, ScalarString(kind, src, where + ".kind"));
    if (k != "rolling") {
      return src.Error(kind, absl::StrCat(where, ".kind: unknown value '", k, "' ", Expected({"rolling"})));
    }
  }
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

absl::StatusOr<Rule> ParseRule(const YAML::Node& node, const Source& src, int index) {
  const std::string where = absl::StrCat("rule #", index + 1);
  TACT_RETURN_IF_ERROR(
      CheckKeys(node, {"id", "description", "match", "limit", "on_exceed", "mode"}, src, where));
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
  if (!node["limit"]) {
    return src.Error(node, rw + ": an effect is required (limit)");
  }
  TACT_ASSIGN_OR_RETURN(r.limit, ParseLimit(node["limit"], src, rw + ".limit"));
  if (const YAML::Node oe = node["on_exceed"]) {
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
  return r;
}

struct FileResult {
  std::string version;
  std::string timezone;
  std::vector<std::pair<Rule, YAML::Mark>> rules;
};

absl::StatusOr<FileResult> ParseFile(const PolicyFile& file) {
  const Source src(file.path);
  if (file.text.size() > kMaxPolicyFileBytes) {
    return src.Error(1, 1, absl::StrCat("file is larger than ", kMaxPolicyFileBytes, " bytes"));
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
  TACT_RETURN_IF_ERROR(CheckKeys(root, {"version", "defaults", "rules"}, src, "policy file"));
  FileResult out;
  if (!root["version"]) {
    return src.Error(root, "policy file: 'version' is required");
  }
  TACT_ASSIGN_OR_RETURN(out.version, ScalarString(root["version"], src, "version"));
  if (const YAML::Node defaults = root["defaults"]) {
    TACT_RETURN_IF_ERROR(CheckKeys(defaults, {"timezone"}, src, "defaults"));
    if (defaults["timezone"]) {
      TACT_ASSIGN_OR_RETURN(out.timezone, ScalarString(defaults["timezone"], src, "defaults.timezone"));
      absl::TimeZone tz;
      if (!absl::LoadTimeZone(out.timezone, &tz)) {
        return src.Error(defaults["timezone"], absl::StrCat("defaults.timezone: unknown time zone '", out.timezone,
                                                            "' (expected an IANA name such as Europe/Berlin)"));
      }
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
    return src.Error(rules, absl::StrCat("more than ", kMaxRules, " rules"));
  }
  int i = 0;
  for (const auto& node : rules) {
    TACT_ASSIGN_OR_RETURN(Rule r, ParseRule(node, src, i++));
    out.rules.emplace_back(std::move(r), node.Mark());
  }
  return out;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(std::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError("empty duration (expected e.g. 30m, 24h, 7d)");
  }
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    if (i == start || i == text.size() || i - start > 6) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad duration '", AsAbsl(text), "' (expected e.g. 30m, 24h, 7d, 1d12h)"));
    }
    int64_t n = 0;
    std::from_chars(text.data() + start, text.data() + i, n);
    switch (text[i]) {
      case 's': total += absl::Seconds(n); break;
      case 'm': total += absl::Minutes(n); break;
      case 'h': total += absl::Hours(n); break;
      case 'd': total += absl::Hours(24 * n); break;
      case 'w': total += absl::Hours(24 * 7 * n); break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("bad duration '", AsAbsl(text), "' (expected e.g. 30m, 24h, 7d, 1d12h)"));
    }
    ++i;
  }
  if (total <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("duration '", AsAbsl(text), "' must be longer than zero"));
  }
  return total;
}

absl::StatusOr<Policy> ParsePolicy(const std::vector<PolicyFile>& files) {
  if (files.empty()) {
    return absl::InvalidArgumentError("no policy files (expected *.yaml files)");
  }
  Policy policy;
  std::set<std::string> versions;
  std::string digest_input;
  absl::flat_hash_map<std::string, std::string> rule_origin;  // id → file:line
  for (const PolicyFile& file : files) {
    TACT_ASSIGN_OR_RETURN(FileResult fr, ParseFile(file));
    versions.insert(fr.version);
    if (!fr.timezone.empty()) {
      policy.default_timezone = fr.timezone;
    }
    const Source src(file.path);
    for (auto& [rule, mark] : fr.rules) {
      const std::string here = absl::StrCat(file.path, ":", mark.line + 1);
      auto [it, fresh] = rule_origin.emplace(rule.id, here);
      if (!fresh) {
        return src.Error(mark.line + 1, mark.column + 1,
                         absl::StrCat("rule id '", rule.id, "' is already used at ", it->second));
      }
      policy.rules.push_back(std::move(rule));
    }
    absl::StrAppend(&digest_input, file.path.substr(file.path.find_last_of('/') + 1), "\n", file.text.size(), "\n",
                    file.text);
  }
  policy.version = absl::StrJoin(versions, "+");
  policy.digest = Sha256Hex(digest_input);
  return policy;
}

absl::StatusOr<Policy> LoadPolicyDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir, ": not a directory"));
  }
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
      paths.push_back(entry.path());
    }
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat(dir, ": ", ec.message()));
  }
  std::sort(paths.begin(), paths.end());
  std::vector<PolicyFile> files;
  for (const fs::path& p : paths) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return absl::UnavailableError(absl::StrCat(p.string(), ": cannot read"));
    }
    files.push_back({p.string(), text.str()});
  }
  if (files.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": no policy files (expected *.yaml)"));
  }
  return ParsePolicy(files);
}

}  // namespace tact::policy
