#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/policy/policy.h"

namespace tact::policy {

struct PolicyFile {
  std::string path;  // as shown in errors, e.g. "policies/default/care.yaml"
  std::string text;
};

// Parses and validates a policy set. All-or-nothing: the first error is returned as INVALID_ARGUMENT
// "<file>:<line>:<col>: <message>". Pure: no I/O.
absl::StatusOr<Policy> ParsePolicy(const std::vector<PolicyFile>& files);

// Reads every *.yaml / *.yml file directly in `dir` (sorted by name) and parses them as one set.
absl::StatusOr<Policy> LoadPolicyDir(const std::string& dir);

// Strict duration: a sequence of <int><unit> with unit in s, m, h, d, w ("7d", "1d12h", "90m"). Positive.
absl::StatusOr<absl::Duration> ParseDuration(std::string_view text);

}  // namespace tact::policy
