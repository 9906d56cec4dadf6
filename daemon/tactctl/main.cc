// tactctl: the command line for people — compliance, marketing ops, on-call.
// Exit codes (all verbs): 0 success, 1 the check failed (lint errors, failing policy tests, --expect not met),
// 2 usage or environment error (bad flags, unreadable input, broker unreachable).
// Each verb group lives in its own file in daemon/tactctl/ and registers itself in Main() below.
#include <CLI/CLI.hpp>

#include "daemon/tactctl/commands.h"

namespace tact::cli {
namespace {

int Main(int argc, char** argv) {
  CLI::App app{"tactctl: lint policies and audit tact's decisions"};
  app.require_subcommand(1);

  std::function<int()> run;
  AddPolicyCommands(app, run);
  AddAuditCommands(app, run);
  AddOpsCommands(app, run);
  AddCapacityCommands(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  return run ? run() : kExitUsage;
}

}  // namespace
}  // namespace tact::cli

int main(int argc, char** argv) { return tact::cli::Main(argc, argv); }
