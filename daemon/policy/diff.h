#pragma once

// What changed between two policy sets, in the terms an auditor reads: rules added and removed, and for each
// rule kept (same id) whether the change lets more messages through (loosened), fewer (tightened), or cannot be
// ordered (changed), with the classes it concerns. `tactctl policy diff A B` prints it; `tactctl simulate
// --compare` quantifies the same change on a sample of events.
// Pure and deterministic: the rules in the order of the newer set, then the removed ones in the older set's order.
// Thread-safety: plain functions over immutable policies.
#include <string>
#include <vector>

#include "daemon/policy/policy.h"

namespace tact::policy {

enum class ChangeKind { kAdded, kRemoved, kLoosened, kTightened, kChanged };

// "added", "removed", "loosened", "tightened", "changed".
std::string_view ChangeKindName(ChangeKind k);

struct AspectChange {
  ChangeKind kind = ChangeKind::kChanged;
  std::string what;  // e.g. "limit count 1 -> 2", "mode enforce -> shadow"
};

struct RuleChange {
  std::string rule;                   // rule id
  ChangeKind kind = ChangeKind::kChanged;  // added / removed; else the strongest aspect: loosened over tightened
                                           // over changed (a change that loosens anything is reported as such)
  std::vector<AspectChange> aspects;  // empty for added / removed
  std::string effect;                 // added / removed: "limit 1 per calendar day", "suppress_if ...", ...
  std::vector<std::string> classes;   // the message classes the rule applies to, in either set
  std::string where;                  // "file:line" in the newer set (the older one for a removed rule)
};

struct PolicyDiff {
  std::string from_version, to_version;
  std::string from_digest, to_digest;
  std::vector<RuleChange> rules;
  std::vector<std::string> settings;  // changes outside rules: default time zones
  std::vector<std::string> classes;   // every class affected by a change, sorted
  int count(ChangeKind k) const;
};

PolicyDiff DiffPolicies(const Policy& from, const Policy& to);

}  // namespace tact::policy
