#include "daemon/ops/admin_server.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/ops/metrics.h"

namespace tact::ops {

AdminServer::AdminServer(std::function<Readiness()> readiness, const prometheus::Registry* registry)
    : readiness_(std::move(readiness)), registry_(registry), server_(std::make_unique<httplib::Server>()) {}

AdminServer::~AdminServer() { Stop(); }

absl::Status AdminServer::Start(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("admin.listen '", listen, "' must be host:port"));
  }
  const std::string host = listen.substr(0, colon);
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}\n", "application/json");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const Readiness r = readiness_();
    res.status = r.ready ? 200 : 503;
    res.set_content(absl::StrCat("{\"ready\":", r.ready ? "true" : "false", ",\"components\":", r.detail, "}\n"),
                    "application/json");
  });
  if (registry_ != nullptr) {
    server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(SerializeMetrics(*registry_), "text/plain; version=0.0.4; charset=utf-8");
    });
  }
  if (port == 0) {
    port_ = server_->bind_to_any_port(host.c_str());
  } else if (server_->bind_to_port(host.c_str(), port)) {
    port_ = port;
  }
  if (port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("admin.listen: cannot bind ", listen));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return absl::OkStatus();
}

void AdminServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace tact::ops
