#pragma once

// tactctl's verbs as library functions (one header per verb group; the flags of each verb in flags.h). A verb
// takes its parsed arguments and the streams it writes to, reads its inputs through what it is given, and
// returns the exit code; daemon/tactctl/main.cc only wires them to the command line.
// Thread-safety: every verb is a plain function; it shares nothing but what its arguments point to.
#include <iosfwd>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tact::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the check failed: lint errors, failing tests, --expect not met
inline constexpr int kExitUsage = 2;   // bad flags, unreadable input, unreachable broker

// Where a verb writes: results to `out`, diagnostics to `err` (tactctl: std::cout and std::cerr).
struct Streams {
  std::ostream& out;
  std::ostream& err;
};

// The whole file at `path`; "-" is standard input. NOT_FOUND naming the path when it cannot be read.
absl::StatusOr<std::string> ReadText(const std::string& path);

// "2026-11-20T10:00:00+00:00" (the policy verbs' time format).
std::string Rfc3339(absl::Time t);
// "2026-11-20T10:00:00Z" (the capacity verbs' time format).
std::string Rfc3339Z(absl::Time t);

}  // namespace tact::cli
