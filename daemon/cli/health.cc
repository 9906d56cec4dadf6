#include "daemon/cli/health.h"

#include <httplib.h>

#include <ostream>

namespace tact::cli {

absl::StatusOr<HttpReply> HttplibGet(const std::string& host, int port, const std::string& path, int timeout_ms) {
  httplib::Client client(host, port);
  client.set_connection_timeout(0, timeout_ms * 1000);
  client.set_read_timeout(0, timeout_ms * 1000);
  httplib::Result r = client.Get(path.c_str());
  if (!r) return absl::UnavailableError(httplib::to_string(r.error()));
  return HttpReply{.status = r->status, .body = r->body};
}

int Health(const HealthArgs& args, const HttpGet& get, const Streams& io) {
  const size_t colon = args.admin.rfind(':');
  int port = 0;
  try {
    port = colon == std::string::npos ? -1 : std::stoi(args.admin.substr(colon + 1));
  } catch (const std::exception&) {
    port = -1;
  }
  if (port <= 0 || port > 65535) {
    io.err << "tactctl health: --admin '" << args.admin << "' must be host:port\n";
    return kExitUsage;
  }
  const std::string path = args.live ? "/healthz" : "/readyz";
  const absl::StatusOr<HttpReply> r = get(args.admin.substr(0, colon), port, path, args.timeout_ms);
  if (!r.ok()) {
    io.err << "tactctl health: " << args.admin << path << ": " << r.status().message() << "\n";
    return kExitUsage;
  }
  io.out << r->body;
  return r->status == 200 ? kExitOk : kExitFailed;
}

}  // namespace tact::cli
