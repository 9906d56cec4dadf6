#include "daemon/policy/campaign_gates.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/policy/parse.h"
#include "daemon/policy/parse_rule.h"
#include "daemon/policy/yaml_reader.h"

namespace tact::policy {
namespace {

using namespace yaml_reader;  // NOLINT: the YAML reading vocabulary shared with parse.cc

absl::StatusOr<double> Number(const YAML::Node& node, const Source& src, const std::string& what, double lo,
                              double hi) {
  if (!node.IsScalar() || node.Scalar().empty()) return src.Error(node, absl::StrCat(what, " must be a number"));
  const std::string& s = node.Scalar();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return src.Error(node, absl::StrCat(what, " must be a number, got '", s, "'"));
  if (!(v > lo) || v > hi) {
    return src.Error(node, absl::StrCat(what, " must be more than ", lo, " and at most ", hi, ", got ", s));
  }
  return v;
}

absl::StatusOr<PauseWhen> ParsePauseWhen(const YAML::Node& node, const Source& src, const std::string& where) {
  TACT_RETURN_IF_ERROR(
      CheckKeys(node, {"contacts_over_plan", "complaints_per_1000", "min_contacts", "min_released"}, src, where));
  PauseWhen p;
  if (node["contacts_over_plan"]) {
    TACT_ASSIGN_OR_RETURN(p.contacts_over_plan,
                          Number(node["contacts_over_plan"], src, where + ".contacts_over_plan", 0, 1000));
  }
  if (node["complaints_per_1000"]) {
    TACT_ASSIGN_OR_RETURN(p.complaints_per_1000,
                          Number(node["complaints_per_1000"], src, where + ".complaints_per_1000", 0, 1000));
  }
  if (p.contacts_over_plan == 0 && p.complaints_per_1000 == 0) {
    return src.Error(node, where + ": name at least one of contacts_over_plan, complaints_per_1000");
  }
  if (node["min_contacts"]) {
    TACT_ASSIGN_OR_RETURN(p.min_contacts, IntInRange(node["min_contacts"], src, where + ".min_contacts", 1, 1'000'000));
  }
  if (node["min_released"]) {
    TACT_ASSIGN_OR_RETURN(p.min_released, IntInRange(node["min_released"], src, where + ".min_released", 1, 100'000'000));
  }
  return p;
}

std::string GateWhere(const YAML::Node& node, int index) {
  if (node.IsMap() && node["id"] && node["id"].IsScalar() && !node["id"].Scalar().empty()) {
    return absl::StrCat("campaign gate '", node["id"].Scalar(), "'");
  }
  return absl::StrCat("campaign gate #", index + 1);
}

absl::StatusOr<CampaignGate> ParseGate(const YAML::Node& node, const Source& src, int index,
                                       const std::string& file_tenant) {
  const std::string where = GateWhere(node, index);
  TACT_RETURN_IF_ERROR(CheckKeys(
      node, {"id", "description", "match", "require_acknowledgement", "min_notice", "pause_when"}, src, where));
  CampaignGate g;
  g.file = src.path();
  g.line = node.Mark().line + 1;
  g.column = node.Mark().column + 1;
  if (!node["id"]) return src.Error(node, where + ": 'id' is required");
  TACT_ASSIGN_OR_RETURN(g.id, ScalarString(node["id"], src, where + ".id"));
  const bool id_ok = std::all_of(g.id.begin(), g.id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
  if (!id_ok || g.id.size() > 64) {
    return src.Error(node["id"], absl::StrCat("campaign gate id '", g.id,
                                              "' must be 1-64 characters of a-z, 0-9, '-', '_' or '.'"));
  }
  if (node["description"]) {
    TACT_RETURN_IF_ERROR(ScalarString(node["description"], src, where + ".description").status());
  }
  if (node["match"]) {
    TACT_ASSIGN_OR_RETURN(g.match, ParseMatch(node["match"], src, where + ".match", MatchSection::kCampaignGate));
  }
  if (!file_tenant.empty()) {
    if (!g.match.tenants.empty() &&
        std::find(g.match.tenants.begin(), g.match.tenants.end(), file_tenant) == g.match.tenants.end()) {
      return src.Error(node["match"]["tenant"],
                       absl::StrCat(where, " can never match: this file applies only to tenant '", file_tenant, "'"));
    }
    g.match.tenants = {file_tenant};
  }
  if (node["require_acknowledgement"]) {
    TACT_ASSIGN_OR_RETURN(g.require_acknowledgement,
                          Bool(node["require_acknowledgement"], src, where + ".require_acknowledgement"));
  }
  if (const YAML::Node n = node["min_notice"]) {
    TACT_ASSIGN_OR_RETURN(std::string text, ScalarString(n, src, where + ".min_notice"));
    absl::StatusOr<absl::Duration> d = ParseDuration(text);
    if (!d.ok()) return src.Error(n, absl::StrCat(where, ".min_notice: ", d.status().message()));
    if (*d > absl::Hours(24 * 31)) {
      return src.Error(n, absl::StrCat(where, ".min_notice: at most 31d, got '", text, "'"));
    }
    g.min_notice = *d;
  }
  if (node["pause_when"]) {
    TACT_ASSIGN_OR_RETURN(g.pause_when, ParsePauseWhen(node["pause_when"], src, where + ".pause_when"));
  }
  return g;
}

bool Matches(const Match& m, std::string_view tenant, Channel channel) {
  if (!m.tenants.empty() && std::find(m.tenants.begin(), m.tenants.end(), tenant) == m.tenants.end()) return false;
  return (m.channel_mask & (1u << channel)) != 0 || channel == v1::CHANNEL_UNSPECIFIED;
}

}  // namespace

const CampaignGate* FindCampaignGate(const Policy& policy, const Event& event) {
  if (event.campaign_id.empty() || policy.campaign_gates == nullptr) return nullptr;
  for (const CampaignGate& g : policy.campaign_gates->gates) {
    if (!Matches(g.match, event.tenant, event.channel)) continue;
    if ((g.match.class_mask & (1u << event.message_class)) == 0) continue;
    return &g;
  }
  return nullptr;
}

const CampaignGate* FindFeedbackGate(const Policy& policy, std::string_view tenant, Channel channel) {
  if (policy.campaign_gates == nullptr) return nullptr;
  for (const CampaignGate& g : policy.campaign_gates->gates) {
    if (Matches(g.match, tenant, channel)) return &g;
  }
  return nullptr;
}

absl::Status ParseCampaignGates(const YAML::Node& node, const std::string& path, const std::string& file_tenant,
                                std::vector<CampaignGate>* out, ListBudget* budget) {
  const Source src(path, budget);
  if (!node.IsSequence()) return src.Error(node, "campaign_gates must be a list");
  if (node.size() > kMaxCampaignGates) {  // before parsing any of them
    return src.Error(node, absl::StrCat("campaign_gates has ", node.size(), " gates; at most ", kMaxCampaignGates,
                                        " are allowed per policy set"));
  }
  int i = 0;
  for (const auto& item : node) {
    absl::StatusOr<CampaignGate> g = ParseGate(item, src, i, file_tenant);
    if (budget != nullptr && budget->exceeded) {  // at the gate: an aliased list's mark is its anchor's
      return src.Error(item, absl::StrCat(GateWhere(item, i), ": ", budget->TotalExceeded()));
    }
    ++i;
    if (!g.ok()) return g.status();
    out->push_back(*std::move(g));
  }
  return absl::OkStatus();
}

absl::Status AddCampaignGates(std::vector<CampaignGate> gates, Policy* policy) {
  if (gates.empty()) return absl::OkStatus();
  auto all = std::make_shared<CampaignGates>(policy->campaign_gates ? *policy->campaign_gates : CampaignGates{});
  for (CampaignGate& g : gates) {
    if (all->gates.size() == kMaxCampaignGates) {
      return absl::InvalidArgumentError(absl::StrCat(g.file, ":", g.line, ":", g.column, ": campaign gate '", g.id,
                                                     "': the policy set has more than ", kMaxCampaignGates,
                                                     " campaign gates"));
    }
    for (const CampaignGate& earlier : all->gates) {
      if (earlier.id == g.id) {
        return absl::InvalidArgumentError(absl::StrCat(g.file, ":", g.line, ":", g.column, ": campaign gate id '",
                                                       g.id, "' is already used at ", earlier.file, ":",
                                                       earlier.line));
      }
    }
    all->gates.push_back(std::move(g));
  }
  policy->campaign_gates = std::move(all);
  return absl::OkStatus();
}

}  // namespace tact::policy
