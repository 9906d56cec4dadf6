// tactctl: the command line for people — compliance, marketing ops, on-call. Wiring only: each verb's flags and
// work are library functions in daemon/cli/ (flags.h, one header per verb group).
// Exit codes (all verbs): 0 success, 1 the check failed (lint errors, failing policy tests, --expect not met),
// 2 usage or environment error (bad flags, unreadable input, broker unreachable).
#include <iostream>

#include "daemon/cli/flags.h"

namespace tact::cli {
namespace {

// Adds a verb: its flags bound to a fresh Args, and `work` to run on it when the verb is chosen.
template <typename Args, typename Work>
void Verb(CLI::App& app, std::function<int()>& run, CLI::App* (*add_flags)(CLI::App&, Args&), Work work) {
  auto args = std::make_shared<Args>();
  add_flags(app, *args)->callback([&run, args, work] { run = [args, work] { return work(*args); }; });
}

int Main(int argc, char** argv) {
  const Streams io{std::cout, std::cerr};
  const SystemClock clock;
  CLI::App app{"tactctl: lint policies and audit tact's decisions"};
  app.require_subcommand(1);
  std::function<int()> run;
  Verb(app, run, AddLintFlags, [&](const LintArgs& a) { return Lint(a, io); });
  Verb(app, run, AddTestFlags, [&](const TestArgs& a) { return Test(a, io); });
  Verb(app, run, AddExplainFlags, [&](const ExplainArgs& a) { return Explain(a, clock, io); });
  Verb(app, run, AddSimulateFlags, [&](const SimulateArgs& a) { return Simulate(a, io); });
  Verb(app, run, AddAuditFlags,
       [&](const AuditArgs& a) { return Audit(a, ProcessEnvironment(), KafkaAuditReader(clock), io); });
  Verb(app, run, AddHealthFlags, [&](const HealthArgs& a) { return Health(a, HttplibGet, io); });
  Verb(app, run, AddErlangFlags, [&](const ErlangArgs& a) { return Erlang(a, io); });
  Verb(app, run, AddPlanFlags, [&](const PlanArgs& a) { return Plan(a, ReadReleasedFromRedis, io); });
  CLI::App& policy = *AddPolicyGroup(app);
  Verb(policy, run, AddPolicyDiffFlags, [&](const PolicyDiffArgs& a) { return PolicyDiff(a, io); });
  Verb(policy, run, AddPolicySignFlags, [&](const PolicySignArgs& a) { return PolicySign(a, io); });
  Verb(policy, run, AddPolicyVerifyFlags, [&](const PolicyVerifyArgs& a) { return PolicyVerify(a, io); });
  Verb(policy, run, AddPolicyHistoryFlags, [&](const PolicyHistoryArgs& a) {
    return PolicyHistory(a, ProcessEnvironment(), KafkaAuditReader(clock), io);
  });
  CLI::App& customer = *AddCustomerGroup(app);
  Verb(customer, run, AddForgetFlags, [&](const ForgetArgs& a) {
    return Forget(a, ProcessEnvironment(), clock, RedisForgetStore(clock), KafkaErasureWriter(), io);
  });
  CLI::App& store = *AddStoreGroup(app);
  Verb(store, run, AddStoreLayoutsFlags, [&](const StoreLayoutsArgs& a) {
    return StoreLayouts(a, ProcessEnvironment(), clock, RedisLayoutStore(clock), io);
  });
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
