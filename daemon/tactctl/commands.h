#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace tact::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the check failed: lint errors, failing tests, --expect not met
inline constexpr int kExitUsage = 2;   // bad flags, unreadable input, unreachable broker

// Each verb group registers its subcommands on `app`. When one of them is chosen on the command line, its
// callback sets `run` to the function that does the work and returns the exit code.
using RunFn = std::function<int()>;
void AddPolicyCommands(CLI::App& app, RunFn& run);  // lint, test, explain, simulate
void AddAuditCommands(CLI::App& app, RunFn& run);   // audit
void AddOpsCommands(CLI::App& app, RunFn& run);     // health
void AddCapacityCommands(CLI::App& app, RunFn& run);  // erlang, plan

}  // namespace tact::cli
