#include "daemon/ops/admin_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/ops/metrics.h"

namespace tact::ops {

using Instant = std::chrono::steady_clock::time_point;

struct AdminConnection {
  int fd = -1;
  uint64_t id = 0;   // what a page answer names
  bool waiting = false;  // for the page thread's answer
  Instant deadline;
  std::string in;    // the request head, as far as it has arrived
  std::string out;   // the answer, once the head is complete
  size_t sent = 0;
  bool answering = false;
};

namespace {

using Connection = AdminConnection;

void CloseConnection(Connection& c) {
  if (c.fd >= 0) {
    ::shutdown(c.fd, SHUT_RDWR);
    ::close(c.fd);
    c.fd = -1;
  }
}

std::string Answer(int status, std::string_view reason, std::string_view content_type, std::string_view body,
                   bool head_only, std::string_view extra_headers = "") {
  std::string out = absl::StrCat("HTTP/1.1 ", status, " ", AsAbsl(reason), "\r\nContent-Type: ",
                                 AsAbsl(content_type), "\r\nContent-Length: ", body.size(),
                                 "\r\nConnection: close\r\nCache-Control: no-store\r\n", AsAbsl(extra_headers),
                                 "\r\n");
  if (!head_only) {
    out.append(body);
  }
  return out;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

// Pages are documents for a browser: no script may run in them, nothing is fetched from elsewhere.
constexpr std::string_view kPageHeaders =
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'\r\n"
    "X-Content-Type-Options: nosniff\r\n";

// The end of the request head ("\r\n\r\n", or "\n\n" from a lenient client); npos while incomplete.
size_t HeadEnd(std::string_view in) {
  const size_t crlf = in.find("\r\n\r\n");
  const size_t lf = in.find("\n\n");
  return std::min(crlf, lf);
}

// Writes what the socket takes now; true when the whole answer has gone out or the peer is gone.
bool WriteSome(Connection& c) {
  while (c.sent < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return false;
    } else {
      return true;  // the peer left: nothing more to do for it
    }
  }
  return true;
}

}  // namespace

const Clock& AdminServer::DefaultClock() {
  static const SystemClock clock;
  return clock;
}

AdminServer::AdminServer(std::function<Readiness()> readiness, const prometheus::Registry* registry,
                         const Clock& clock, AdminLimits limits)
    : readiness_(std::move(readiness)), registry_(registry), clock_(clock), limits_(limits) {}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::AddPages(std::string prefix, AdminPageHandler handler) {
  pages_.emplace_back(std::move(prefix), std::move(handler));
}

absl::Status AdminServer::Start(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("admin.listen '", listen, "' must be host:port"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:9464
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = absl::StrCat(port);
  if (const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("admin.listen '", listen, "': ", ::gai_strerror(rc)));
  }
  std::string error = "no address";
  for (const addrinfo* a = found; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    listen_fd_ = fd;
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) {
    return absl::UnavailableError(absl::StrCat("admin.listen: cannot bind ", listen, ": ", error));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  done_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0 || done_fd_ < 0) {
    const std::string why = std::strerror(errno);
    Stop();
    return absl::UnavailableError(absl::StrCat("admin.listen: eventfd: ", why));
  }
  thread_ = std::thread([this] { Loop(); });
  if (!pages_.empty()) page_thread_ = std::thread([this] { PageLoop(); });
  return absl::OkStatus();
}

void AdminServer::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (page_thread_.joinable()) {
    {
      absl::MutexLock lock(&page_mu_);
      page_stop_ = true;
    }
    page_thread_.join();
  }
  for (int* fd : {&listen_fd_, &wake_fd_, &done_fd_}) {
    if (*fd >= 0) {
      ::close(std::exchange(*fd, -1));
    }
  }
}

void AdminServer::PageLoop() {
  for (;;) {
    PageJob job;
    {
      absl::MutexLock lock(&page_mu_);
      page_mu_.Await(absl::Condition(
          +[](AdminServer* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->page_mu_) {
            return s->page_stop_ || !s->page_jobs_.empty();
          },
          this));
      if (page_stop_) return;
      job = std::move(page_jobs_.front());
      page_jobs_.pop_front();
    }
    const AdminPage page = (*job.handler)(job.path, job.query);
    std::string answer =
        Answer(page.status, ReasonPhrase(page.status), page.content_type, page.body, job.head_only, kPageHeaders);
    {
      absl::MutexLock lock(&page_mu_);
      page_answers_.emplace_back(job.connection, std::move(answer));
    }
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(done_fd_, &one, sizeof(one));
  }
}

std::string AdminServer::Respond(std::string_view head, PageJob& job) const {
  // Request line: METHOD SP TARGET SP VERSION
  const size_t line_end = head.find_first_of("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
    return Answer(400, "Bad Request", "text/plain", "bad request line\n", false);
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const size_t question = path.find('?');
  const std::string_view query = question == std::string_view::npos ? "" : path.substr(question + 1);
  path = path.substr(0, question);
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) {
    return Answer(405, "Method Not Allowed", "text/plain", "GET or HEAD only\n", false);
  }
  if (path == "/healthz") {
    return Answer(200, "OK", "application/json", "{\"status\":\"ok\"}\n", head_only);
  }
  if (path == "/readyz") {
    const Readiness r = readiness_();
    const std::string body =
        absl::StrCat("{\"ready\":", r.ready ? "true" : "false", ",\"components\":", r.detail, "}\n");
    return r.ready ? Answer(200, "OK", "application/json", body, head_only)
                   : Answer(503, "Service Unavailable", "application/json", body, head_only);
  }
  if (path == "/metrics" && registry_ != nullptr) {
    return Answer(200, "OK", "text/plain; version=0.0.4; charset=utf-8", SerializeMetrics(*registry_), head_only);
  }
  if (const AdminPageHandler* handler = FindPage(path)) {
    job = PageJob{.handler = handler, .path = std::string(path), .query = std::string(query), .head_only = head_only};
    return "";
  }
  std::string known = "/healthz, /readyz, /metrics";
  for (const auto& page : pages_) absl::StrAppend(&known, ", ", page.first);
  return Answer(404, "Not Found", "text/plain", absl::StrCat("not found: ", known, "\n"), head_only);
}

const AdminPageHandler* AdminServer::FindPage(std::string_view path) const {
  for (const auto& [prefix, handler] : pages_) {
    if (path == prefix || (path.starts_with(prefix) && path.substr(prefix.size()).starts_with("/"))) return &handler;
  }
  return nullptr;
}

bool AdminServer::QueuePage(PageJob job) {
  absl::MutexLock lock(&page_mu_);
  if (page_jobs_.size() >= kMaxQueuedPages) return false;
  page_jobs_.push_back(std::move(job));
  return true;
}

void AdminServer::TakePageAnswers(std::vector<AdminConnection>& conns) {
  uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(done_fd_, &count, sizeof(count));
  std::vector<std::pair<uint64_t, std::string>> answers;
  {
    absl::MutexLock lock(&page_mu_);
    answers.swap(page_answers_);
  }
  for (auto& [id, answer] : answers) {
    for (Connection& c : conns) {
      if (c.id != id || c.fd < 0 || !c.waiting) continue;  // the client is gone: the answer is dropped
      c.out = std::move(answer);
      c.waiting = false;
      c.answering = true;
      if (WriteSome(c)) CloseConnection(c);
    }
  }
}

void AdminServer::ReadRequest(AdminConnection& c) {
  char buf[4096];
  const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    CloseConnection(c);  // the client went away
    return;
  }
  if (n > 0) c.in.append(buf, static_cast<size_t>(n));
  if (const size_t end = HeadEnd(c.in); end != std::string::npos) {
    PageJob job;
    c.out = Respond(std::string_view(c.in).substr(0, end), job);
    if (c.out.empty()) {  // a page: the page thread answers it
      job.connection = c.id;
      c.waiting = QueuePage(std::move(job));
      if (!c.waiting) c.out = Answer(503, "Service Unavailable", "text/plain", "busy: too many pages queued\n", false);
    }
    c.answering = !c.waiting;
  } else if (c.in.size() > limits_.max_request_bytes) {
    c.out = Answer(431, "Request Header Fields Too Large", "text/plain", "request head too large\n", false);
    c.answering = true;
  }
}

void AdminServer::Loop() {
  std::vector<Connection> conns;
  std::vector<pollfd> fds;
  Instant accept_again;  // after EMFILE and the like: the listener stays readable, so wait before accepting again
  uint64_t next_id = 0;
  constexpr size_t kFirstConnection = 3;  // fds: wake, listen, page answers, then the connections
  for (;;) {
    const Instant now = clock_.Monotonic();
    // Close what is done or past its deadline.
    std::erase_if(conns, [&](Connection& c) {
      if (c.fd >= 0 && c.deadline > now) return false;
      CloseConnection(c);
      return true;
    });
    int timeout_ms = -1;
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    const bool accepting = now >= accept_again;
    fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
    fds.push_back({done_fd_, POLLIN, 0});
    if (!accepting) {
      timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(accept_again - now).count() + 1);
    }
    for (const Connection& c : conns) {
      fds.push_back({c.fd, static_cast<short>(c.waiting ? 0 : c.answering ? POLLOUT : POLLIN), 0});
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count() + 1;
      timeout_ms = timeout_ms < 0 ? static_cast<int>(left) : std::min(timeout_ms, static_cast<int>(left));
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
      return;
    }
    if (fds[0].revents != 0) {
      break;  // Stop()
    }
    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      const short ev = fds[i + kFirstConnection].revents;
      if (ev == 0) continue;
      if (c.waiting) {  // only POLLHUP or POLLERR are reported while the page thread works: the client is gone
        CloseConnection(c);
        continue;
      }
      if (!c.answering) ReadRequest(c);
      if (c.fd < 0) continue;
      if (c.answering && WriteSome(c)) {
        CloseConnection(c);
      }
    }
    if (fds[2].revents != 0) {
      TakePageAnswers(conns);
    }
    if (fds[1].revents != 0) {
      for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
            accept_again = clock_.Monotonic() + std::chrono::milliseconds(100);  // EMFILE, ENOBUFS, ...
          }
          break;
        }
        std::erase_if(conns, [](const Connection& c) { return c.fd < 0; });
        if (conns.size() >= limits_.max_connections) {  // the oldest gives way: it had the most time
          auto oldest = std::min_element(conns.begin(), conns.end(), [](const Connection& a, const Connection& b) {
            return a.deadline < b.deadline;
          });
          CloseConnection(*oldest);
          conns.erase(oldest);
        }
        conns.push_back({.fd = fd, .id = ++next_id, .deadline = clock_.Monotonic() + absl::ToChronoNanoseconds(limits_.connection_deadline)});
      }
    }
  }
  for (Connection& c : conns) {
    CloseConnection(c);
  }
}

}  // namespace tact::ops
