// tactctl policy diff: what changed between two policy sets, for an auditor (daemon/policy/diff.h).
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "daemon/cli/policy_verbs.h"
#include "daemon/decision/policy_files.h"
#include "daemon/policy/diff.h"
#include "nlohmann/json.hpp"

namespace tact::cli {
namespace {

using policy::ChangeKind;

std::string Summary(const policy::PolicyDiff& d) {
  return absl::StrFormat("%d loosened, %d tightened, %d added, %d removed, %d changed; classes affected: %s",
                         d.count(ChangeKind::kLoosened), d.count(ChangeKind::kTightened), d.count(ChangeKind::kAdded),
                         d.count(ChangeKind::kRemoved), d.count(ChangeKind::kChanged),
                         d.classes.empty() ? "none" : absl::StrJoin(d.classes, ", "));
}

void PrintText(const policy::PolicyDiff& d, std::ostream& out) {
  out << "policy " << d.from_version << " (" << d.from_digest.substr(0, 12) << ") -> " << d.to_version << " ("
      << d.to_digest.substr(0, 12) << ")\n";
  for (const policy::RuleChange& r : d.rules) {
    out << absl::StrFormat("%-10s %s  (%s; classes %s)\n", policy::ChangeKindName(r.kind), r.rule, r.where,
                           absl::StrJoin(r.classes, ", "));
    if (!r.effect.empty()) out << "             " << r.effect << "\n";
    for (const policy::AspectChange& a : r.aspects) {
      out << absl::StrFormat("             %-9s %s\n", policy::ChangeKindName(a.kind), a.what);
    }
  }
  for (const std::string& s : d.settings) out << "settings   " << s << "\n";
  out << Summary(d) << "\n";
}

nlohmann::json ToJson(const policy::PolicyDiff& d) {
  nlohmann::json rules = nlohmann::json::array();
  for (const policy::RuleChange& r : d.rules) {
    nlohmann::json aspects = nlohmann::json::array();
    for (const policy::AspectChange& a : r.aspects) {
      aspects.push_back({{"change", policy::ChangeKindName(a.kind)}, {"what", a.what}});
    }
    rules.push_back({{"rule", r.rule}, {"change", policy::ChangeKindName(r.kind)}, {"where", r.where},
                     {"classes", r.classes}, {"effect", r.effect}, {"aspects", aspects}});
  }
  nlohmann::json summary;
  for (ChangeKind k : {ChangeKind::kLoosened, ChangeKind::kTightened, ChangeKind::kAdded, ChangeKind::kRemoved,
                       ChangeKind::kChanged}) {
    summary[std::string(policy::ChangeKindName(k))] = d.count(k);
  }
  return {{"from", {{"version", d.from_version}, {"digest", d.from_digest}}},
          {"to", {{"version", d.to_version}, {"digest", d.to_digest}}},
          {"rules", rules},
          {"settings", d.settings},
          {"classes", d.classes},
          {"summary", summary}};
}

}  // namespace

int PolicyDiff(const PolicyDiffArgs& args, const Streams& io) {
  absl::StatusOr<policy::Policy> from = decision::LoadPolicyDir(args.from);
  absl::StatusOr<policy::Policy> to = from.ok() ? decision::LoadPolicyDir(args.to) : from;
  if (!to.ok()) {
    io.err << to.status().message() << "\n";
    return kExitUsage;
  }
  const policy::PolicyDiff diff = policy::DiffPolicies(*from, *to);
  if (args.json) {
    io.out << ToJson(diff).dump() << "\n";
  } else {
    PrintText(diff, io.out);
  }
  const bool loosened = diff.count(ChangeKind::kLoosened) + diff.count(ChangeKind::kRemoved) > 0;
  if (args.fail_on_loosened && loosened) {
    io.err << "policy diff: " << diff.count(ChangeKind::kLoosened) << " rule(s) loosened, "
           << diff.count(ChangeKind::kRemoved) << " removed (--fail-on-loosened)\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace tact::cli
