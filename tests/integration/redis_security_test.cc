// Redis AUTH (requirepass, ACL user) and TLS (OpenSSL transport, redis_connection.h) against a real redis-server
// started with --tls-port and a PKI made by the test: both stores work over it, and a wrong password, a wrong CA,
// a wrong server name and a missing client certificate each give a clear error.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/decision/store_spec.h"
#include "daemon/policy/evaluate.h"
#include "daemon/store/redis_capacity_store.h"
#include "daemon/store/redis_connection.h"
#include "daemon/store/redis_counter_store.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/support/admin.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"
#include "tests/support/events.h"

namespace tact::store {
namespace {

using testing::RedisServer;
using testing::RedisServerOptions;
using testing::TempDir;
using testing::TestPki;
using testing::WaitFor;

constexpr char kUser[] = "tact";
constexpr char kPassword[] = "s3cret-acl-pass";
constexpr char kDefaultPassword[] = "default-pass";

policy::Plan CapPlan(int64_t count) {
  policy::Plan plan;
  plan.matched_rules = {"cap"};
  plan.limits.push_back({.rule_id = "cap", .counter = "r:cap", .count = count, .window = absl::Hours(24)});
  return plan;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp") << text;
  std::filesystem::rename(path + ".tmp", path);  // a new inode, as a Secret's update
}

class RedisSecurityTest : public ::testing::Test {
 protected:
  RedisSecurityTest()
      : pki_(dir_.path()),
        redis_(dir_.path(), RedisServerOptions{.requirepass = kDefaultPassword,
                                               .acl_user = kUser,
                                               .acl_password = kPassword,
                                               .tls = &pki_}),
        clock_(absl::FromUnixSeconds(1'800'000'000)) {}

  // TLS to the TLS port with the right CA, as the ACL user.
  RedisSettings Secure() const {
    RedisSettings s;
    s.port = redis_.tls_port();
    s.tls = {.enabled = true, .ca_file = pki_.ca};
    s.auth = {.username = kUser, .password = kPassword};
    return s;
  }
  // One check through a fresh store: the error of the connect, or OK.
  absl::Status CheckOnce(RedisCounterStore& store, const std::string& event_id = "e1") {
    const policy::Plan plan = CapPlan(5);
    const CustomerCheck c{.tenant = "acme", .customer_id = "c1", .event_id = event_id, .now = clock_.Now(),
                          .spec = decision::ToCheckSpec(plan), .marker = "m"};
    return store.CheckAndReserve({&c, 1}, clock_.Now() + absl::Seconds(5)).status();
  }
  absl::Status CheckOnce(const RedisSettings& s) {
    RedisCounterStore store(s, clock_);
    return CheckOnce(store);
  }

  TempDir dir_;
  TestPki pki_;
  RedisServer redis_;
  FakeClock clock_;
};

TEST_F(RedisSecurityTest, CounterStoreWorksOverTlsAsAnAclUser) {
  RedisCounterStore store(Secure(), clock_);
  EXPECT_TRUE(store.Healthy());
  const policy::Plan plan = CapPlan(2);
  int released = 0;
  for (int i = 0; i < 4; ++i) {
    const CustomerCheck c{.tenant = "acme", .customer_id = "c1", .event_id = absl::StrCat("e", i),
                          .now = clock_.Now(), .spec = decision::ToCheckSpec(plan), .marker = "m"};
    absl::StatusOr<std::vector<CheckResult>> r = store.CheckAndReserve({&c, 1}, clock_.Now() + absl::Seconds(5));
    ASSERT_TRUE(r.ok()) << r.status();
    if (policy::FirstExceeded(plan, r->front().outcome) < 0) ++released;
  }
  EXPECT_EQ(released, 2);
  // A large pipelined batch (replies bigger than one TLS record) in one round-trip.
  std::vector<CustomerCheck> checks;
  for (int i = 0; i < 300; ++i) {
    checks.push_back({.tenant = "acme", .customer_id = absl::StrCat("batch-", i), .event_id = "b",
                      .now = clock_.Now(), .spec = decision::ToCheckSpec(plan), .marker = std::string(200, 'm')});
  }
  absl::StatusOr<std::vector<CheckResult>> batch = store.CheckAndReserve(checks, clock_.Now() + absl::Seconds(5));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->size(), 300u);
  policy::Signal sig{.tenant = "acme", .customer_id = "c1", .kind = policy::SignalKind::kOptOut, .at = clock_.Now()};
  EXPECT_TRUE(store.PutSignal(*decision::ToStoreSignal(sig), clock_.Now(), clock_.Now() + absl::Seconds(5)).ok());
  absl::StatusOr<CustomerState> state =
      store.ReadCustomer({.tenant = "acme", .customer_id = "c1", .now = clock_.Now()}, clock_.Now() + absl::Seconds(5));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->signals.size(), 1u);
}

TEST_F(RedisSecurityTest, CapacityStoreWorksOverTlsAsAnAclUser) {
  RedisCapacityStore store(Secure());
  v1::PutStaffingRequest staffing;
  staffing.set_tenant("acme");
  ASSERT_TRUE(store.PutStaffing(staffing).ok());
  absl::StatusOr<std::optional<v1::PutStaffingRequest>> got = store.GetStaffing("acme");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->has_value());
  RedisSettings wrong = Secure();
  wrong.auth.password = "nope";
  RedisCapacityStore bad(wrong);
  EXPECT_NE(std::string(bad.GetStaffing("acme").status().message()).find("authentication failed (WRONGPASS"),
            std::string::npos);
}

TEST_F(RedisSecurityTest, RequirepassOnThePlaintextPort) {
  RedisSettings s;
  s.port = redis_.port();
  s.auth.password = kDefaultPassword;
  EXPECT_TRUE(CheckOnce(s).ok()) << CheckOnce(s);
}

TEST_F(RedisSecurityTest, WrongPasswordIsAClearErrorAndNeverEchoed) {
  RedisSettings s = Secure();
  s.auth.password = "wrong-password";
  RedisCounterStore store(s, clock_);
  const absl::Status st = CheckOnce(store);
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_NE(std::string(st.message()).find("redis: authentication failed (WRONGPASS"), std::string::npos) << st;
  EXPECT_EQ(std::string(st.message()).find("wrong-password"), std::string::npos) << st;
  EXPECT_FALSE(store.Healthy());
}

TEST_F(RedisSecurityTest, NoPasswordIsAClearError) {
  RedisSettings s = Secure();
  s.auth = {};
  const absl::Status st = CheckOnce(s);
  EXPECT_NE(std::string(st.message()).find("NOAUTH"), std::string::npos) << st;
}

TEST_F(RedisSecurityTest, WrongCaIsAClearError) {
  RedisSettings s = Secure();
  s.tls.ca_file = pki_.other_ca;
  const absl::Status st = CheckOnce(s);
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_NE(std::string(st.message()).find("redis tls: certificate verification failed: "),
            std::string::npos)
      << st;
}

TEST_F(RedisSecurityTest, WrongServerNameIsAClearError) {
  RedisSettings s = Secure();
  s.tls.server_name = "redis.example.com";
  absl::Status st = CheckOnce(s);
  EXPECT_NE(std::string(st.message()).find("certificate verification failed: hostname mismatch"), std::string::npos)
      << st;
  s.tls.server_name = "127.0.0.2";
  st = CheckOnce(s);
  EXPECT_NE(std::string(st.message()).find("certificate verification failed: IP address mismatch"), std::string::npos)
      << st;
  s.tls.server_name = "localhost";  // the certificate's DNS name
  st = CheckOnce(s);
  EXPECT_TRUE(st.ok()) << st;
}

TEST_F(RedisSecurityTest, PlaintextClientOnTheTlsPortAndTlsOnThePlainPortFail) {
  RedisSettings s = Secure();
  s.tls.enabled = false;
  EXPECT_FALSE(CheckOnce(s).ok());
  s = Secure();
  s.port = redis_.port();
  const absl::Status st = CheckOnce(s);
  EXPECT_NE(std::string(st.message()).find("redis tls: handshake"), std::string::npos) << st;  // timed out
}

TEST_F(RedisSecurityTest, MutualTlsNeedsTheClientCertificate) {
  TempDir dir;
  RedisServer mtls(dir.path(), RedisServerOptions{.tls = &pki_, .tls_auth_clients = true});
  RedisSettings s;
  s.port = mtls.tls_port();
  s.tls = {.enabled = true, .ca_file = pki_.ca};
  const absl::Status st = CheckOnce(s);
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  s.tls.cert_file = pki_.client_cert;
  s.tls.key_file = pki_.client_key;
  EXPECT_TRUE(CheckOnce(s).ok()) << CheckOnce(s);
}

TEST_F(RedisSecurityTest, RotatedCaAndPasswordFilesApplyOnTheNextConnection) {
  const std::string ca = dir_.path() + "/rotating-ca.crt";
  const std::string password = dir_.path() + "/password";
  WriteFile(ca, testing::ReadFile(pki_.other_ca));
  WriteFile(password, "old-password\n");
  RedisSettings s = Secure();
  s.tls.ca_file = ca;
  s.auth.password.clear();
  s.auth.password_file = password;
  RedisCounterStore store(s, clock_);
  absl::Status st = CheckOnce(store);
  EXPECT_NE(std::string(st.message()).find("certificate verification failed"), std::string::npos) << st;
  WriteFile(ca, testing::ReadFile(pki_.ca));
  clock_.Advance(absl::Seconds(10));  // past the reconnect backoff
  st = CheckOnce(store);
  EXPECT_NE(std::string(st.message()).find("authentication failed"), std::string::npos) << st;
  WriteFile(password, absl::StrCat(kPassword, "\n"));
  clock_.Advance(absl::Seconds(10));
  st = CheckOnce(store);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_TRUE(store.Healthy());
}

TEST_F(RedisSecurityTest, ReconnectsAfterTheServerDropsTlsConnections) {
  RedisCounterStore store(Secure(), clock_);
  ASSERT_TRUE(CheckOnce(store, "k1").ok());
  RedisContextPtr admin(redisConnect("127.0.0.1", redis_.port()));
  ASSERT_TRUE(admin != nullptr && admin->err == 0);
  RedisReplyPtr auth(static_cast<redisReply*>(redisCommand(admin.get(), "AUTH %s %s", kUser, kPassword)));
  ASSERT_TRUE(auth != nullptr && auth->type == REDIS_REPLY_STATUS);
  RedisReplyPtr kill(static_cast<redisReply*>(redisCommand(admin.get(), "CLIENT KILL USER %s", kUser)));
  ASSERT_TRUE(kill != nullptr && kill->type == REDIS_REPLY_INTEGER && kill->integer >= 1) << kill->type;
  // The pooled connection fails once (dropped), then a new one is made.
  ASSERT_TRUE(WaitFor(
      [&] {
        clock_.Advance(absl::Seconds(3));
        return CheckOnce(store, "k2").ok();
      },
      absl::Seconds(20), "check after reconnect"));
}

TEST_F(RedisSecurityTest, DeadlineHoldsOverTls) {
  RedisCounterStore store(Secure(), clock_);
  ASSERT_TRUE(CheckOnce(store, "d1").ok());
  RedisContextPtr admin(redisConnect("127.0.0.1", redis_.port()));
  RedisReplyPtr auth(static_cast<redisReply*>(redisCommand(admin.get(), "AUTH %s %s", kUser, kPassword)));
  ASSERT_TRUE(auth != nullptr && auth->type == REDIS_REPLY_STATUS);
  // Every other client's commands wait for 3 s from now (the reply means the pause is in effect).
  RedisReplyPtr pause(static_cast<redisReply*>(redisCommand(admin.get(), "CLIENT PAUSE 3000 ALL")));
  ASSERT_TRUE(pause != nullptr && pause->type == REDIS_REPLY_STATUS);
  const policy::Plan plan = CapPlan(5);
  const CustomerCheck c{.tenant = "acme", .customer_id = "c1", .event_id = "d2", .now = clock_.Now(),
                        .spec = decision::ToCheckSpec(plan), .marker = "m"};
  absl::StatusOr<std::vector<CheckResult>> r = store.CheckAndReserve({&c, 1}, clock_.Now() + absl::Milliseconds(200));
  ASSERT_FALSE(r.ok()) << "the call waited for Redis past its deadline";
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("timed out"), std::string::npos) << r.status();
}

TEST(RedisSecurityCheckTest, UnreadableFilesAreClearErrors) {
  EXPECT_NE(std::string(CheckRedisSecurity({.enabled = true, .ca_file = "/nonexistent/ca.crt"}, {}).message())
                .find("redis.tls_ca_file: cannot load '/nonexistent/ca.crt'"),
            std::string::npos);
  EXPECT_NE(std::string(CheckRedisSecurity({}, {.password_file = "/nonexistent/pw"}).message())
                .find("redis.password_file: cannot read '/nonexistent/pw'"),
            std::string::npos);
  TempDir dir;
  TestPki pki(dir.path());
  EXPECT_NE(std::string(CheckRedisSecurity({.enabled = true, .ca_file = pki.ca, .cert_file = pki.client_cert,
                                            .key_file = pki.server_key},
                                           {})
                            .message())
                .find("redis.tls_key_file: "),
            std::string::npos);
  EXPECT_TRUE(CheckRedisSecurity({.enabled = true, .ca_file = pki.ca, .cert_file = pki.client_cert,
                                  .key_file = pki.client_key},
                                 {})
                  .ok());
}


// tactd end to end with --redis-tls and an ACL user whose password is a mounted file.
class TactdRedisSecurityTest : public ::testing::Test {
 protected:
  TactdRedisSecurityTest()
      : pki_(dir_.path()),
        redis_(dir_.path(), RedisServerOptions{.requirepass = kDefaultPassword,
                                               .acl_user = kUser,
                                               .acl_password = kPassword,
                                               .tls = &pki_}),
        broker_(dir_.path(), 1) {}

  std::unique_ptr<testing::Tactd> Start(const std::string& password) {
    const std::string file = dir_.path() + "/redis-password";
    WriteFile(file, password + "\n");
    return std::make_unique<testing::Tactd>(
        dir_.path(), broker_.bootstrap(), redis_.tls_address(),
        std::vector<std::string>{"--redis-tls", "true", "--redis-tls-ca-file", pki_.ca, "--redis-tls-server-name",
                                 "localhost", "--redis-username", kUser, "--redis-password-file", file,
                                 "--kafka-statistics-interval-ms", "200"});
  }

  TempDir dir_;
  TestPki pki_;
  RedisServer redis_;
  testing::DevBroker broker_;
};

TEST_F(TactdRedisSecurityTest, DecidesOverTlsAsAnAclUser) {
  std::unique_ptr<testing::Tactd> tactd = Start(kPassword);
  ASSERT_TRUE(WaitFor([&] { return testing::HttpGet(tactd->admin_port(), "/readyz").status == 200; },
                      absl::Seconds(30), "/readyz 200"))
      << tactd->process().Log();
  auto stub = v1::Throttle::NewStub(grpc::CreateChannel(tactd->grpc_target(), grpc::InsecureChannelCredentials()));
  v1::CheckRequest req;
  *req.mutable_event() =
      testing::ProtoEvent({.event_id = "tls-1", .customer_id = "cust-tls-1", .message_class = v1::TRANSACTIONAL});
  v1::CheckResponse resp;
  grpc::ClientContext ctx;
  const grpc::Status st = stub->Check(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.decision().decision(), v1::RELEASE);
  EXPECT_FALSE(resp.decision().degraded()) << "decided without Redis";
  // The decision marker is in Redis (read on the plaintext port as the same user).
  RedisContextPtr admin(redisConnect("127.0.0.1", redis_.port()));
  RedisReplyPtr auth(static_cast<redisReply*>(redisCommand(admin.get(), "AUTH %s %s", kUser, kPassword)));
  RedisReplyPtr keys(static_cast<redisReply*>(redisCommand(admin.get(), "KEYS tact:{*")));
  ASSERT_TRUE(keys != nullptr && keys->type == REDIS_REPLY_ARRAY);
  ASSERT_EQ(keys->elements, 1u);  // the customer's one key (store v2), holding its latest marker
  RedisReplyPtr value(static_cast<redisReply*>(redisCommand(admin.get(), "GET %s", keys->element[0]->str)));
  ASSERT_TRUE(value != nullptr && value->type == REDIS_REPLY_STRING);
  EXPECT_NE(std::string(value->str, value->len).find("tls-1"), std::string::npos);
  // The policy in force is archived over the same TLS connection as the ACL user (the markers refer to it).
  EXPECT_TRUE(WaitFor(
      [&] {
        RedisReplyPtr archived(static_cast<redisReply*>(redisCommand(admin.get(), "KEYS tact:archive:*")));
        return archived != nullptr && archived->type == REDIS_REPLY_ARRAY && archived->elements == 1;
      },
      absl::Seconds(30), "the policy archived"));
  EXPECT_EQ(tactd->process().Log().find(kPassword), std::string::npos) << "the password in tactd's log";
}

TEST_F(TactdRedisSecurityTest, WrongPasswordKeepsItNotReadyWithAClearLogLine) {
  std::unique_ptr<testing::Tactd> tactd = Start("not-the-password");
  const int admin = tactd->admin_port();
  // Kafka is fine (its partition assigned); Redis refuses the login: not ready, tact_redis_up 0.
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string m = testing::HttpGet(admin, "/metrics").body;
        return testing::MetricSample(m, "tact_kafka_assigned_partitions") == 1.0 &&
               testing::MetricSample(m, "tact_redis_up") == 0.0 &&
               tactd->process().Log().find("authentication failed (WRONGPASS") != std::string::npos;
      },
      absl::Seconds(30), "assigned, redis down, auth failure logged"))
      << tactd->process().Log();
  EXPECT_EQ(testing::HttpGet(admin, "/readyz").status, 503);
  EXPECT_TRUE(tactd->process().Running());
  EXPECT_EQ(tactd->process().Log().find("not-the-password"), std::string::npos) << "the password in tactd's log";
}

}  // namespace
}  // namespace tact::store
