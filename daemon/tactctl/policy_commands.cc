#include <cstdio>
#include <memory>

#include "daemon/policy/parse.h"
#include "daemon/tactctl/commands.h"

namespace tact::cli {
namespace {

int Lint(const std::string& dir) {
  absl::StatusOr<policy::Policy> p = policy::LoadPolicyDir(dir);
  if (!p.ok()) {
    std::fprintf(stderr, "%s\n", std::string(p.status().message()).c_str());
    return absl::IsInvalidArgument(p.status()) ? kExitFailed : kExitUsage;
  }
  std::printf("%s: ok — policy version %s, %zu rule(s), digest %s\n", dir.c_str(), p->version.c_str(),
              p->rules.size(), p->digest.c_str());
  return 0;
}

}  // namespace

void AddPolicyCommands(CLI::App& app, RunFn& run) {
  auto dir = std::make_shared<std::string>();
  CLI::App* lint = app.add_subcommand("lint", "Validate a policy directory; errors print as file:line:col: message");
  lint->add_option("dir", *dir, "Policy directory")->required();
  lint->callback([dir, &run] { run = [dir] { return Lint(*dir); }; });
}

}  // namespace tact::cli
