#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "daemon/core/clock.h"
#include "daemon/ops/readiness.h"

namespace prometheus {
class Registry;
}

namespace tact::ops {

// How much one client may hold of the admin port. Probes and scrapes send one small GET and read a small
// answer: a connection that has not sent a whole request, or not read its answer, by `connection_deadline`
// is closed, however slowly it trickles bytes; at `max_connections` the oldest connection makes room for a
// new one. A handful of idle or slow sockets therefore never delays /healthz.
struct AdminLimits {
  absl::Duration connection_deadline = absl::Seconds(5);
  size_t max_connections = 256;
  size_t max_request_bytes = 8192;  // request line + headers; GET only, no body
};

// Admin HTTP on its own port: /healthz (process alive; never depends on Kafka or Redis), /readyz (200 or 503
// with the components as JSON) and /metrics (the registry in Prometheus text format).
//
// One event-loop thread (poll) serves every connection: each request is answered as soon as its headers are
// complete (HTTP/1.0 and 1.1, GET and HEAD, `Connection: close`), so no connection can occupy a worker while it
// waits for a slow client. The handlers must not block (readiness reads atomics; the scrape serializes memory).
// Thread-safety: Start/Stop from one thread (the main thread); the handlers run on the server's thread.
class AdminServer {
 public:
  AdminServer(std::function<Readiness()> readiness, const prometheus::Registry* registry = nullptr,
              const Clock& clock = DefaultClock(), AdminLimits limits = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  absl::Status Start(const std::string& listen);  // "host:port"; port 0 picks a free one (see port())
  void Stop();
  int port() const { return port_; }

 private:
  static const Clock& DefaultClock();
  void Loop();
  // The answer to one complete request head (status line, headers and body).
  std::string Respond(std::string_view head) const;

  std::function<Readiness()> readiness_;
  const prometheus::Registry* registry_;
  const Clock& clock_;
  const AdminLimits limits_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Stop() wakes the loop
  std::thread thread_;
  int port_ = 0;
};

}  // namespace tact::ops
