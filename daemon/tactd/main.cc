// tactd: the tact daemon. Kafka pipeline + gRPC API + admin HTTP around one decision service (daemon/app).
// This file only reads the settings, starts the App, waits for signals and stops it.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "daemon/app/app.h"
#include "daemon/app/process.h"
#include "daemon/ops/config.h"
#include "daemon/ops/log.h"

namespace tact {
namespace {

constexpr int kExitUsage = 2;

int Main(int argc, char** argv) {
  const sigset_t signals = app::PrepareProcess();  // before any thread
  CLI::App cli{"tactd: decides whether each proactive message goes out now, later or never"};
  std::string config_file;
  bool print_config = false;
  cli.add_option("--config", config_file, "YAML config file (every key can also be a flag or TACT_* variable)");
  cli.add_flag("--print-config", print_config, "Print the effective configuration and exit");
  std::map<std::string, std::string> flag_values;
  app::AddSettingFlags(cli, flag_values);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  const absl::StatusOr<ops::Settings> settings =
      ops::LoadSettings(config_file, app::TactEnvironment(), app::GivenFlags(cli, flag_values));
  if (!settings.ok()) {
    std::fprintf(stderr, "tactd: %s\n", std::string(settings.status().message()).c_str());
    return kExitUsage;
  }
  if (print_config) {
    std::fputs(ops::FormatConfig(*settings).c_str(), stdout);
    return 0;
  }
  app::SetUpLogging(settings->log_level);
  absl::StatusOr<std::unique_ptr<app::App>> tactd = app::App::Start(*settings);
  if (!tactd.ok()) {
    if (absl::IsInvalidArgument(tactd.status())) {
      std::fprintf(stderr, "tactd: %s\n", std::string(tactd.status().message()).c_str());
    }
    return app::ExitCode(tactd.status());
  }
  ops::Log(ops::LogLevel::kInfo, "tactd.started");
  while (app::WaitForSignal(signals) == SIGHUP) {
    (*tactd)->ReloadPolicies();
  }
  // SIGTERM/SIGINT: stop fetching and drain the Kafka parts, then stop serving (App::Stop).
  ops::Log(ops::LogLevel::kInfo, "tactd.stopping");
  tactd->reset();
  ops::Log(ops::LogLevel::kInfo, "tactd.stopped");
  return 0;
}

}  // namespace
}  // namespace tact

int main(int argc, char** argv) { return tact::Main(argc, argv); }
