#pragma once

// tactctl health: probes tactd's admin endpoint, for container HEALTHCHECKs and on-call (no curl in the image).
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/cli/cli.h"

namespace tact::cli {

struct HealthArgs {
  std::string admin = "127.0.0.1:9464";
  bool live = false;
  int timeout_ms = 2000;
};

struct HttpReply {
  int status = 0;
  std::string body;
};
// GET http://host:port/path; UNAVAILABLE with the client's error text when there is no reply.
using HttpGet = std::function<absl::StatusOr<HttpReply>(const std::string& host, int port, const std::string& path,
                                                        int timeout_ms)>;
absl::StatusOr<HttpReply> HttplibGet(const std::string& host, int port, const std::string& path, int timeout_ms);

// Prints the body of /readyz (/healthz with --live). Exit 0 on 200, 1 on another status, 2 when --admin is not
// host:port or the endpoint does not answer.
int Health(const HealthArgs& args, const HttpGet& get, const Streams& io);

}  // namespace tact::cli
