// tactctl store layouts with the counting injected (the real one on Redis: tests/integration and tests/cluster):
// its JSON, the settings it hands on, and errors that name the flag or the failure.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "daemon/cli/flags.h"
#include "daemon/cli/store_verbs.h"
#include "daemon/core/clock.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

using testing::Captured;

TEST(StoreLayoutsTest, PrintsTheKeysOfEachLayoutAsJson) {
  const FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  ops::Settings seen;
  absl::Time deadline;
  LayoutCounter counter = [&](const ops::Settings& s, absl::Time d) -> absl::StatusOr<store::LayoutCounts> {
    seen = s;
    deadline = d;
    return store::LayoutCounts{.v2 = 7, .v1 = 2, .legacy = 0};
  };
  Captured c;
  StoreLayoutsArgs args{.timeout_s = 30, .settings_flags = {{"redis.address", "10.0.0.1:6380"}}};
  EXPECT_EQ(StoreLayouts(args, {{"TACT_REDIS_USERNAME", "ops"}}, clock, counter, c.io), kExitOk) << c.err.str();
  EXPECT_EQ(c.out.str(), "{\"v2\":7,\"v1\":2,\"legacy\":0}\n");
  EXPECT_EQ(seen.redis.address, "10.0.0.1:6380");
  EXPECT_EQ(seen.redis.username, "ops");
  EXPECT_EQ(deadline, clock.Now() + absl::Seconds(30));
}

TEST(StoreLayoutsTest, ErrorsNameTheFlagOrTheFailure) {
  const FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  Captured bad_address;
  EXPECT_EQ(StoreLayouts({.settings_flags = {{"redis.address", "nohost"}}}, {}, clock, RedisLayoutCounter(clock),
                         bad_address.io),
            kExitUsage);
  EXPECT_EQ(bad_address.err.str(),
            "tactctl store layouts: --redis: redis address 'nohost' must be host:port, e.g. 127.0.0.1:6379\n");
  EXPECT_EQ(bad_address.out.str(), "");
  Captured unreachable;
  LayoutCounter failing = [](const ops::Settings&, absl::Time) -> absl::StatusOr<store::LayoutCounts> {
    return absl::UnavailableError("redis: connection refused");
  };
  EXPECT_EQ(StoreLayouts({}, {}, clock, failing, unreachable.io), kExitUsage);
  EXPECT_EQ(unreachable.err.str(), "tactctl store layouts: redis: connection refused\n");
}

TEST(StoreLayoutsTest, TheVerbTakesTactdsRedisFlags) {
  CLI::App app;
  CLI::App& store = *AddStoreGroup(app);
  StoreLayoutsArgs args;
  AddStoreLayoutsFlags(store, args);
  app.parse("store layouts --redis redis+cluster://h:1 --redis-tls false", /*program_name_included=*/false);
  EXPECT_EQ(args.settings_flags.at("redis.address"), "redis+cluster://h:1");
  EXPECT_EQ(args.settings_flags.at("redis.tls"), "false");
  EXPECT_EQ(args.timeout_s, 600);
}

}  // namespace
}  // namespace tact::cli
