#pragma once

// policies/default (the repository's), as the benchmarks decide under it.

#include <cstdio>
#include <optional>
#include <string>

#include "daemon/decision/policy_files.h"

namespace tact::bench {

// policies/default, or nullopt after saying on stderr why it did not load.
inline std::optional<policy::Policy> DefaultPolicy() {
  absl::StatusOr<policy::Policy> pol = decision::LoadPolicyDir(TACT_SOURCE_DIR "/policies/default");
  if (!pol.ok()) {
    std::fprintf(stderr, "policies/default: %s\n", std::string(pol.status().message()).c_str());
    return std::nullopt;
  }
  return *std::move(pol);
}

}  // namespace tact::bench
