#pragma once

// The command line of each tactctl verb: adds the subcommand with its flags to `app`, bound to `args` (which
// must outlive parsing). Separate from the verbs' work so either can be tested alone.
#include <CLI/CLI.hpp>

#include "daemon/cli/audit.h"
#include "daemon/cli/capacity_verbs.h"
#include "daemon/cli/customer_verbs.h"
#include "daemon/cli/explain.h"
#include "daemon/cli/health.h"
#include "daemon/cli/policy_history.h"
#include "daemon/cli/policy_verbs.h"
#include "daemon/cli/simulate.h"
#include "daemon/cli/store_verbs.h"

namespace tact::cli {

CLI::App* AddLintFlags(CLI::App& app, LintArgs& args);
CLI::App* AddTestFlags(CLI::App& app, TestArgs& args);
CLI::App* AddExplainFlags(CLI::App& app, ExplainArgs& args);
CLI::App* AddSimulateFlags(CLI::App& app, SimulateArgs& args);
CLI::App* AddAuditFlags(CLI::App& app, AuditArgs& args);
CLI::App* AddHealthFlags(CLI::App& app, HealthArgs& args);
CLI::App* AddErlangFlags(CLI::App& app, ErlangArgs& args);
CLI::App* AddPlanFlags(CLI::App& app, PlanArgs& args);
// `policy` verbs (governance): added to the `policy` subcommand group.
CLI::App* AddPolicyGroup(CLI::App& app);
CLI::App* AddPolicyDiffFlags(CLI::App& policy_group, PolicyDiffArgs& args);
CLI::App* AddPolicySignFlags(CLI::App& policy_group, PolicySignArgs& args);
CLI::App* AddPolicyVerifyFlags(CLI::App& policy_group, PolicyVerifyArgs& args);
CLI::App* AddPolicyHistoryFlags(CLI::App& policy_group, PolicyHistoryArgs& args);
// `customer` verbs (erasure): added to the `customer` subcommand group.
CLI::App* AddCustomerGroup(CLI::App& app);
CLI::App* AddForgetFlags(CLI::App& customer_group, ForgetArgs& args);
// `store` verbs (the Redis store as a whole): added to the `store` subcommand group.
CLI::App* AddStoreGroup(CLI::App& app);
CLI::App* AddStoreLayoutsFlags(CLI::App& store_group, StoreLayoutsArgs& args);

}  // namespace tact::cli
