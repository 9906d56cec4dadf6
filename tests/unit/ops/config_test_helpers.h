#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "daemon/ops/config.h"

namespace tact::ops::testing {

// A config file's text applied to defaults: "ok" or the error message; the result in `out` when given.
inline std::string Apply(const std::string& text, Config* out = nullptr) {
  Config c;
  absl::Status s = ApplyConfigFile("tactd.yaml", text, c);
  if (out != nullptr) *out = c;
  return s.ok() ? "ok" : std::string(s.message());
}

// Environment variables applied to defaults, the same way.
inline std::string Env(const std::map<std::string, std::string>& env, Config* out = nullptr) {
  Config c;
  absl::Status s = ApplyEnvironment(env, c);
  if (out != nullptr) *out = c;
  return s.ok() ? "ok" : std::string(s.message());
}

}  // namespace tact::ops::testing
