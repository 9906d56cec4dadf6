#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"

namespace httplib {
class Server;
}

namespace tact::ops {

struct Readiness {
  bool ready = false;
  std::string detail;  // JSON object of named components, e.g. {"policy":true,"redis":false}
};

// Admin HTTP on its own port: /healthz (process alive; never depends on Kafka or Redis) and /readyz.
// Thread-safety: Start/Stop from the main thread; the probe runs on the server's threads.
class AdminServer {
 public:
  explicit AdminServer(std::function<Readiness()> readiness);
  ~AdminServer();
  absl::Status Start(const std::string& listen);  // "host:port"
  void Stop();
  int port() const { return port_; }

 private:
  std::function<Readiness()> readiness_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace tact::ops
