// App (daemon/app/app.h): parts start in order and stop in one place, in the documented order; a failure at a
// late step stops exactly the parts started before it. Kafka and Redis are unreachable addresses: nothing here
// needs a broker (the Kafka clients connect lazily and stop promptly).
#include "daemon/app/app.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace tact::app {
namespace {

ops::Settings Unreachable() {
  ops::Settings s;
  s.policies = std::string(TACT_SOURCE_DIR) + "/policies/default";
  s.kafka.brokers = "127.0.0.1:1";
  s.redis.address = "127.0.0.1:1";
  s.grpc.plaintext = true;
  s.grpc.listen = "127.0.0.1:0";
  s.admin_listen = "127.0.0.1:0";
  s.customer_hash_key = "test-key";
  return s;
}

// The parts' "start x" / "stop x" steps, as App reports them.
class Steps {
 public:
  AppOptions Options() {
    return {.trace = [this](std::string_view step) {
              absl::MutexLock lock(&mu_);
              steps_.emplace_back(step);
            },
            .topic_limits_timeout = absl::Milliseconds(1)};
  }
  std::vector<std::string> Get() {
    absl::MutexLock lock(&mu_);
    return steps_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> steps_;
};

// A loopback TCP port held by a listening socket for the test's lifetime.
class HeldPort {
 public:
  HeldPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~HeldPort() { ::close(fd_); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_;
  int port_ = 0;
};

TEST(AppTest, StopsEveryPartInOrder) {
  Steps steps;
  absl::StatusOr<std::unique_ptr<App>> app = App::Start(Unreachable(), steps.Options());
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_GT((*app)->grpc_port(), 0);
  EXPECT_GT((*app)->admin_port(), 0);
  (*app)->Stop();
  EXPECT_EQ(steps.Get(), (std::vector<std::string>{"start grpc", "start pipeline", "start signals",
                                                   "start deferred", "start admin", "start health", "stop health",
                                                   "stop pipeline", "stop signals", "stop deferred", "stop grpc",
                                                   "stop admin"}));
  (*app)->Stop();  // idempotent; the destructor stops nothing twice
  app->reset();
  EXPECT_EQ(steps.Get().size(), 12u);
}

TEST(AppTest, WorkersThatAreOffAreNotStarted) {
  ops::Settings settings = Unreachable();
  settings.signals.enabled = false;
  settings.deferred.enabled = false;
  Steps steps;
  {
    absl::StatusOr<std::unique_ptr<App>> app = App::Start(settings, steps.Options());
    ASSERT_TRUE(app.ok()) << app.status();
  }  // the destructor stops
  EXPECT_EQ(steps.Get(), (std::vector<std::string>{"start grpc", "start pipeline", "start admin", "start health",
                                                   "stop health", "stop pipeline", "stop grpc", "stop admin"}));
}

// The admin port is taken: the last step before the health thread fails, and everything started before it stops.
TEST(AppTest, LateFailureStopsWhatStartedBeforeIt) {
  HeldPort taken;
  ops::Settings settings = Unreachable();
  settings.admin_listen = taken.address();
  Steps steps;
  absl::StatusOr<std::unique_ptr<App>> app = App::Start(settings, steps.Options());
  ASSERT_FALSE(app.ok());
  EXPECT_EQ(ExitCode(app.status()), 1);
  EXPECT_EQ(steps.Get(), (std::vector<std::string>{"start grpc", "start pipeline", "start signals",
                                                   "start deferred", "stop pipeline", "stop signals",
                                                   "stop deferred", "stop grpc"}));
}

TEST(AppTest, MistakesInFilesAreUsageErrorsBeforeAnythingStarts) {
  Steps steps;
  ops::Settings settings = Unreachable();
  settings.grpc.clients_file = "/nonexistent/clients.yaml";
  absl::StatusOr<std::unique_ptr<App>> app = App::Start(settings, steps.Options());
  EXPECT_EQ(app.status().message(), "grpc.clients_file: /nonexistent/clients.yaml: cannot read");
  EXPECT_EQ(ExitCode(app.status()), 2);

  settings = Unreachable();
  settings.policies = "/nonexistent/policies";
  app = App::Start(settings, steps.Options());
  EXPECT_TRUE(absl::IsFailedPrecondition(app.status())) << app.status();  // logged as policy.reload_failed
  EXPECT_EQ(ExitCode(app.status()), 2);

  settings = Unreachable();
  settings.kafka.security_protocol = "SSL";
  settings.kafka.ssl_ca_location = "/nonexistent/ca.pem";
  app = App::Start(settings, steps.Options());
  EXPECT_TRUE(absl::IsInvalidArgument(app.status())) << app.status();
  EXPECT_EQ(ExitCode(app.status()), 2);
  EXPECT_TRUE(steps.Get().empty());
}

}  // namespace
}  // namespace tact::app
