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
namespace {

using Instant = std::chrono::steady_clock::time_point;

struct Connection {
  int fd = -1;
  Instant deadline;
  std::string in;    // the request head, as far as it has arrived
  std::string out;   // the answer, once the head is complete
  size_t sent = 0;
  bool answering = false;
};

void CloseConnection(Connection& c) {
  if (c.fd >= 0) {
    ::shutdown(c.fd, SHUT_RDWR);
    ::close(c.fd);
    c.fd = -1;
  }
}

std::string Answer(int status, std::string_view reason, std::string_view content_type, std::string_view body,
                   bool head_only) {
  std::string out = absl::StrCat("HTTP/1.1 ", status, " ", AsAbsl(reason), "\r\nContent-Type: ",
                                 AsAbsl(content_type), "\r\nContent-Length: ", body.size(),
                                 "\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n");
  if (!head_only) {
    out.append(body);
  }
  return out;
}

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
  if (wake_fd_ < 0) {
    ::close(std::exchange(listen_fd_, -1));
    return absl::UnavailableError(absl::StrCat("admin.listen: eventfd: ", std::strerror(errno)));
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void AdminServer::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  for (int* fd : {&listen_fd_, &wake_fd_}) {
    if (*fd >= 0) {
      ::close(std::exchange(*fd, -1));
    }
  }
}

std::string AdminServer::Respond(std::string_view head) const {
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
  path = path.substr(0, path.find('?'));
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
  return Answer(404, "Not Found", "text/plain", "not found: /healthz, /readyz, /metrics\n", head_only);
}

void AdminServer::Loop() {
  std::vector<Connection> conns;
  std::vector<pollfd> fds;
  char buf[4096];
  Instant accept_again;  // after EMFILE and the like: the listener stays readable, so wait before accepting again
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
    if (!accepting) {
      timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(accept_again - now).count() + 1);
    }
    for (const Connection& c : conns) {
      fds.push_back({c.fd, static_cast<short>(c.answering ? POLLOUT : POLLIN), 0});
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
      const short ev = fds[i + 2].revents;
      if (ev == 0) continue;
      if (!c.answering) {
        const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          CloseConnection(c);  // the client went away
          continue;
        }
        if (n > 0) c.in.append(buf, static_cast<size_t>(n));
        if (const size_t end = HeadEnd(c.in); end != std::string::npos) {
          c.out = Respond(std::string_view(c.in).substr(0, end));
          c.answering = true;
        } else if (c.in.size() > limits_.max_request_bytes) {
          c.out = Answer(431, "Request Header Fields Too Large", "text/plain", "request head too large\n", false);
          c.answering = true;
        }
      }
      if (c.answering && WriteSome(c)) {
        CloseConnection(c);
      }
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
        conns.push_back({.fd = fd, .deadline = clock_.Monotonic() + absl::ToChronoNanoseconds(limits_.connection_deadline)});
      }
    }
  }
  for (Connection& c : conns) {
    CloseConnection(c);
  }
}

}  // namespace tact::ops
