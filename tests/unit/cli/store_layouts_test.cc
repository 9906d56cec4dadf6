// tactctl store layouts with the Redis injected (the real one: tests/integration and tests/cluster): its JSON, the
// settings it hands on, --seal and --unseal, and errors that name the flag or the failure.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/cli/flags.h"
#include "daemon/cli/store_verbs.h"
#include "daemon/core/clock.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

using testing::Captured;

// A Redis's layouts and seal, in memory; what it was asked is recorded.
struct FakeRedis {
  store::LayoutCounts counts;
  bool sealed = false;
  absl::Status failure;  // every call's, when not OK
  ops::Settings settings;
  absl::Time deadline;
  int seal_calls = 0;
};
class FakeLayouts final : public LayoutStore {
 public:
  explicit FakeLayouts(FakeRedis& r) : r_(r) {}
  absl::StatusOr<store::LayoutCounts> Count(absl::Time deadline) override {
    r_.deadline = deadline;
    if (!r_.failure.ok()) return r_.failure;
    return r_.counts;
  }
  absl::StatusOr<bool> Sealed(absl::Time) override { return r_.sealed; }
  absl::Status Seal(bool sealed, absl::Time) override {
    ++r_.seal_calls;
    r_.sealed = sealed;
    return absl::OkStatus();
  }

 private:
  FakeRedis& r_;
};
LayoutStoreMaker Fake(FakeRedis& r) {
  return [&r](const ops::Settings& s) -> absl::StatusOr<std::unique_ptr<LayoutStore>> {
    r.settings = s;
    return std::make_unique<FakeLayouts>(r);
  };
}

TEST(StoreLayoutsTest, PrintsTheKeysOfEachLayoutAsJson) {
  const FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  FakeRedis redis{.counts = {.v2 = 7, .v1 = 2, .legacy = 0}};
  Captured c;
  StoreLayoutsArgs args{.timeout_s = 30, .settings_flags = {{"redis.address", "10.0.0.1:6380"}}};
  EXPECT_EQ(StoreLayouts(args, {{"TACT_REDIS_USERNAME", "ops"}}, clock, Fake(redis), c.io), kExitOk) << c.err.str();
  EXPECT_EQ(c.out.str(), "{\"v2\":7,\"v1\":2,\"legacy\":0,\"sealed\":false}\n");
  EXPECT_EQ(redis.settings.redis.address, "10.0.0.1:6380");
  EXPECT_EQ(redis.settings.redis.username, "ops");
  EXPECT_EQ(redis.deadline, clock.Now() + absl::Seconds(30));
  EXPECT_EQ(redis.seal_calls, 0);  // counting writes nothing
}

TEST(StoreLayoutsTest, SealsOnlyWhenNoKeyOfAnOlderLayoutIsLeft) {
  const FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  FakeRedis upgrading{.counts = {.v2 = 7, .v1 = 2, .legacy = 1}};
  Captured refused;
  EXPECT_EQ(StoreLayouts({.seal = true}, {}, clock, Fake(upgrading), refused.io), kExitFailed);
  EXPECT_FALSE(upgrading.sealed);
  EXPECT_EQ(refused.out.str(), "{\"v2\":7,\"v1\":2,\"legacy\":1,\"sealed\":false}\n");
  EXPECT_EQ(refused.err.str(),
            "tactctl store layouts: not sealed: 2 key(s) of layout v1 and 1 of the legacy layout are left (a tactd "
            "moves a customer on its next decision or signal; the rest expire)\n");

  FakeRedis upgraded{.counts = {.v2 = 9}};
  Captured sealed;
  EXPECT_EQ(StoreLayouts({.seal = true}, {}, clock, Fake(upgraded), sealed.io), kExitOk) << sealed.err.str();
  EXPECT_TRUE(upgraded.sealed);
  EXPECT_EQ(sealed.out.str(), "{\"v2\":9,\"v1\":0,\"legacy\":0,\"sealed\":true}\n");

  Captured unsealed;
  EXPECT_EQ(StoreLayouts({.unseal = true}, {}, clock, Fake(upgraded), unsealed.io), kExitOk) << unsealed.err.str();
  EXPECT_FALSE(upgraded.sealed);
  EXPECT_EQ(unsealed.out.str(), "{\"v2\":9,\"v1\":0,\"legacy\":0,\"sealed\":false}\n");

  Captured both;
  EXPECT_EQ(StoreLayouts({.seal = true, .unseal = true}, {}, clock, Fake(upgraded), both.io), kExitUsage);
  EXPECT_EQ(both.err.str(), "tactctl store layouts: --seal and --unseal: give one of them\n");
}

TEST(StoreLayoutsTest, ErrorsNameTheFlagOrTheFailure) {
  const FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  Captured bad_address;
  EXPECT_EQ(StoreLayouts({.settings_flags = {{"redis.address", "nohost"}}}, {}, clock, RedisLayoutStore(clock),
                         bad_address.io),
            kExitUsage);
  EXPECT_EQ(bad_address.err.str(),
            "tactctl store layouts: --redis: redis address 'nohost' must be host:port, e.g. 127.0.0.1:6379\n");
  EXPECT_EQ(bad_address.out.str(), "");
  Captured unreachable;
  FakeRedis failing{.failure = absl::UnavailableError("redis: connection refused")};
  EXPECT_EQ(StoreLayouts({}, {}, clock, Fake(failing), unreachable.io), kExitUsage);
  EXPECT_EQ(unreachable.err.str(), "tactctl store layouts: redis: connection refused\n");
}

TEST(StoreLayoutsTest, TheVerbTakesTactdsRedisFlags) {
  CLI::App app;
  CLI::App& store = *AddStoreGroup(app);
  StoreLayoutsArgs args;
  AddStoreLayoutsFlags(store, args);
  app.parse("store layouts --redis redis+cluster://h:1 --redis-tls false --seal", /*program_name_included=*/false);
  EXPECT_EQ(args.settings_flags.at("redis.address"), "redis+cluster://h:1");
  EXPECT_EQ(args.settings_flags.at("redis.tls"), "false");
  EXPECT_EQ(args.timeout_s, 600);
  EXPECT_TRUE(args.seal);
  EXPECT_FALSE(args.unseal);
}

}  // namespace
}  // namespace tact::cli
