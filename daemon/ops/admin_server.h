#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "daemon/ops/readiness.h"

namespace httplib {
class Server;
}
namespace prometheus {
class Registry;
}

namespace tact::ops {

// Admin HTTP on its own port: /healthz (process alive; never depends on Kafka or Redis), /readyz (200 or 503
// with the components as JSON) and /metrics (the registry in Prometheus text format; the admin server serializes
// it with prometheus::TextSerializer instead of running prometheus-cpp's own exposer on a second port).
// Thread-safety: Start/Stop from the main thread; the probe and the scrape run on the server's threads.
class AdminServer {
 public:
  explicit AdminServer(std::function<Readiness()> readiness, const prometheus::Registry* registry = nullptr);
  ~AdminServer();
  absl::Status Start(const std::string& listen);  // "host:port"
  void Stop();
  int port() const { return port_; }

 private:
  std::function<Readiness()> readiness_;
  const prometheus::Registry* registry_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace tact::ops
