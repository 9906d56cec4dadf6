#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/core/clock.h"
#include "daemon/ops/readiness.h"

namespace prometheus {
class Registry;
}

namespace tact::ops {

struct AdminConnection;  // one client's connection (admin_server.cc)

// How much one client may hold of the admin port. Probes and scrapes send one small GET and read a small
// answer: a connection that has not sent a whole request, or not read its answer, by `connection_deadline`
// is closed, however slowly it trickles bytes; at `max_connections` the oldest connection makes room for a
// new one. A handful of idle or slow sockets therefore never delays /healthz.
struct AdminLimits {
  absl::Duration connection_deadline = absl::Seconds(5);
  size_t max_connections = 256;
  size_t max_request_bytes = 8192;  // request line + headers; GET only, no body
};

// A page another part serves on the admin port (tactd: the campaign board, daemon/campaign/board.h).
struct AdminPage {
  int status = 200;  // 200, 400, 404, 500 or 503
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
};
// Called with the request's path and its query (after '?', still percent-encoded), on the admin server's page
// thread, one request at a time: it may block (a Redis read) but should answer well within the connection
// deadline, after which the client is gone and the answer dropped.
using AdminPageHandler = std::function<AdminPage(std::string_view path, std::string_view query)>;

// Admin HTTP on its own port: /healthz (process alive; never depends on Kafka or Redis), /readyz (200 or 503
// with the components as JSON), /metrics (the registry in Prometheus text format), and the pages added with
// AddPages (answered by the page thread, below).
//
// One event-loop thread (poll) serves every connection: each request is answered as soon as its headers are
// complete (HTTP/1.0 and 1.1, GET and HEAD, `Connection: close`), so no connection can occupy a worker while it
// waits for a slow client. The handlers must not block (readiness reads atomics; the scrape serializes memory).
// Pages (AddPages) may block, so they run on a second thread, the page thread: the event loop queues the request
// (at most kMaxQueuedPages; beyond, 503) and goes on serving probes; the page thread answers it and wakes the
// loop, which writes the answer if the connection is still open.
// Thread-safety: AddPages, Start and Stop from one thread (the main thread); the readiness handler runs on the
// server's thread, page handlers on the page thread.
class AdminServer {
 public:
  AdminServer(std::function<Readiness()> readiness, const prometheus::Registry* registry = nullptr,
              const Clock& clock = DefaultClock(), AdminLimits limits = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  static constexpr size_t kMaxQueuedPages = 8;

  // Before Start: requests for `prefix` (e.g. "/campaigns") or a path under it ("/campaigns/...") go to `handler`.
  void AddPages(std::string prefix, AdminPageHandler handler);
  absl::Status Start(const std::string& listen);  // "host:port"; port 0 picks a free one (see port())
  void Stop();
  int port() const { return port_; }

 private:
  struct PageJob {
    uint64_t connection = 0;
    const AdminPageHandler* handler = nullptr;
    std::string path;
    std::string query;
    bool head_only = false;
  };
  static const Clock& DefaultClock();
  void Loop();
  void PageLoop();
  const AdminPageHandler* FindPage(std::string_view path) const;
  bool QueuePage(PageJob job);                                 // false when kMaxQueuedPages wait already
  void TakePageAnswers(std::vector<AdminConnection>& conns);  // the page thread's answers, to their connections
  void ReadRequest(AdminConnection& c);                        // reads; answers or queues a complete head
  // The answer to one complete request head (status line, headers and body), or "" when `job` was filled: a page
  // the page thread answers.
  std::string Respond(std::string_view head, PageJob& job) const;

  std::function<Readiness()> readiness_;
  const prometheus::Registry* registry_;
  const Clock& clock_;
  const AdminLimits limits_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Stop() wakes the loop
  int done_fd_ = -1;  // eventfd: the page thread has answered
  std::vector<std::pair<std::string, AdminPageHandler>> pages_;
  std::thread thread_;
  std::thread page_thread_;
  absl::Mutex page_mu_;
  std::deque<PageJob> page_jobs_ ABSL_GUARDED_BY(page_mu_);
  std::vector<std::pair<uint64_t, std::string>> page_answers_ ABSL_GUARDED_BY(page_mu_);  // connection, answer
  bool page_stop_ ABSL_GUARDED_BY(page_mu_) = false;
  int port_ = 0;
};

}  // namespace tact::ops
