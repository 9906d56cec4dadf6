// redis.older_layouts against a real redis-server: with it on (the default) a customer's state in layout v1 is
// honoured (the upgrade, redis_key_upgrade_test.cc); with it off neither v1 nor the legacy layout is read by a
// check, a signal or ReadCustomer, and no EXISTS is made (INFO commandstats). `tactctl store layouts` counts the
// keys of each layout and seals a Redis that has none of the older ones; a sealed Redis, or a fresh one tactd seals
// itself (RefreshLayouts), is read as with the setting off.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/core/clock.h"
#include "daemon/decision/store_spec.h"
#include "daemon/policy/evaluate.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/redis_wire.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"

namespace tact::store {
namespace {

using testing::RedisServer;
using testing::TempDir;

policy::Plan CapPlan() {
  policy::Plan plan;
  plan.matched_rules = {"cap"};
  plan.limits.push_back({.rule_id = "cap", .counter = "r:cap", .count = 3, .window = absl::Hours(1)});
  return plan;
}

class RedisOlderLayoutsTest : public ::testing::Test {
 protected:
  RedisOlderLayoutsTest() : redis_(dir_.path()), clock_(absl::FromUnixSeconds(1'800'000'000)) {
    conn_.reset(redisConnect("127.0.0.1", redis_.port()));
  }

  std::unique_ptr<RedisCounterStore> MakeStore(bool older_layouts) {
    RedisSettings s;
    s.port = redis_.port();
    s.older_layouts = older_layouts;
    return std::make_unique<RedisCounterStore>(s, clock_);
  }
  absl::Time Deadline() { return clock_.Now() + absl::Seconds(5); }
  static std::string Prefix(const std::string& customer) { return KeySchema().CustomerPrefix("acme", customer); }

  // One command; the reply as text (integers in decimal, nil as "nil", status and strings as they are).
  std::string Redis(const std::vector<std::string>& args) { return testing::RedisText(conn_.get(), args); }
  // How many calls of `command` Redis counted since the last CONFIG RESETSTAT (INFO commandstats).
  int64_t Calls(const std::string& command) {
    const std::string info = Redis({"INFO", "commandstats"});
    const std::string tag = absl::StrCat("cmdstat_", command, ":calls=");
    const size_t at = info.find(tag);
    if (at == std::string::npos) return 0;
    return std::stoll(info.substr(at + tag.size()));
  }

  // What a tactd of layout v1 left for acme/<customer>: "a" and "b" in the rolling hour, "a"'s decision marker
  // (a hash), the index naming the counter, and an opt-out without an end.
  void WriteV1Customer(const std::string& customer) {
    const std::string p = Prefix(customer);
    const int64_t now = absl::ToUnixMillis(clock_.Now());
    ASSERT_EQ(Redis({"ZADD", p + "r:cap", absl::StrCat(now - 1'200'000), "a", absl::StrCat(now - 600'000), "b"}), "2");
    ASSERT_EQ(Redis({"HSET", p + "idx", "r:cap", absl::StrCat(now + 3'000'000)}), "1");
    ASSERT_EQ(Redis({"HSET", p + "seen:a", "o", "1||1:0", "m", "v1-marker"}), "2");
    ASSERT_EQ(Redis({"HSET", p + "sig", "optout:email", absl::StrCat(now - 60'000, ":0")}), "1");
  }

  CheckResult Decide(RedisCounterStore& store, const std::string& customer, const std::string& event_id) {
    const policy::Plan plan = CapPlan();
    CustomerCheck c{.tenant = "acme", .customer_id = customer, .event_id = event_id, .now = clock_.Now(),
                    .spec = decision::ToCheckSpec(plan), .marker = "v2"};
    absl::StatusOr<std::vector<CheckResult>> r = store.CheckAndReserve({&c, 1}, Deadline());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->front() : CheckResult{};
  }
  absl::StatusOr<CustomerState> Read(RedisCounterStore& store, const std::string& customer) {
    const CustomerRead read{.tenant = "acme",
                            .customer_id = customer,
                            .now = clock_.Now(),
                            .families = {{.rule_id = "cap", .prefix = "r:cap", .window = absl::Hours(1)}}};
    return store.ReadCustomer(read, Deadline());
  }

  TempDir dir_;
  RedisServer redis_;
  FakeClock clock_;
  RedisContextPtr conn_;
};

TEST_F(RedisOlderLayoutsTest, V1StateIsHonouredWithOlderLayoutsOnAndNeverReadWithThemOff) {
  WriteV1Customer("on");
  WriteV1Customer("off");
  // On (the default): v1's marker makes "a" a duplicate, its window's two messages count, its opt-out is read,
  // and looking for it takes an EXISTS.
  auto on = MakeStore(/*older_layouts=*/true);
  ASSERT_EQ(Redis({"CONFIG", "RESETSTAT"}), "OK");
  CheckResult r = Decide(*on, "on", "a");
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.marker, "v1-marker");
  r = Decide(*on, "on", "c");
  EXPECT_FALSE(r.duplicate);
  ASSERT_EQ(r.outcome.usage.size(), 1u);
  EXPECT_EQ(r.outcome.usage[0].used, 2);
  EXPECT_GT(Calls("exists"), 0);

  // Off: the same state of another customer is not looked for: no duplicate, nothing counted, no signal read,
  // and not one EXISTS (nor HGETALL) for the checks, the signal and the read.
  auto off = MakeStore(/*older_layouts=*/false);
  ASSERT_EQ(Redis({"CONFIG", "RESETSTAT"}), "OK");
  absl::StatusOr<CustomerState> state = Read(*off, "off");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->counters.empty());
  EXPECT_TRUE(state->signals.empty());
  r = Decide(*off, "off", "a");
  EXPECT_FALSE(r.duplicate);
  ASSERT_EQ(r.outcome.usage.size(), 1u);
  EXPECT_EQ(r.outcome.usage[0].used, 0);
  r = Decide(*off, "off-2", "x");  // a new customer: MGET + SET, nothing else
  EXPECT_EQ(r.outcome.usage[0].used, 0);
  ASSERT_TRUE(off->PutSignal({.tenant = "acme", .customer_id = "off-3", .field = "csat", .at_ms = 1},
                             clock_.Now(), Deadline())
                  .ok());
  EXPECT_EQ(Calls("exists"), 0);
  EXPECT_EQ(Calls("hgetall"), 0);
  EXPECT_EQ(Calls("mget"), 2);
  // Nothing of v1 was moved or deleted: it is left to expire.
  const std::string p = Prefix("off");
  EXPECT_EQ(Redis({"EXISTS", p + "r:cap", p + "idx", p + "seen:a", p + "sig"}), "4");
}

// Keys per layout, as `tactctl store layouts` prints them; a bad --redis names the flag.
TEST_F(RedisOlderLayoutsTest, TactctlStoreLayoutsCountsTheKeysOfEachLayout) {
  const auto layouts = [&](const std::string& address) {
    return testing::RunCli(dir_, {TACTCTL_BIN, "store", "layouts", "--redis", address});
  };
  testing::CliRun run = layouts(redis_.address());
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "{\"v2\":0,\"v1\":0,\"legacy\":0,\"sealed\":false}\n");

  WriteV1Customer("v1");  // 4 keys of layout v1, the marker a hash
  auto store = MakeStore(/*older_layouts=*/false);
  for (int i = 0; i < 3; ++i) Decide(*store, absl::StrCat("new-", i), "e");  // 3 customers' keys of store v2
  for (int f = 1; f <= kMarkersInCustomerKey; ++f) {  // e's marker, moved to its own key (a string)
    Decide(*store, "new-0", absl::StrCat("f", f));
  }
  ASSERT_EQ(Redis({"SET", "tact:{acme:old}:r:cap", "x"}), "OK");  // the legacy layout
  ASSERT_EQ(Redis({"SET", "tact:{acme:old}:seen:e", "x"}), "OK");
  ASSERT_EQ(Redis({"SET", "tact:cap:{acme}:released", "x"}), "OK");  // not a customer's key
  ASSERT_EQ(Redis({"SET", "unrelated", "x"}), "OK");
  run = layouts(redis_.address());
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "{\"v2\":4,\"v1\":4,\"legacy\":2,\"sealed\":false}\n");

  // --seal refuses while keys of an older layout are left, and seals once they are gone; --unseal undoes it.
  const auto seal = [&](const std::string& flag) {
    return testing::RunCli(dir_, {TACTCTL_BIN, "store", "layouts", "--redis", redis_.address(), flag});
  };
  run = seal("--seal");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("not sealed: 4 key(s) of layout v1 and 2 of the legacy layout are left"),
            std::string::npos)
      << run.output;
  EXPECT_EQ(Redis({"EXISTS", std::string(kLayoutSealKey)}), "0");
  const std::string v1 = Prefix("v1");
  ASSERT_EQ(Redis({"DEL", v1 + "r:cap", v1 + "idx", v1 + "seen:a", v1 + "sig", "tact:{acme:old}:r:cap",
                   "tact:{acme:old}:seen:e"}),
            "6");
  run = seal("--seal");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "{\"v2\":4,\"v1\":0,\"legacy\":0,\"sealed\":true}\n");
  EXPECT_EQ(Redis({"GET", std::string(kLayoutSealKey)}), "v2");
  run = seal("--unseal");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "{\"v2\":4,\"v1\":0,\"legacy\":0,\"sealed\":false}\n");
  EXPECT_EQ(Redis({"EXISTS", std::string(kLayoutSealKey)}), "0");

  run = layouts("no-port");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.output,
            "tactctl store layouts: --redis: redis address 'no-port' must be host:port, e.g. 127.0.0.1:6379\n");
}

// tactd's side of the seal (RefreshLayouts, from its health loop): a sealed Redis is read as with the setting off,
// within kLayoutSealRefresh, and unsealing brings the lookup back.
TEST_F(RedisOlderLayoutsTest, ASealedRedisIsNotLookedInForOlderLayouts) {
  WriteV1Customer("v1");  // not auto-sealed: a key of layout v1 is there
  auto store = MakeStore(/*older_layouts=*/true);
  store->RefreshLayouts(Deadline());
  EXPECT_TRUE(store->LooksInOlderLayouts());
  EXPECT_EQ(Redis({"EXISTS", std::string(kLayoutSealKey)}), "0");
  EXPECT_EQ(Decide(*store, "v1", "c").outcome.usage[0].used, 2);  // v1's two messages count

  ASSERT_EQ(Redis({"SET", std::string(kLayoutSealKey), "v2"}), "OK");  // tactctl store layouts --seal
  store->RefreshLayouts(Deadline());
  EXPECT_TRUE(store->LooksInOlderLayouts()) << "read again only after " << RedisCounterStore::kLayoutSealRefresh;
  clock_.Advance(RedisCounterStore::kLayoutSealRefresh);
  store->RefreshLayouts(Deadline());
  EXPECT_FALSE(store->LooksInOlderLayouts());
  WriteV1Customer("late");  // what an older tactd would write now is not seen (docs: unseal before running one)
  ASSERT_EQ(Redis({"CONFIG", "RESETSTAT"}), "OK");
  EXPECT_EQ(Decide(*store, "late", "c").outcome.usage[0].used, 0);
  EXPECT_EQ(Calls("exists"), 0);

  ASSERT_EQ(Redis({"DEL", std::string(kLayoutSealKey)}), "1");  // tactctl store layouts --unseal
  clock_.Advance(RedisCounterStore::kLayoutSealRefresh);
  store->RefreshLayouts(Deadline());
  EXPECT_TRUE(store->LooksInOlderLayouts());
  WriteV1Customer("after");
  EXPECT_EQ(Decide(*store, "after", "c").outcome.usage[0].used, 2);  // looked for again

  // With redis.older_layouts false the seal changes nothing and is never written.
  ASSERT_EQ(Redis({"FLUSHALL"}), "OK");
  auto off = MakeStore(/*older_layouts=*/false);
  off->RefreshLayouts(Deadline());
  EXPECT_FALSE(off->LooksInOlderLayouts());
  EXPECT_EQ(Redis({"EXISTS", std::string(kLayoutSealKey)}), "0");
}

// A fresh deployment: tactd seals a small Redis that has shown no key of an older layout for kAutoSealAfter since it
// started (its policy archive and capacity keys are not customers' keys); a key of an older layout written in the
// meantime (an older tactd still running) keeps it unsealed, and so do more than kAutoSealMaxKeys keys.
TEST_F(RedisOlderLayoutsTest, TactdSealsAFreshRedisOnceItHasShownNoOlderKeyForAWhile) {
  ASSERT_EQ(Redis({"SET", "tact:archive:{policy}", "x"}), "OK");
  Decide(*MakeStore(false), "v2-customer", "e");
  auto store = MakeStore(/*older_layouts=*/true);
  store->RefreshLayouts(Deadline());
  EXPECT_TRUE(store->LooksInOlderLayouts());
  EXPECT_EQ(Redis({"EXISTS", std::string(kLayoutSealKey)}), "0");
  clock_.Advance(RedisCounterStore::kAutoSealAfter - RedisCounterStore::kLayoutSealRefresh);
  store->RefreshLayouts(Deadline());
  EXPECT_TRUE(store->LooksInOlderLayouts()) << "not before kAutoSealAfter";
  clock_.Advance(RedisCounterStore::kLayoutSealRefresh);
  store->RefreshLayouts(Deadline());
  EXPECT_FALSE(store->LooksInOlderLayouts());
  EXPECT_EQ(Redis({"GET", std::string(kLayoutSealKey)}), "v2");

  ASSERT_EQ(Redis({"FLUSHALL"}), "OK");
  auto rollout = MakeStore(/*older_layouts=*/true);
  rollout->RefreshLayouts(Deadline());
  WriteV1Customer("late");  // an older tactd, still running, writes layout v1
  for (int i = 0; i < 2; ++i) {
    clock_.Advance(RedisCounterStore::kAutoSealAfter);
    rollout->RefreshLayouts(Deadline());
  }
  EXPECT_TRUE(rollout->LooksInOlderLayouts());
  EXPECT_EQ(Redis({"EXISTS", std::string(kLayoutSealKey)}), "0");
  EXPECT_EQ(Decide(*rollout, "late", "c").outcome.usage[0].used, 2);  // what it wrote counts

  ASSERT_EQ(Redis({"FLUSHALL"}), "OK");
  std::vector<std::string> mset = {"MSET"};
  for (int64_t i = 0; i <= RedisCounterStore::kAutoSealMaxKeys; ++i) {
    mset.push_back(absl::StrCat("other:", i));
    mset.push_back("x");
  }
  ASSERT_EQ(Redis(mset), "OK");
  auto big = MakeStore(/*older_layouts=*/true);
  for (int i = 0; i < 2; ++i) {
    big->RefreshLayouts(Deadline());
    clock_.Advance(RedisCounterStore::kAutoSealAfter);
  }
  EXPECT_TRUE(big->LooksInOlderLayouts());
  EXPECT_EQ(Redis({"EXISTS", std::string(kLayoutSealKey)}), "0");
}

}  // namespace
}  // namespace tact::store
