#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/core/duration.h"
#include "daemon/policy/policy.h"

namespace tact::policy {

inline constexpr size_t kMaxPolicyFileBytes = 1 << 20;  // 1 MiB per file
inline constexpr size_t kMaxRules = 1000;               // per policy set
inline constexpr size_t kMaxCampaignGates = 1000;       // per policy set
// List entries (tenant, channel, message_class, campaign, attribute values; rules and campaign gates): at most
// this many in one list, and in all the lists of one file, where a YAML alias counts each time it is used.
inline constexpr size_t kMaxListEntries = 10'000;
inline constexpr size_t kMaxListEntriesPerFile = 1'000'000;

struct PolicyFile {
  std::string path;  // as shown in errors, e.g. "policies/default/care.yaml"
  std::string text;
};

// Parses and validates a policy set. All-or-nothing: the first error is returned as INVALID_ARGUMENT
// "<file>:<line>:<col>: <message>". Pure: parses the text it is given and reads no file (decision/policy_files.h
// reads a policy directory); time zones come from the system zoneinfo via cctz.
absl::StatusOr<Policy> ParsePolicy(const std::vector<PolicyFile>& files);

// Every error of a policy set, for `tactctl lint`: after an error in a rule, parsing goes on with the next rule
// (the broken rule is left out of the checks across rules); after an error about a whole file (not YAML, no
// version, rules not a list), with the next file. Each "<file>:<line>:<col>: <message>", sorted by file (in
// `files` order), line and column. Empty ⇔ ParsePolicy succeeds. tactd loads with ParsePolicy: all or nothing.
std::vector<std::string> LintPolicy(const std::vector<PolicyFile>& files);

// How much work the checks across rules did, for tests that hold it to near-linear (no wall-clock thresholds).
struct CheckWork {
  uint64_t list_entries_read = 0;  // list entries read by the shadowing check (interning and subset tests)
  uint64_t rule_pairs = 0;         // (earlier, later) rule pairs the shadowing check looked at
};
// LintPolicy, also counting the work of the cross-rule checks into `work`.
std::vector<std::string> LintPolicy(const std::vector<PolicyFile>& files, CheckWork* work);

// Strict duration ("7d", "1d12h", "90m"; daemon/core/duration.h).
using ::tact::ParseDuration;

}  // namespace tact::policy
