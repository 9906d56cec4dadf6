// Redis AUTH (requirepass, ACL user) and TLS (OpenSSL transport, redis_connection.h) against a real redis-server
// started with --tls-port and a PKI made by the test: both stores work over it, and a wrong password, a wrong CA,
// a wrong server name and a missing client certificate each give a clear error.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/store/redis_capacity_store.h"
#include "daemon/store/redis_connection.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

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
                          .plan = &plan, .marker = "m"};
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
                          .now = clock_.Now(), .plan = &plan, .marker = "m"};
    absl::StatusOr<std::vector<CheckResult>> r = store.CheckAndReserve({&c, 1}, clock_.Now() + absl::Seconds(5));
    ASSERT_TRUE(r.ok()) << r.status();
    if (policy::FirstExceeded(plan, r->front().outcome) < 0) ++released;
  }
  EXPECT_EQ(released, 2);
  // A large pipelined batch (replies bigger than one TLS record) in one round-trip.
  std::vector<CustomerCheck> checks;
  for (int i = 0; i < 300; ++i) {
    checks.push_back({.tenant = "acme", .customer_id = absl::StrCat("batch-", i), .event_id = "b",
                      .now = clock_.Now(), .plan = &plan, .marker = std::string(200, 'm')});
  }
  absl::StatusOr<std::vector<CheckResult>> batch = store.CheckAndReserve(checks, clock_.Now() + absl::Seconds(5));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->size(), 300u);
  policy::Signal sig{.tenant = "acme", .customer_id = "c1", .kind = policy::SignalKind::kOptOut, .at = clock_.Now()};
  EXPECT_TRUE(store.PutSignal(sig, clock_.Now(), clock_.Now() + absl::Seconds(5)).ok());
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
                        .plan = &plan, .marker = "m"};
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

}  // namespace
}  // namespace tact::store
