// libFuzzer target: the policy parser (policy::ParsePolicy) on arbitrary file text. Input: the text of one policy
// file; a NUL byte splits it into several files of one policy set (cross-file checks: duplicate ids, versions).
// Any result is fine except a crash, a sanitizer report, a hang or an error without file:line:col.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/policy/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<tact::policy::PolicyFile> files;
  size_t start = 0;
  for (size_t i = 0; i <= in.size(); ++i) {
    if (i == in.size() || in[i] == '\0') {
      files.push_back({.path = "fuzz-" + std::to_string(files.size()) + ".yaml",
                       .text = std::string(in.substr(start, i - start))});
      start = i + 1;
      if (files.size() == 4) break;
    }
  }
  const auto policy = tact::policy::ParsePolicy(files);
  if (!policy.ok()) {
    // Errors are INVALID_ARGUMENT "<file>:<line>:<col>: ..." (policies/README.md); anything else is a bug.
    const std::string msg(policy.status().message());
    if (policy.status().code() != absl::StatusCode::kInvalidArgument || msg.substr(0, 5) != "fuzz-") std::abort();
  }
  return 0;
}
