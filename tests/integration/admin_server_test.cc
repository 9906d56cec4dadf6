// The admin HTTP server over real loopback sockets: what it answers, and that idle, trickling or piled-up
// connections never keep a probe from being answered (a Kubernetes liveness probe that is not answered restarts
// the pod).
#include "daemon/ops/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "daemon/core/strings.h"
#include "tests/support/admin.h"
#include "tests/support/wait.h"

namespace tact::ops {
namespace {

using testing::HttpGet;
using testing::WaitFor;

// A raw client socket connected to 127.0.0.1:port (closed when destroyed).
class RawSocket {
 public:
  explicit RawSocket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawSocket() { ::close(fd_); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  bool connected() const { return connected_; }
  bool Send(std::string_view s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // Everything the server sends until it closes (bounded by the socket's receive timeout).
  std::string ReadAll() {
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd_, buf, sizeof(buf), 0)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  // True when an answer (or the close) is waiting to be read, without consuming it or blocking.
  bool Readable() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }
  // True once the server has closed its side (recv returns 0 or an error), without blocking.
  bool ClosedByServer() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  int fd_;
  bool connected_ = false;
};

class AdminServerTest : public ::testing::Test {
 protected:
  void Start(AdminLimits limits = {}) {
    server_ = std::make_unique<AdminServer>([this] { return Readiness{.ready = ready_.load(), .detail = "{}"}; },
                                            &registry_, clock_, limits);
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    ASSERT_GT(server_->port(), 0);
  }
  std::atomic<bool> ready_{true};
  prometheus::Registry registry_;
  SystemClock clock_;
  std::unique_ptr<AdminServer> server_;
};

TEST_F(AdminServerTest, AnswersTheProbesAndTheScrape) {
  Start();
  EXPECT_EQ(HttpGet(server_->port(), "/healthz").status, 200);
  EXPECT_EQ(HttpGet(server_->port(), "/healthz").body, "{\"status\":\"ok\"}\n");
  EXPECT_EQ(HttpGet(server_->port(), "/readyz").status, 200);
  ready_ = false;
  const testing::HttpReply not_ready = HttpGet(server_->port(), "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "{\"ready\":false,\"components\":{}}\n");
  EXPECT_EQ(HttpGet(server_->port(), "/metrics?x=1").status, 200);
  EXPECT_EQ(HttpGet(server_->port(), "/nope").status, 404);

  RawSocket post(server_->port());
  ASSERT_TRUE(post.Send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(post.ReadAll().starts_with("HTTP/1.1 405 ")) << "only GET and HEAD";
  RawSocket head(server_->port());
  ASSERT_TRUE(head.Send("HEAD /healthz HTTP/1.0\r\n\r\n"));
  const std::string answer = head.ReadAll();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 ")) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\n")) << "HEAD: no body";
  RawSocket garbage(server_->port());
  ASSERT_TRUE(garbage.Send("\x16\x03\x01 not http\r\n\r\n"));
  EXPECT_TRUE(garbage.ReadAll().starts_with("HTTP/1.1 400 "));
}

TEST_F(AdminServerTest, IdleAndTricklingClientsDoNotStarveTheProbe) {
  Start();
  // Far more than the eight worker threads of the HTTP library this server replaced, which left /healthz
  // unanswered with eight idle sockets open.
  std::vector<std::unique_ptr<RawSocket>> slow;
  for (int i = 0; i < 48; ++i) {
    slow.push_back(std::make_unique<RawSocket>(server_->port()));
    ASSERT_TRUE(slow.back()->connected());
    if (i % 2 == 0) {
      ASSERT_TRUE(slow.back()->Send("GET /hea"));  // a request head that never completes
    }
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(HttpGet(server_->port(), "/healthz").status, 200) << "probe " << i;
    EXPECT_EQ(HttpGet(server_->port(), "/readyz").status, 200) << "probe " << i;
  }
}

TEST_F(AdminServerTest, AConnectionIsClosedAtItsDeadlineHoweverSlowlyItTrickles) {
  Start({.connection_deadline = absl::Milliseconds(300)});
  RawSocket trickle(server_->port());
  ASSERT_TRUE(trickle.connected());
  const std::string head = "GET /healthz HTTP/1.1\r\nX-Padding: ";
  size_t sent = 0;
  // One byte at a time, each well inside any per-read timeout: only a deadline on the whole connection ends it.
  EXPECT_TRUE(WaitFor(
      [&] {
        if (trickle.ClosedByServer()) return true;
        trickle.Send(std::string(1, sent < head.size() ? head[sent] : 'x'));
        ++sent;
        // The trickle's pace (the input's shape), not a wait for something.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // inside the deadline poll
        return false;
      },
      absl::Seconds(20), "the server closes the trickling connection"));
  EXPECT_EQ(HttpGet(server_->port(), "/healthz").status, 200);
}

TEST_F(AdminServerTest, AtTheConnectionLimitTheOldestMakesRoom) {
  Start({.max_connections = 4});
  std::vector<std::unique_ptr<RawSocket>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<RawSocket>(server_->port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  EXPECT_EQ(HttpGet(server_->port(), "/healthz").status, 200);
  EXPECT_TRUE(WaitFor([&] { return idle.front()->ClosedByServer(); }, absl::Seconds(10), "the oldest closed"));
}

TEST_F(AdminServerTest, AnOversizedRequestHeadIsRefused) {
  Start({.max_request_bytes = 512});
  RawSocket big(server_->port());
  ASSERT_TRUE(big.Send(absl::StrCat("GET /healthz HTTP/1.1\r\nX-Big: ", std::string(2048, 'a'))));
  EXPECT_TRUE(big.ReadAll().starts_with("HTTP/1.1 431 "));
}

TEST_F(AdminServerTest, StopsWithConnectionsOpen) {
  Start();
  RawSocket idle(server_->port());
  ASSERT_TRUE(idle.connected());
  server_->Stop();
  EXPECT_TRUE(WaitFor([&] { return idle.ClosedByServer(); }, absl::Seconds(10), "closed on stop"));
  EXPECT_EQ(HttpGet(server_->port(), "/healthz").status, 0);
}

// A page handler that holds every request until released: what a page waiting on a slow Redis looks like.
class BlockingPages {
 public:
  AdminPageHandler Handler() {
    return [this](std::string_view path, std::string_view query) {
      entered_.fetch_add(1);
      release_.WaitForNotification();
      return AdminPage{.status = 200, .body = absl::StrCat("page ", AsAbsl(path), " ? ", AsAbsl(query))};
    };
  }
  int entered() const { return entered_.load(); }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

 private:
  std::atomic<int> entered_{0};
  absl::Notification release_;
};

TEST_F(AdminServerTest, APageWaitingOnItsHandlerDelaysNoProbe) {
  BlockingPages pages;
  server_ = std::make_unique<AdminServer>([] { return Readiness{.ready = true, .detail = "{}"}; }, &registry_, clock_);
  server_->AddPages("/board", pages.Handler());
  absl::Cleanup stop = [&] {  // also when an assertion fails while a handler waits
    pages.Release();
    server_->Stop();
  };
  ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  RawSocket page(server_->port());
  ASSERT_TRUE(page.Send("GET /board/a%20b.svg?tenant=acme HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] { return pages.entered() == 1; }, absl::Seconds(10), "the page handler runs"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(HttpGet(server_->port(), "/healthz").status, 200) << "probe " << i;
    EXPECT_EQ(HttpGet(server_->port(), "/metrics").status, 200) << "scrape " << i;
  }
  EXPECT_EQ(HttpGet(server_->port(), "/boardx").status, 404) << "a prefix matches whole path segments";
  EXPECT_FALSE(page.Readable()) << "still waiting for its handler";
  pages.Release();
  const std::string answer = page.ReadAll();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_NE(answer.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Content-Security-Policy: default-src 'none'"), std::string::npos) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\npage /board/a%20b.svg ? tenant=acme")) << answer;
  RawSocket head(server_->port());
  ASSERT_TRUE(head.Send("HEAD /board HTTP/1.0\r\n\r\n"));
  const std::string head_answer = head.ReadAll();
  EXPECT_TRUE(head_answer.starts_with("HTTP/1.1 200 ")) << head_answer;
  EXPECT_TRUE(head_answer.ends_with("\r\n\r\n")) << "HEAD: no body";
}

TEST_F(AdminServerTest, PagesBeyondTheQueueAreRefusedWith503) {
  BlockingPages pages;
  server_ = std::make_unique<AdminServer>([] { return Readiness{.ready = true, .detail = "{}"}; }, &registry_, clock_);
  server_->AddPages("/board", pages.Handler());
  absl::Cleanup stop = [&] {  // also when an assertion fails while a handler waits
    pages.Release();
    server_->Stop();
  };
  ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  RawSocket first(server_->port());
  ASSERT_TRUE(first.Send("GET /board HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] { return pages.entered() == 1; }, absl::Seconds(10), "the first page is being answered"));
  // The page thread is busy: kMaxQueuedPages wait, one more is refused at once.
  std::vector<std::unique_ptr<RawSocket>> more;
  for (size_t i = 0; i < AdminServer::kMaxQueuedPages + 1; ++i) {
    more.push_back(std::make_unique<RawSocket>(server_->port()));
    ASSERT_TRUE(more.back()->Send("GET /board HTTP/1.1\r\n\r\n"));
  }
  ASSERT_TRUE(WaitFor(
      [&] { return std::count_if(more.begin(), more.end(), [](auto& s) { return s->Readable(); }) == 1; },
      absl::Seconds(10), "one page refused"));
  for (auto& s : more) {
    if (s->Readable()) {
      EXPECT_TRUE(s->ReadAll().starts_with("HTTP/1.1 503 ")) << "refused, not queued";
    }
  }
  EXPECT_EQ(HttpGet(server_->port(), "/healthz").status, 200);
  pages.Release();
  EXPECT_TRUE(first.ReadAll().starts_with("HTTP/1.1 200 "));
  int answered = 0;
  for (auto& s : more) answered += s->ReadAll().starts_with("HTTP/1.1 200 ") ? 1 : 0;
  EXPECT_EQ(answered, static_cast<int>(AdminServer::kMaxQueuedPages));
  EXPECT_EQ(pages.entered(), static_cast<int>(AdminServer::kMaxQueuedPages) + 1);
}

}  // namespace
}  // namespace tact::ops
