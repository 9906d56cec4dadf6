// redis.older_layouts and `tactctl store layouts` on a real Redis Cluster (cluster_env.h): with it off a customer's
// layout-v1 state is not read on the master of its slot (on, it is); the verb counts the keys of each layout on
// every master.
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "nlohmann/json.hpp"
#include "tests/cluster/cluster_env.h"
#include "tests/support/process.h"
#include "tests/support/redis_cluster.h"

namespace tact {
namespace {

using testing::RedisClusterNodes;

std::string Prefix(const std::string& customer) { return store::KeySchema().CustomerPrefix("acme", customer); }

// One command on the master of `key`'s slot; the reply's integer or text.
std::string OnMaster(const std::string& key, std::vector<std::string> args) {
  auto r = RedisClusterNodes::Command(env->nodes->MasterOf(store::KeySlot(key)), args);
  if (r == nullptr) return "no answer";
  return r->type == REDIS_REPLY_INTEGER ? absl::StrCat(r->integer) : std::string(r->str, r->len);
}

// A customer "<stem>-<i>" on the master on `port`.
std::string CustomerOn(const std::string& stem, int port) {
  for (int i = 0;; ++i) {
    const std::string c = absl::StrCat(stem, "-", i);
    if (env->nodes->MasterOf(store::KeySlot(Prefix(c))) == port) return c;
  }
}

// The masters serving slots now (a test of redis_cluster_store_test.cc kills one for good).
std::vector<int> Masters() {
  std::set<int> out;
  for (int slot = 0; slot < 16384; slot += 64) out.insert(env->nodes->MasterOf(slot));
  out.erase(0);
  return {out.begin(), out.end()};
}

// A v1 customer: two messages in the rolling window, its index, and event "a"'s marker (a hash).
void WriteV1(const std::string& customer) {
  const std::string p = Prefix(customer);
  const int64_t now = absl::ToUnixMillis(absl::Now());
  ASSERT_EQ(OnMaster(p, {"ZADD", p + "r:cap", absl::StrCat(now - 2000), "x", absl::StrCat(now - 1000), "y"}), "2");
  ASSERT_EQ(OnMaster(p, {"HSET", p + "idx", "r:cap", absl::StrCat(now + 3'600'000)}), "1");
  ASSERT_EQ(OnMaster(p, {"HSET", p + "seen:a", "o", "1||1:0", "m", "v1-marker"}), "2");
}

store::CheckResult Decide(store::RedisCounterStore& s, const std::string& customer, const std::string& event) {
  store::CustomerCheck c{.tenant = "acme", .customer_id = customer, .event_id = event, .now = absl::Now()};
  c.spec.limits.push_back({.counter = "r:cap", .count = 5, .window = absl::Hours(1)});
  c.marker = "m";
  absl::StatusOr<std::vector<store::CheckResult>> r = s.CheckAndReserve({&c, 1}, absl::Now() + absl::Seconds(10));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? (*r)[0] : store::CheckResult{};
}

TEST(ClusterOlderLayoutsTest, V1StateIsReadOnlyWithOlderLayoutsOn) {
  SystemClock clock;
  store::RedisSettings settings;
  ASSERT_TRUE(store::ParseRedisAddress(env->nodes->address(), &settings).ok());
  const std::string on = CustomerOn("layouts-on", Masters().back());
  const std::string off = CustomerOn("layouts-off", Masters().back());
  WriteV1(on);
  WriteV1(off);
  store::RedisCounterStore with(settings, clock);
  store::CheckResult r = Decide(with, on, "a");
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.marker, "v1-marker");
  EXPECT_EQ(Decide(with, on, "b").outcome.usage.at(0).used, 2);
  settings.older_layouts = false;
  store::RedisCounterStore without(settings, clock);
  r = Decide(without, off, "a");
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.outcome.usage.at(0).used, 0);
  EXPECT_EQ(OnMaster(Prefix(off), {"EXISTS", Prefix(off) + "r:cap", Prefix(off) + "idx"}), "2");  // not moved
}

// tactd never seals a cluster itself (its keyspace is counted by an operator: tactctl store layouts --seal), and
// reads the seal from the master of its slot.
TEST(ClusterOlderLayoutsTest, AClusterIsSealedByTactctlAndItsSealIsRead) {
  SystemClock clock;
  store::RedisSettings settings;
  ASSERT_TRUE(store::ParseRedisAddress(env->nodes->address(), &settings).ok());
  const std::string seal(store::kLayoutSealKey);
  store::RedisCounterStore fresh(settings, clock);
  fresh.RefreshLayouts(absl::Now() + absl::Seconds(10));
  EXPECT_TRUE(fresh.LooksInOlderLayouts());
  EXPECT_EQ(OnMaster(seal, {"EXISTS", seal}), "0");
  ASSERT_EQ(OnMaster(seal, {"SET", seal, "v2"}), "OK");
  store::RedisCounterStore sealed(settings, clock);
  sealed.RefreshLayouts(absl::Now() + absl::Seconds(10));
  EXPECT_FALSE(sealed.LooksInOlderLayouts());
  ASSERT_EQ(OnMaster(seal, {"DEL", seal}), "1");  // the other tests of this binary look in the older layouts
}

TEST(ClusterOlderLayoutsTest, TactctlStoreLayoutsCountsTheKeysOfEveryMaster) {
  testing::TempDir dir;
  auto layouts = [&] {
    testing::CliRun run = testing::RunCli(dir, {TACTCTL_BIN, "store", "layouts", "--redis", env->nodes->address()});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    const nlohmann::json j = nlohmann::json::parse(run.output, nullptr, /*allow_exceptions=*/false);
    return std::vector<int64_t>{j.value("v2", int64_t{-1}), j.value("v1", int64_t{-1}), j.value("legacy", int64_t{-1})};
  };
  const std::vector<int64_t> before = layouts();  // what the other tests of this binary left
  // On every master: one v2 key, two v1 keys (a counter and a marker hash), one legacy key.
  int masters = 0;
  for (int port : Masters()) {
    ++masters;
    const std::string p = Prefix(CustomerOn(absl::StrCat("count-", port), port));
    ASSERT_EQ(OnMaster(p, {"SET", p + "s", "2 0\n"}), "OK");
    ASSERT_EQ(OnMaster(p, {"SET", p + "c:day:2027-01-15", "1"}), "OK");
    ASSERT_EQ(OnMaster(p, {"HSET", p + "seen:e", "o", "1||", "m", "x"}), "2");
    for (int i = 0;; ++i) {
      const std::string legacy = absl::StrCat("tact:{acme:count-legacy-", i, "}:sig");
      if (env->nodes->MasterOf(store::KeySlot(legacy)) != port) continue;
      ASSERT_EQ(OnMaster(legacy, {"HSET", legacy, "optout", "1:0"}), "1");
      break;
    }
  }
  ASSERT_GE(masters, 2);
  const std::vector<int64_t> after = layouts();
  EXPECT_EQ(after[0] - before[0], masters);
  EXPECT_EQ(after[1] - before[1], 2 * masters);
  EXPECT_EQ(after[2] - before[2], masters);
}

}  // namespace
}  // namespace tact
