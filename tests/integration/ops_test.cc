// Operations end to end: tactd's /metrics after real traffic (Kafka and gRPC), /readyz following Redis, and
// stderr being JSON lines only (librdkafka's and gRPC's own lines included).
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/admin.h"
#include "tests/support/process.h"
#include "tests/support/redis_wire.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"
#include "tests/support/events.h"

namespace tact {
namespace {

using testing::DevBroker;
using testing::HttpGet;
using testing::JsonEvent;
using testing::MetricSample;
using testing::ProtoEvent;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::WaitFor;

class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<RedisServer>(dir_.path());
    broker_ = std::make_unique<DevBroker>(dir_.path(), 3);
    clock_file_ = dir_.path() + "/clock-offset";
    std::ofstream(clock_file_) << "0s";
    tactd_ = std::make_unique<Tactd>(dir_.path(), broker_->bootstrap(), redis_->address(),
                                     std::vector<std::string>{"--kafka-statistics-interval-ms", "200",
                                                              "--test-clock-offset-file", clock_file_});
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "---- tactd log ----\n" << tactd_->process().Log() << "\n";
    }
  }
  std::string Metrics() { return HttpGet(tactd_->admin_port(), "/metrics").body; }
  // One Throttle.Check of `event` on tactd's gRPC port.
  grpc::Status Check(const v1::OutboundEvent& event, v1::CheckResponse* resp) {
    auto stub = v1::Throttle::NewStub(grpc::CreateChannel(tactd_->grpc_target(), grpc::InsecureChannelCredentials()));
    v1::CheckRequest req;
    *req.mutable_event() = event;
    grpc::ClientContext ctx;
    return stub->Check(&ctx, req, resp);
  }
  // `tactctl health` (the container HEALTHCHECK) against this tactd: its exit code.
  std::optional<int> Probe(const std::string& extra = "") {
    std::vector<std::string> argv{TACTCTL_BIN, "health", "--admin", absl::StrCat("127.0.0.1:", tactd_->admin_port())};
    if (!extra.empty()) argv.push_back(extra);
    testing::Subprocess probe(argv, absl::StrCat(dir_.path(), "/probe-", ++probes_, ".log"));
    return probe.Wait(absl::Seconds(10));
  }
  int probes_ = 0;
  ::testing::AssertionResult WaitReady(int status) {
    return WaitFor([&] { return HttpGet(tactd_->admin_port(), "/readyz").status == status; }, absl::Seconds(30),
                   absl::StrCat("/readyz ", status));
  }

  TempDir dir_;  // destroyed last: the processes below stop first
  std::string clock_file_;  // tactd's wall clock = real time + the offset in it
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<Tactd> tactd_;
};

TEST_F(OpsTest, MetricsCountTheTraffic) {
  ASSERT_TRUE(WaitReady(200));
  EXPECT_EQ(HttpGet(tactd_->admin_port(), "/healthz").status, 200);
  testing::TestProducer producer(broker_->bootstrap());
  for (const char* id : {"m-1", "m-2", "m-3"}) {
    producer.Send("tact.outbound",
                  JsonEvent({.event_id = id, .customer_id = "cust-metrics-1", .created_at = "2026-11-20T09:00:00Z"}),
                  "acme:cust-metrics-1");
  }
  producer.Send("tact.outbound", R"({"eventId":"m-bad","tenant":"acme","channel":"EMAIL"})");  // no customer_id
  producer.Send("tact.outbound", "\x01\x02 not an event");

  v1::OutboundEvent event =
      ProtoEvent({.event_id = "g-1", .customer_id = "cust-metrics-2", .message_class = v1::TRANSACTIONAL});
  v1::CheckResponse resp;
  ASSERT_TRUE(Check(event, &resp).ok());
  event.clear_customer_id();
  EXPECT_EQ(Check(event, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const std::map<std::string, std::string> suppressed{
      {"source", "kafka"}, {"decision", "SUPPRESS"}, {"rule", "proactive-service-2-per-7d"}};
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string m = Metrics();
        return MetricSample(m, "tact_decisions_total", suppressed) == 1.0 &&
               MetricSample(m, "tact_dlq_total", {{"reason", "undecodable"}}) == 1.0 &&
               MetricSample(m, "tact_dlq_total", {{"reason", "invalid"}}) == 1.0;
      },
      absl::Seconds(30), "3 decisions and 2 dead letters counted"));
  const std::string m = Metrics();
  EXPECT_EQ(MetricSample(m, "tact_decisions_total", {{"source", "kafka"}, {"decision", "RELEASE"}, {"rule", "none"}}), 2.0)
      << m;
  EXPECT_EQ(MetricSample(m, "tact_decisions_total", {{"source", "grpc"}, {"decision", "RELEASE"}, {"rule", "none"}}), 1.0)
      << m;
  EXPECT_EQ(MetricSample(m, "tact_decision_duration_seconds_count", {{"source", "kafka"}}), 3.0) << m;
  // The Kafka path decides what is already fetched in one store call: calls ≥ 1, checks ≥ 3.
  EXPECT_GE(MetricSample(m, "tact_redis_calls_total", {{"op", "check_and_reserve"}}).value_or(0), 1.0) << m;
  EXPECT_GE(MetricSample(m, "tact_redis_checks_total").value_or(0), 3.0) << m;
  EXPECT_GE(MetricSample(m, "tact_kafka_batches_total").value_or(0), 1.0) << m;
  EXPECT_EQ(MetricSample(m, "tact_redis_up"), 1.0) << m;
  EXPECT_EQ(MetricSample(m, "tact_grpc_requests_total", {{"method", "/tact.v1.Throttle/Check"}, {"code", "OK"}}), 1.0) << m;
  EXPECT_EQ(MetricSample(m, "tact_grpc_requests_total",
                   {{"method", "/tact.v1.Throttle/Check"}, {"code", "INVALID_ARGUMENT"}}),
            1.0)
      << m;
  EXPECT_EQ(MetricSample(m, "tact_grpc_request_duration_seconds_count", {{"method", "/tact.v1.Throttle/Check"}}), 2.0);
  EXPECT_EQ(MetricSample(m, "tact_policy_info", {{"version", "2026.11.2"}}), 1.0) << m;
  EXPECT_EQ(MetricSample(m, "tact_policy_reload_failures_total"), 0.0) << m;
  EXPECT_EQ(MetricSample(m, "tact_kafka_assigned_partitions"), 3.0) << m;
  EXPECT_EQ(MetricSample(m, "tact_kafka_consumed_total", {{"topic", "tact.outbound"}}), 5.0) << m;
  EXPECT_TRUE(WaitFor([&] { return MetricSample(Metrics(), "tact_ready") == 1.0; }, absl::Seconds(10), "tact_ready 1"));
  EXPECT_EQ(MetricSample(m, "tact_deferred_backlog"), 0.0) << m;
  EXPECT_EQ(m.find("cust-metrics"), std::string::npos) << "a customer id in /metrics";
  EXPECT_EQ(m.find("m-bad"), std::string::npos) << "an event id in /metrics";

  // Lag per partition: every input partition reaches 0 once its offsets are committed.
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string text = Metrics();
        for (const char* p : {"0", "1", "2"}) {
          if (MetricSample(text, "tact_kafka_consumer_lag", {{"topic", "tact.outbound"}, {"partition", p}}) != 0.0) {
            return false;
          }
        }
        return true;
      },
      absl::Seconds(30), "tact_kafka_consumer_lag 0 on partitions 0..2"))
      << Metrics();

  // stderr is JSON lines only: ours, librdkafka's (kafka.log) and gRPC's.
  const std::string log = tactd_->process().Log();
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("ts") && j.contains("level") && j.contains("event")) << line;
  }
  EXPECT_EQ(log.find("cust-metrics"), std::string::npos) << "a customer id in the log";
}

// A fresh deployment: tactd seals its Redis as store v2 only once it has shown no key of an older layout for 10
// minutes (tactd's clock is moved past them), so no decision looks for a customer in an older key layout
// (RedisCounterStore::RefreshLayouts), and says so in its log and metrics; `tactctl store layouts --unseal` turns
// the lookup back on.
TEST_F(OpsTest, TactdSealsAFreshRedisAndStopsLookingInOlderLayouts) {
  ASSERT_TRUE(WaitReady(200));
  EXPECT_TRUE(WaitFor([&] { return MetricSample(Metrics(), "tact_redis_older_layouts") == 1.0; }, absl::Seconds(10),
                      "tact_redis_older_layouts 1 at start"))
      << Metrics();
  std::ofstream(clock_file_, std::ios::trunc) << "11m";
  ASSERT_TRUE(WaitFor(
      [&] {
        return tactd_->process().Log().find(
                   R"("event":"store.older_layouts","looked_in":"false","why":"no key of an older layout on this )"
                   R"(Redis since start: sealed it")") != std::string::npos;
      },
      absl::Seconds(30), "store.older_layouts in tactd's log"));
  store::RedisContextPtr conn(redisConnect("127.0.0.1", redis_->port()));
  EXPECT_EQ(testing::RedisText(conn.get(), {"GET", "tact:layouts"}), "v2");
  EXPECT_TRUE(WaitFor([&] { return MetricSample(Metrics(), "tact_redis_older_layouts") == 0.0; }, absl::Seconds(10),
                      "tact_redis_older_layouts 0"))
      << Metrics();
  // Sealed: a customer tactd does not know is decided as new before its key is read, and counted so
  v1::CheckResponse resp;
  ASSERT_TRUE(Check(ProtoEvent({.event_id = "sealed-1", .customer_id = "cust-sealed", .message_class = v1::PROMOTION}),
                    &resp)
                  .ok());
  EXPECT_EQ(resp.decision().decision(), v1::RELEASE);
  EXPECT_EQ(MetricSample(Metrics(), "tact_redis_guessed_total", {{"outcome", "new"}}), 1.0) << Metrics();
  EXPECT_EQ(MetricSample(Metrics(), "tact_redis_guessed_total", {{"outcome", "existed"}}), 0.0) << Metrics();
  // Unsealed (before a rollback past store v2): tactd looks again at its next read of the seal (every 10 s), and
  // does not seal again while it runs.
  testing::CliRun unseal = testing::RunCli(
      dir_, {TACTCTL_BIN, "store", "layouts", "--redis", redis_->address(), "--unseal"});
  ASSERT_EQ(unseal.exit_code, 0) << unseal.output;
  EXPECT_TRUE(WaitFor([&] { return MetricSample(Metrics(), "tact_redis_older_layouts") == 1.0; }, absl::Seconds(30),
                      "tact_redis_older_layouts 1"))
      << Metrics();
  EXPECT_NE(tactd_->process().Log().find(R"("looked_in":"true","why":"the layout seal was removed")"),
            std::string::npos);
  EXPECT_EQ(testing::RedisText(conn.get(), {"EXISTS", "tact:layouts"}), "0");
}

// Slow or idle clients on the admin port (a scanner, a stuck scraper) must not keep the liveness probe from
// being answered: tactd's earlier HTTP server answered nothing once eight sockets sat idle.
TEST_F(OpsTest, IdleAdminConnectionsDoNotStarveTheProbes) {
  ASSERT_TRUE(WaitReady(200));
  std::vector<int> idle;
  for (int i = 0; i < 32; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(tactd_->admin_port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    if (i % 2 == 0) {
      ASSERT_EQ(::send(fd, "GET /he", 7, MSG_NOSIGNAL), 7);  // a request that never completes
    }
    idle.push_back(fd);
  }
  EXPECT_EQ(HttpGet(tactd_->admin_port(), "/healthz").status, 200);
  EXPECT_EQ(HttpGet(tactd_->admin_port(), "/readyz").status, 200);
  EXPECT_EQ(Probe(), 0) << "tactctl health";
  for (const int fd : idle) ::close(fd);
}

TEST_F(OpsTest, ReadyzFollowsRedis) {
  ASSERT_TRUE(WaitReady(200));
  EXPECT_EQ(Probe(), 0) << "tactctl health: ready";
  const int redis_port = redis_->port();
  redis_.reset();  // stopped
  ASSERT_TRUE(WaitReady(503));
  EXPECT_EQ(Probe(), 1) << "tactctl health: not ready";
  EXPECT_EQ(Probe("--live"), 0) << "tactctl health --live: alive";
  const testing::HttpReply r = HttpGet(tactd_->admin_port(), "/readyz");
  EXPECT_NE(r.body.find("\"redis\":false"), std::string::npos) << r.body;
  EXPECT_EQ(HttpGet(tactd_->admin_port(), "/healthz").status, 200) << "liveness must not depend on Redis";
  EXPECT_TRUE(WaitFor([&] { return MetricSample(Metrics(), "tact_ready") == 0.0; }, absl::Seconds(10), "tact_ready 0"));
  EXPECT_EQ(MetricSample(Metrics(), "tact_redis_up"), 0.0);
  EXPECT_GE(MetricSample(Metrics(), "tact_redis_errors_total", {{"op", "ping"}}).value_or(0), 1.0);

  redis_ = std::make_unique<RedisServer>(dir_.path(), redis_port);  // back on the same port
  ASSERT_TRUE(WaitReady(200));
  EXPECT_TRUE(WaitFor([&] { return MetricSample(Metrics(), "tact_ready") == 1.0; }, absl::Seconds(10), "tact_ready 1"));
}

}  // namespace
}  // namespace tact
