#include "daemon/policy/parse.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/sha256.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/policy/campaign_gates.h"
#include "daemon/policy/parse_rule.h"
#include "daemon/policy/shadow_check.h"
#include "daemon/policy/yaml_reader.h"

// Parsing a policy set: each file (parse_rule.cc for its rules), then the whole set (ids, zones, the check that
// every rule can decide, the index). Pure: the files' text is given.
namespace tact::policy {
namespace {

using namespace yaml_reader;  // NOLINT: the YAML reading vocabulary shared by the parser's files

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

struct FileResult {
  std::string version;
  std::string tenant;  // the file applies only to this tenant; empty = every tenant
  std::string timezone;
  absl::TimeZone zone;
  YAML::Mark timezone_mark;
  std::vector<std::pair<Rule, YAML::Mark>> rules;
  std::vector<CampaignGate> campaign_gates;
  Provenance provenance;
};

// provenance: { author, approver, reason, ticket }: free text for auditors, each at most 256 bytes.
absl::Status ParseProvenance(const YAML::Node& node, const Source& src, Provenance& out) {
  TACT_RETURN_IF_ERROR(CheckKeys(node, {"author", "approver", "reason", "ticket"}, src, "provenance"));
  for (auto [key, field] : {std::pair{"author", &out.author}, std::pair{"approver", &out.approver},
                            std::pair{"reason", &out.reason}, std::pair{"ticket", &out.ticket}}) {
    if (!node[key]) continue;
    TACT_ASSIGN_OR_RETURN(*field, ScalarString(node[key], src, absl::StrCat("provenance.", key)));
    if (field->size() > 256) {
      return src.Error(node[key], absl::StrCat("provenance.", key, ": at most 256 bytes"));
    }
  }
  out.source = "files";
  return absl::OkStatus();
}

// version, tenant and defaults of a policy file.
absl::Status ParseFileHeader(const YAML::Node& root, const Source& src, FileResult& out) {
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
  if (const YAML::Node provenance = root["provenance"]) {
    if (!provenance.IsMap()) return src.Error(provenance, "provenance must be a mapping (author, approver, reason, ticket)");
    TACT_RETURN_IF_ERROR(ParseProvenance(provenance, src, out.provenance));
  }
  if (const YAML::Node defaults = root["defaults"]) {
    TACT_RETURN_IF_ERROR(CheckKeys(defaults, {"timezone"}, src, "defaults"));
    if (defaults["timezone"]) {
      TACT_ASSIGN_OR_RETURN(out.zone, Zone(defaults["timezone"], src, "defaults.timezone", &out.timezone));
      out.timezone_mark = defaults["timezone"].Mark();
    }
  }
  return absl::OkStatus();
}

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
  TACT_RETURN_IF_ERROR(
      CheckKeys(root, {"version", "tenant", "provenance", "defaults", "rules", "campaign_gates"}, src, "policy file"));
  FileResult out;
  TACT_RETURN_IF_ERROR(ParseFileHeader(root, src, out));
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


// The policy set built file by file: ParsePolicy (errors null: the first error) and LintPolicy (every error into
// `errors`; the result is then meaningless). Cross-rule checks see every rule that parsed; their work is counted
// into `work`.
class PolicyAssembler {
 public:
  PolicyAssembler(std::vector<absl::Status>* errors, CheckWork& work) : errors_(errors), shadow_(work) {}

  // Adds one file; an error when parsing must stop (the first error, or one past which nothing is useful).
  absl::Status AddFile(const PolicyFile& file) {
    absl::StatusOr<FileResult> parsed = ParseFile(file, errors_);
    if (!parsed.ok()) return Record(parsed.status());
    FileResult& fr = *parsed;
    const Source src(file.path);
    versions_.insert(fr.version);
    AddProvenance(fr.provenance);
    if (!fr.timezone.empty()) TACT_RETURN_IF_ERROR(AddZone(fr, src));
    total_rules_ += fr.rules.size();
    if (total_rules_ > kMaxRules) {
      absl::Status e = src.Error(1, 1, absl::StrCat("the policy set has more than ", kMaxRules, " rules"));
      if (errors_ != nullptr) errors_->push_back(e);
      return e;  // nothing useful to add past the limit
    }
    for (auto& [rule, mark] : fr.rules) TACT_RETURN_IF_ERROR(AddRule(std::move(rule), mark, src));
    TACT_RETURN_IF_ERROR(AddCampaignGates(std::move(fr.campaign_gates), &policy_));
    absl::StrAppend(&digest_input_, file.path.substr(file.path.find_last_of('/') + 1), "\n", file.text.size(), "\n",
                    file.text);
    return absl::OkStatus();
  }

  void AddProvenance(const Provenance& p) {
    for (auto [value, values] : {std::pair{&p.author, &authors_}, std::pair{&p.approver, &approvers_},
                                 std::pair{&p.reason, &reasons_}, std::pair{&p.ticket, &tickets_}}) {
      if (!value->empty() && std::find(values->begin(), values->end(), *value) == values->end()) {
        values->push_back(*value);
      }
    }
  }

  absl::StatusOr<Policy> Finish() {
    if (errors_ != nullptr && !errors_->empty()) return errors_->front();
    policy_.version = absl::StrJoin(versions_, "+");
    policy_.digest = Sha256Hex(digest_input_);
    Provenance& p = policy_.provenance;
    for (auto [field, values] : {std::pair{&p.author, &authors_}, std::pair{&p.approver, &approvers_},
                                 std::pair{&p.reason, &reasons_}, std::pair{&p.ticket, &tickets_}}) {
      *field = absl::StrJoin(*values, ", ");
    }
    if (!p.empty()) p.source = "files";
    CompileIndex(policy_);
    return std::move(policy_);
  }

 private:
  // Records an error when collecting (and goes on: OK); else returns it, and parsing stops.
  absl::Status Record(const absl::Status& e) {
    if (errors_ == nullptr) return e;
    errors_->push_back(e);
    return absl::OkStatus();
  }

  // The file's defaults.timezone, for every tenant or for the file's tenant: one zone each across the files.
  absl::Status AddZone(const FileResult& fr, const Source& src) {
    const std::string here = absl::StrCat(src.path(), ":", fr.timezone_mark.line + 1);
    auto [it, fresh] = zone_origin_.emplace(fr.tenant, here);
    const std::string& current = fr.tenant.empty() ? policy_.default_timezone : policy_.tenant_timezones[fr.tenant];
    if (!fresh && current != fr.timezone) {
      return Record(src.Error(
          fr.timezone_mark.line + 1, fr.timezone_mark.column + 1,
          absl::StrCat("defaults.timezone '", fr.timezone, "' conflicts with '", current, "' set at ", it->second,
                       fr.tenant.empty() ? "" : absl::StrCat(" for tenant '", fr.tenant, "'"))));
    }
    if (fr.tenant.empty()) {
      policy_.default_timezone = fr.timezone;
      policy_.default_zone = fr.zone;
    } else {
      policy_.tenant_timezones[fr.tenant] = fr.timezone;
      policy_.tenant_zones[fr.tenant] = fr.zone;
    }
    return absl::OkStatus();
  }

  // A rule with an id not used before that can decide after the rules before it.
  absl::Status AddRule(Rule rule, const YAML::Mark& mark, const Source& src) {
    const std::string here = absl::StrCat(src.path(), ":", mark.line + 1);
    auto [it, fresh] = rule_origin_.emplace(rule.id, here);
    if (!fresh) {
      return Record(src.Error(mark.line + 1, mark.column + 1,
                              absl::StrCat("rule id '", rule.id, "' is already used at ", it->second)));
    }
    if (absl::Status problem = shadow_.Add(rule, policy_.rules, src, mark); !problem.ok()) return Record(problem);
    policy_.rules.push_back(std::move(rule));
    return absl::OkStatus();
  }

  std::vector<absl::Status>* const errors_;
  Policy policy_;
  std::set<std::string> versions_;
  std::string digest_input_;
  std::vector<std::string> authors_, approvers_, reasons_, tickets_;  // distinct, in file order
  absl::flat_hash_map<std::string, std::string> rule_origin_;  // id → file:line
  absl::flat_hash_map<std::string, std::string> zone_origin_;  // tenant ("" = all) → file:line of its zone
  size_t total_rules_ = 0;
  ShadowCheck shadow_;
};

absl::StatusOr<Policy> ParseAll(const std::vector<PolicyFile>& files, std::vector<absl::Status>* errors,
                                CheckWork& work) {
  if (files.empty()) {
    return absl::InvalidArgumentError("no policy files (expected *.yaml files)");
  }
  PolicyAssembler assembler(errors, work);
  for (const PolicyFile& file : files) TACT_RETURN_IF_ERROR(assembler.AddFile(file));
  return assembler.Finish();
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


// Where an error belongs for sorting: its file (index in `files`; errors without a file last), line, column.
struct Sorted {
  size_t file;
  int line;
  int col;
  std::string message;
};

Sorted Locate(const std::vector<PolicyFile>& files, const absl::Status& e) {
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
  return s;
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
  std::vector<Sorted> sorted;
  for (const absl::Status& e : errors) sorted.push_back(Locate(files, e));
  std::stable_sort(sorted.begin(), sorted.end(), [](const Sorted& a, const Sorted& b) {
    return std::tie(a.file, a.line, a.col) < std::tie(b.file, b.line, b.col);
  });
  std::vector<std::string> out;
  for (Sorted& s : sorted) out.push_back(std::move(s.message));
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace tact::policy
