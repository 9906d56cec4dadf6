// tactctl health: probes tactd's admin endpoint, for container HEALTHCHECKs and on-call (no curl in the image).
#include <httplib.h>

#include <cstdio>
#include <memory>
#include <string>

#include "daemon/tactctl/commands.h"

namespace tact::cli {
namespace {

struct HealthOptions {
  std::string admin = "127.0.0.1:9464";
  bool live = false;
  int timeout_ms = 2000;
};

int Health(const HealthOptions& o) {
  const size_t colon = o.admin.rfind(':');
  int port = 0;
  try {
    port = colon == std::string::npos ? -1 : std::stoi(o.admin.substr(colon + 1));
  } catch (const std::exception&) {
    port = -1;
  }
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "tactctl health: --admin '%s' must be host:port\n", o.admin.c_str());
    return kExitUsage;
  }
  httplib::Client client(o.admin.substr(0, colon), port);
  client.set_connection_timeout(0, o.timeout_ms * 1000);
  client.set_read_timeout(0, o.timeout_ms * 1000);
  const char* path = o.live ? "/healthz" : "/readyz";
  httplib::Result r = client.Get(path);
  if (!r) {
    std::fprintf(stderr, "tactctl health: %s%s: %s\n", o.admin.c_str(), path, httplib::to_string(r.error()).c_str());
    return kExitUsage;
  }
  std::fputs(r->body.c_str(), stdout);
  return r->status == 200 ? kExitOk : kExitFailed;
}

}  // namespace

void AddOpsCommands(CLI::App& app, RunFn& run) {
  auto opts = std::make_shared<HealthOptions>();
  CLI::App* health = app.add_subcommand(
      "health", "Probe tactd's admin endpoint: exit 0 if ready (or alive with --live), 1 if not, 2 if unreachable");
  health->add_option("--admin", opts->admin, "tactd's admin.listen address (host:port)");
  health->add_flag("--live", opts->live, "Check liveness (/healthz) instead of readiness (/readyz)");
  health->add_option("--timeout-ms", opts->timeout_ms, "Connect and read timeout")->check(CLI::Range(1, 60000));
  health->callback([opts, &run] { run = [opts] { return Health(*opts); }; });
}

}  // namespace tact::cli
