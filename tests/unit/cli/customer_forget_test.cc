// tactctl customer forget with its Redis and Kafka injected: the in-memory store (same ForgetCustomer semantics as
// Redis, tests/integration/store_forget_test.cc) and a recording erasure writer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/cli/customer_verbs.h"
#include "daemon/cli/flags.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/store/in_memory_counter_store.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

using testing::Captured;

// Lends a store the test keeps.
class Lent final : public store::CounterStore {
 public:
  explicit Lent(store::CounterStore& inner) : inner_(inner) {}
  absl::StatusOr<std::vector<store::CheckResult>> CheckAndReserve(std::span<const store::CustomerCheck> c,
                                                                  absl::Time d) override {
    return inner_.CheckAndReserve(c, d);
  }
  absl::Status PutSignal(const store::SignalWrite& w, absl::Time now, absl::Time d) override {
    return inner_.PutSignal(w, now, d);
  }
  absl::StatusOr<int64_t> ForgetCustomer(std::span<const std::string> p, absl::Time d) override {
    return inner_.ForgetCustomer(p, d);
  }
  bool Healthy() override { return true; }

 private:
  store::CounterStore& inner_;
};

struct Written {
  std::string topic, key, payload;
};

class ForgetTest : public ::testing::Test {
 protected:
  ForgetTest() : store_(store::KeySchema("redis-secret")) {}

  void Seed(const std::string& customer) {
    ASSERT_TRUE(store_.PutSignal({.tenant = "acme", .customer_id = customer, .field = "optout", .at_ms = 1},
                                 absl::FromUnixSeconds(1), absl::InfiniteFuture())
                    .ok());
  }
  int Run(const ForgetArgs& args, const Environment& env, Captured& c) {
    ForgetStoreFactory stores = [this](const ops::Settings& s) -> absl::StatusOr<std::unique_ptr<store::CounterStore>> {
      settings_seen_ = s;
      return std::make_unique<Lent>(store_);
    };
    ErasureWriter writer = [this](const ForgetArgs& a, const ops::KafkaSecurity&, const std::string& key,
                                  const std::string& payload) {
      if (!writer_status_.ok()) return writer_status_;
      written_.push_back({a.topic, key, payload});
      return absl::OkStatus();
    };
    return Forget(args, env, clock_, stores, writer, c.io);
  }

  Environment env_ = {{"TACT_REDIS_KEY_SECRET", "redis-secret"}, {"TACT_CUSTOMER_HASH_KEY", "hash-key"},
                      {"USER", "dpo"}};
  ForgetArgs args_{.tenant = "acme", .customer = "cust-42", .reason = "GDPR Art. 17", .ticket = "DPO-7"};
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  store::InMemoryCounterStore store_;
  std::vector<Written> written_;
  absl::Status writer_status_;
  ops::Settings settings_seen_;
};

TEST_F(ForgetTest, RemovesTheCustomersKeysAndWritesATombstoneWithTheHashOnly) {
  Seed("cust-42");
  Seed("cust-43");
  Captured c;
  ASSERT_EQ(Run(args_, env_, c), kExitOk) << c.err.str();
  const std::string hash = CustomerHasher("hash-key").Hash("acme", "cust-42");
  ASSERT_EQ(written_.size(), 1u);
  EXPECT_EQ(written_[0].topic, "tact.erasures");
  EXPECT_EQ(written_[0].key, hash);
  const nlohmann::json t = nlohmann::json::parse(written_[0].payload);
  EXPECT_EQ(t["type"], "customer_erased");
  EXPECT_EQ(t["tenant"], "acme");
  EXPECT_EQ(t["customer_hash"], hash);
  EXPECT_EQ(t["operator"], "dpo");
  EXPECT_EQ(t["keys_removed"], 1);
  EXPECT_EQ(t["reason"], "GDPR Art. 17");
  EXPECT_EQ(t["ticket"], "DPO-7");
  EXPECT_EQ(t["erased_at"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(written_[0].payload.find("cust-42"), std::string::npos);
  EXPECT_EQ(c.out.str().find("cust-42"), std::string::npos) << c.out.str();
  EXPECT_NE(c.out.str().find("1 Redis key(s) removed"), std::string::npos) << c.out.str();

  // Idempotent: nothing left, exit 1, and the request is recorded again (keys_removed 0). The other customer stays.
  Captured again;
  EXPECT_EQ(Run(args_, env_, again), kExitFailed);
  ASSERT_EQ(written_.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(written_[1].payload)["keys_removed"], 0);
  EXPECT_NE(again.err.str().find("nothing stored"), std::string::npos) << again.err.str();
  ForgetArgs other = args_;
  other.customer = "cust-43";
  Captured c3;
  EXPECT_EQ(Run(other, env_, c3), kExitOk) << c3.err.str();
}

TEST_F(ForgetTest, WithoutTheRedisKeySecretItFindsNothingAndWarns) {
  Seed("cust-42");
  env_.erase("TACT_REDIS_KEY_SECRET");
  Captured c;
  EXPECT_EQ(Run(args_, env_, c), kExitFailed);
  EXPECT_NE(c.err.str().find("TACT_REDIS_KEY_SECRET is not set"), std::string::npos) << c.err.str();
  env_["TACT_REDIS_KEY_SECRET"] = "redis-secret";
  Captured d;
  EXPECT_EQ(Run(args_, env_, d), kExitOk) << d.err.str();  // still there
}

TEST_F(ForgetTest, UsageErrorsTouchNothing) {
  Seed("cust-42");
  Environment no_hash_key = env_;
  no_hash_key.erase("TACT_CUSTOMER_HASH_KEY");
  Captured c;
  EXPECT_EQ(Run(args_, no_hash_key, c), kExitUsage);
  EXPECT_NE(c.err.str().find("TACT_CUSTOMER_HASH_KEY"), std::string::npos) << c.err.str();
  Environment no_user = env_;
  no_user.erase("USER");
  Captured d;
  EXPECT_EQ(Run(args_, no_user, d), kExitUsage);
  EXPECT_NE(d.err.str().find("--operator"), std::string::npos) << d.err.str();
  EXPECT_TRUE(written_.empty());
  Captured e;
  EXPECT_EQ(Run(args_, env_, e), kExitOk) << e.err.str();  // the key was still there
}

TEST_F(ForgetTest, AnUnwrittenTombstoneIsAnErrorThatSaysWhatWasRemoved) {
  Seed("cust-42");
  writer_status_ = absl::UnavailableError("topic tact.erasures: Unknown topic or partition");
  Captured c;
  EXPECT_EQ(Run(args_, env_, c), kExitUsage);
  EXPECT_NE(c.err.str().find("1 Redis key(s) removed, but the tombstone was not written"), std::string::npos)
      << c.err.str();
}

// A store that cannot be reached: nothing is recorded as erased.
class Unreachable final : public store::CounterStore {
 public:
  absl::StatusOr<std::vector<store::CheckResult>> CheckAndReserve(std::span<const store::CustomerCheck>,
                                                                  absl::Time) override {
    return absl::UnavailableError("redis connect: Connection refused");
  }
  absl::Status PutSignal(const store::SignalWrite&, absl::Time, absl::Time) override {
    return absl::UnavailableError("redis connect: Connection refused");
  }
  absl::StatusOr<int64_t> ForgetCustomer(std::span<const std::string>, absl::Time) override {
    return absl::UnavailableError("redis connect: Connection refused");
  }
  bool Healthy() override { return false; }
};

TEST_F(ForgetTest, RedisUnreachableIsAUsageErrorAndWritesNoTombstone) {
  Captured c;
  ForgetStoreFactory stores = [](const ops::Settings&) -> absl::StatusOr<std::unique_ptr<store::CounterStore>> {
    return std::make_unique<Unreachable>();
  };
  bool wrote = false;
  ErasureWriter writer = [&](const ForgetArgs&, const ops::KafkaSecurity&, const std::string&, const std::string&) {
    wrote = true;
    return absl::OkStatus();
  };
  EXPECT_EQ(Forget(args_, env_, clock_, stores, writer, c.io), kExitUsage);
  EXPECT_FALSE(wrote);
  EXPECT_EQ(c.err.str(), "tactctl customer forget: redis connect: Connection refused\n");
}

TEST_F(ForgetTest, TakesTactdsRedisConnectionFlagsButNoSecretFlags) {
  CLI::App app;
  CLI::App* customer = AddCustomerGroup(app);
  ForgetArgs args;
  AddForgetFlags(*customer, args);
  app.parse("customer forget --tenant t --customer c --redis 10.0.0.7:6380 --redis-tls true "
            "--redis-tls-ca-file /ca.pem",
            /*program_name_included=*/false);
  EXPECT_EQ(args.settings_flags["redis.address"], "10.0.0.7:6380");
  EXPECT_EQ(args.settings_flags["redis.tls"], "true");
  absl::StatusOr<ops::Settings> s = ForgetSettings(args, {{"TACT_REDIS_PASSWORD", "pw"}, {"TACT_GRPC_LISTEN", "x"}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->redis.address, "10.0.0.7:6380");
  EXPECT_TRUE(s->redis.tls);
  EXPECT_EQ(s->redis.tls_ca_file, "/ca.pem");
  EXPECT_EQ(s->redis.password, "pw");
  CLI::App app2;
  ForgetArgs args2;
  AddForgetFlags(*AddCustomerGroup(app2), args2);
  EXPECT_THROW(app2.parse("customer forget --tenant t --customer c --redis-password pw", false), CLI::ParseError);
  EXPECT_THROW(app2.parse("customer forget --tenant t --customer c --redis-key-secret s", false), CLI::ParseError);
}

}  // namespace
}  // namespace tact::cli
