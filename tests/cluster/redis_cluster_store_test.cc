// The counter and capacity stores on a real Redis Cluster (3 masters + 3 replicas of Debian's redis-server, one
// cluster for this whole binary): routing per slot, batches split per node in order, per-check failures, and the
// faults of docs/RELIABILITY.md on a cluster: a slot migrated in the middle of traffic, a master killed -9 and
// its replica promoted, a master paused past the call's deadline. Invariants: nothing lost (every check is
// decided once the fault is over), no cap counted twice (a retried event is a duplicate), caps hold.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/core/outage.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/customer_blob.h"
#include "daemon/store/redis_capacity_store.h"
#include "daemon/store/redis_counter_store.h"
#include "prometheus/registry.h"
#include "tact/v1/throttle.grpc.pb.h"
#include "tests/cluster/cluster_env.h"
#include "tests/support/process.h"
#include "tests/support/admin.h"
#include "tests/support/events.h"
#include "tests/support/grpc_client.h"
#include "tests/support/metrics.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using store::CheckResult;
using store::CustomerCheck;
using testing::RedisClusterNodes;
using testing::WaitFor;

constexpr int64_t kCap = 3;

int SlotOf(const std::string& customer) { return store::KeySlot(store::KeySchema().CustomerPrefix("acme", customer)); }

// A customer id (starting with `stem`) whose slot the master on `port` serves; with `other`, one it does not.
std::string CustomerOn(const std::string& stem, int port, bool other = false) {
  for (int i = 0;; ++i) {
    const std::string c = absl::StrCat(stem, "-", i);
    if ((env->nodes->MasterOf(SlotOf(c)) == port) != other) return c;
  }
}

// `n` customers (starting with `stem`) whose slots differ from each other and from `avoid`'s, all on `port`.
std::vector<std::string> CustomersOn(const std::string& stem, int port, size_t n, const std::set<int>& avoid = {}) {
  std::vector<std::string> out;
  std::set<int> taken = avoid;
  for (int i = 0; out.size() < n; ++i) {
    const std::string c = absl::StrCat(stem, "-", i);
    if (env->nodes->MasterOf(SlotOf(c)) == port && taken.insert(SlotOf(c)).second) out.push_back(c);
  }
  return out;
}

// EVALSHA commands the node on `port` ran (INFO commandstats; a command refused with a redirection is not one).
double Calls(int port, const std::string& command) {
  auto reply = RedisClusterNodes::Command(port, {"INFO", "commandstats"});
  if (reply == nullptr || reply->type != REDIS_REPLY_STRING) return -1;
  const std::string text(reply->str, reply->len);
  const std::string field = absl::StrCat("cmdstat_", command, ":calls=");
  const size_t at = text.find(field);
  return at == std::string::npos ? 0 : std::stod(text.substr(at + field.size()));
}
double EvalshaCalls(int port) { return Calls(port, "evalsha"); }

CustomerCheck Check(const std::string& customer, const std::string& event) {
  CustomerCheck c{.tenant = "acme", .customer_id = customer, .event_id = event, .now = absl::Now()};
  c.spec.limits.push_back({.counter = "r:cap", .count = kCap, .kind = store::WindowKind::kRolling,
                           .window = absl::Hours(1)});
  c.marker = "m-" + event;
  return c;
}

class ClusterStoreTest : public ::testing::Test {
 protected:
  ClusterStoreTest() { MakeStore(store::RedisSettings::Checks::kCompareAndSet); }
  // redis.checks: compare_and_set (the default) or script (check.lua in one call per node).
  void MakeStore(store::RedisSettings::Checks checks) {
    store::RedisSettings s;
    EXPECT_TRUE(store::ParseRedisAddress(env->nodes->address(), &s).ok());
    s.node_stats = &stats_;
    s.checks = checks;
    store_ = std::make_unique<store::RedisCounterStore>(s, clock_);
  }
  absl::StatusOr<std::vector<CheckResult>> Run(std::vector<CustomerCheck> checks,
                                               absl::Duration budget = absl::Seconds(2)) {
    const absl::Time now = absl::Now();
    for (CustomerCheck& c : checks) c.now = now;
    return store_->CheckAndReserve(checks, now + budget);
  }
  // Sends `event` of `customer` until it is decided (what the Kafka path does after an outage); the result.
  CheckResult Decided(const std::string& customer, const std::string& event) {
    CheckResult out;
    EXPECT_TRUE(WaitFor(
        [&] {
          absl::StatusOr<std::vector<CheckResult>> r = Run({Check(customer, event)}, absl::Milliseconds(300));
          if (!r.ok() || !(*r)[0].status.ok()) return false;
          out = (*r)[0];
          return true;
        },
        absl::Seconds(30), "the check decided"));
    return out;
  }
  double Counter(const std::string& name, const std::map<std::string, std::string>& labels) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        std::map<std::string, std::string> got;
        for (const auto& l : m.label) got[l.name] = l.value;
        bool match = true;
        for (const auto& [k, v] : labels) match = match && got[k] == v;
        if (match) return m.counter.value;
      }
    }
    return 0;
  }
  double Sum(const std::string& name, const std::string& label, const std::string& value) {
    return testing::CounterSum(registry_, name, label, value);
  }

  SystemClock clock_;
  prometheus::Registry registry_;
  store::RedisNodeStats stats_{registry_};
  std::unique_ptr<store::RedisCounterStore> store_;
};

TEST_F(ClusterStoreTest, EveryCustomerIsCheckedOnItsSlotsMasterInOrder) {
  // 30 customers over the three masters, four events each, interleaved in one call: per customer the first
  // kCap are reserved and the fourth is not (so each customer's checks ran in the call's order).
  std::vector<CustomerCheck> checks;
  for (int e = 0; e < 4; ++e) {
    for (int c = 0; c < 30; ++c) checks.push_back(Check(absl::StrCat("route-", c), absl::StrCat("ev-", c, "-", e)));
  }
  absl::StatusOr<std::vector<CheckResult>> r = Run(checks);
  ASSERT_TRUE(r.ok()) << r.status();
  for (size_t i = 0; i < checks.size(); ++i) {
    ASSERT_TRUE((*r)[i].status.ok()) << (*r)[i].status;
    EXPECT_EQ((*r)[i].outcome.reserved, i < 3 * 30) << checks[i].event_id;
    EXPECT_EQ((*r)[i].outcome.usage.at(0).used, std::min<int64_t>(kCap, static_cast<int64_t>(i / 30)));
  }
  // The keys are on the master of their slot, and every master had calls.
  for (int c = 0; c < 30; ++c) {
    const std::string prefix = store::KeySchema().CustomerPrefix("acme", absl::StrCat("route-", c));
    auto reply = RedisClusterNodes::Command(env->nodes->MasterOf(store::KeySlot(prefix)), {"GET", store::CustomerKey(prefix)});
    ASSERT_NE(reply, nullptr);
    ASSERT_EQ(reply->type, REDIS_REPLY_STRING);  // on this master, not redirected
    const std::optional<store::CustomerBlob> blob = store::ParseCustomerBlob(std::string_view(reply->str, reply->len));
    ASSERT_TRUE(blob.has_value());
    ASSERT_EQ(blob->counters.size(), 1u);
    EXPECT_EQ(blob->counters[0].suffix, "r:cap");
    EXPECT_EQ(static_cast<int64_t>(blob->counters[0].times.size()), kCap);
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(Counter("tact_redis_node_calls_total", {{"node", absl::StrCat("127.0.0.1:", env->nodes->ports()[i])}}),
              1);
  }
  EXPECT_GE(Counter("tact_redis_slot_map_refreshes_total", {}), 1);
  // Signals and reads route too.
  store::SignalWrite w{.tenant = "acme", .customer_id = "route-7", .field = "optout", .at_ms = 1};
  ASSERT_TRUE(store_->PutSignal(w, absl::Now(), absl::Now() + absl::Seconds(2)).ok());
  absl::StatusOr<store::CustomerState> state = store_->ReadCustomer(
      {.tenant = "acme", .customer_id = "route-7", .now = absl::Now(),
       .families = {{.rule_id = "cap", .prefix = "r:cap", .window = absl::Hours(1)}}},
      absl::Now() + absl::Seconds(2));
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->counters.size(), 1u);
  EXPECT_EQ(state->counters[0].used, kCap);
  ASSERT_EQ(state->signals.size(), 1u);
  EXPECT_EQ(state->signals[0].field, "optout");
  EXPECT_TRUE(store_->Healthy());
  EXPECT_EQ(store_->NodeHealth().size(), 3u);
}

TEST_F(ClusterStoreTest, ABatchSpanningSlotsOfOneNodeIsOneCallOnThatNode) {
  MakeStore(store::RedisSettings::Checks::kScript);  // node batches are check.lua's (redis.checks script)
  // Five customers in five slots of one master and two of another master, four events each, interleaved: each
  // master runs ONE EVALSHA for all of its checks (redis.batching script), and decides them in order.
  const int node = env->nodes->ports()[0];
  const int other = env->nodes->ports()[2];
  std::vector<std::string> customers = CustomersOn("span", node, 5);
  for (const std::string& c : CustomersOn("span-other", other, 2)) customers.push_back(c);
  std::vector<CustomerCheck> checks;
  for (int e = 0; e < 4; ++e) {
    for (const std::string& c : customers) checks.push_back(Check(c, absl::StrCat(c, "-e", e)));
  }
  ASSERT_TRUE(Decided(customers.front(), "warm").outcome.reserved);  // the slot map, a connection per node
  const double node_calls = EvalshaCalls(node);
  const double other_calls = EvalshaCalls(other);
  absl::StatusOr<std::vector<CheckResult>> r = Run(checks);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(EvalshaCalls(node) - node_calls, 1);
  EXPECT_EQ(EvalshaCalls(other) - other_calls, 1);
  for (size_t i = 0; i < checks.size(); ++i) {
    ASSERT_TRUE((*r)[i].status.ok()) << (*r)[i].status;
    EXPECT_FALSE((*r)[i].duplicate) << checks[i].event_id;
    const bool first_customer = i % customers.size() == 0;  // has "warm" counted already
    const int64_t before = static_cast<int64_t>(i / customers.size()) + (first_customer ? 1 : 0);
    EXPECT_EQ((*r)[i].outcome.reserved, before < kCap) << checks[i].event_id;
    EXPECT_EQ((*r)[i].outcome.usage.at(0).used, std::min(kCap, before)) << checks[i].event_id;
  }
  EXPECT_EQ(Sum("tact_redis_node_batch_fallbacks_total", "node", absl::StrCat("127.0.0.1:", node)), 0);
  // Each customer's key holds its last kMarkersInCustomerKey decision markers; its oldest marker ("warm" for the
  // first customer, its first event for the others) moved to its own key if the key keeps fewer than it has.
  for (size_t k = 0; k < customers.size(); ++k) {
    const int port = k < 5 ? node : other;
    const std::string prefix = store::KeySchema().CustomerPrefix("acme", customers[k]);
    const size_t decided = k == 0 ? 5 : 4;
    auto key = RedisClusterNodes::Command(port, {"GET", store::CustomerKey(prefix)});
    ASSERT_TRUE(key != nullptr && key->type == REDIS_REPLY_STRING) << customers[k];
    const std::optional<store::CustomerBlob> b = store::ParseCustomerBlob(std::string_view(key->str, key->len));
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->markers.size(), std::min(decided, static_cast<size_t>(store::kMarkersInCustomerKey)));
    const std::string oldest = k == 0 ? "warm" : absl::StrCat(customers[k], "-e0");
    auto seen = RedisClusterNodes::Command(port, {"EXISTS", store::SeenKey(prefix, oldest)});
    ASSERT_NE(seen, nullptr);
    EXPECT_EQ(seen->integer, decided > static_cast<size_t>(store::kMarkersInCustomerKey) ? 1 : 0) << customers[k];
  }
  // A second call: the events again are duplicates, decided in the same single call.
  absl::StatusOr<std::vector<CheckResult>> again = Run(checks);
  ASSERT_TRUE(again.ok()) << again.status();
  for (const CheckResult& c : *again) EXPECT_TRUE(c.duplicate);
  EXPECT_EQ(EvalshaCalls(node) - node_calls, 2);
}

// redis.checks compare_and_set (the default) on a cluster: per customer one MGET on its slot's master, decided in
// tactd, then one write (SET NX for a new key, cas.lua for a returning one); no check.lua.
TEST_F(ClusterStoreTest, CompareAndSetReadsOnceAndWritesOncePerCustomerOnItsMaster) {
  const int node = env->nodes->ports()[0];
  const int other = env->nodes->ports()[1];
  std::vector<std::string> customers = CustomersOn("cas", node, 3);
  for (const std::string& c : CustomersOn("cas-other", other, 2)) customers.push_back(c);
  ASSERT_TRUE(Decided(CustomerOn("cas-warm", node), "warm").outcome.reserved);  // the slot map, connections
  ASSERT_TRUE(Decided(CustomerOn("cas-warm", other), "warm").outcome.reserved);
  auto stats = [&](int port) {
    return absl::StrCat("mget=", Calls(port, "mget"), " set=", Calls(port, "set"), " evalsha=", Calls(port, "evalsha"));
  };
  for (int round = 0; round < 2; ++round) {  // new customers (one event each), then the same returning (two each)
    for (int port : {node, other}) RedisClusterNodes::Command(port, {"CONFIG", "RESETSTAT"});
    std::vector<CustomerCheck> checks;
    for (int e = 0; e <= round; ++e) {  // interleaved: each customer's decided in order
      for (const std::string& c : customers) checks.push_back(Check(c, absl::StrCat(c, "-", round, "-", e)));
    }
    absl::StatusOr<std::vector<CheckResult>> r = Run(checks);
    ASSERT_TRUE(r.ok()) << r.status();
    for (size_t i = 0; i < checks.size(); ++i) {
      ASSERT_TRUE((*r)[i].status.ok()) << (*r)[i].status;
      const int64_t before = round + static_cast<int64_t>(i / customers.size());
      EXPECT_EQ((*r)[i].outcome.reserved, before < kCap) << checks[i].event_id;
      EXPECT_EQ((*r)[i].outcome.usage.at(0).used, std::min(kCap, before)) << checks[i].event_id;
    }
    if (round == 0) {
      EXPECT_EQ(stats(node), "mget=3 set=3 evalsha=0");  // SET NX of each new key
      EXPECT_EQ(stats(other), "mget=2 set=2 evalsha=0");
    } else {  // cas.lua, counted with the SETs it runs: the key, and each of its 3 markers the key has no room for
      const int moved = std::max(0, 3 - store::kMarkersInCustomerKey);
      EXPECT_EQ(stats(node), absl::StrCat("mget=3 set=", 3 * (1 + moved), " evalsha=3"));
      EXPECT_EQ(stats(other), absl::StrCat("mget=2 set=", 2 * (1 + moved), " evalsha=2"));
    }
  }
  absl::StatusOr<std::vector<CheckResult>> again = Run({Check(customers[0], customers[0] + "-1-1")});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->front().duplicate);
}

// Many threads of two stores deciding one customer at once on a cluster: a key changed between the read and the
// write is not written, and check.lua decides those checks again, so the cap holds exactly.
TEST_F(ClusterStoreTest, CompareAndSetHoldsTheCapWhenChecksRaceForOneCustomer) {
  store::RedisSettings s;
  ASSERT_TRUE(store::ParseRedisAddress(env->nodes->address(), &s).ok());
  store::RedisCounterStore second(s, clock_);
  const std::string hot = CustomerOn("cas-race", env->nodes->ports()[0]);
  std::atomic<int> reserved{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      store::RedisCounterStore& store = t % 2 == 0 ? *store_ : second;
      for (int k = 0; k < 6; ++k) {
        std::vector<CustomerCheck> checks = {Check(hot, absl::StrCat("race-", t, "-", k))};
        if (k % 2 == 1) checks.push_back(Check(CustomerOn(absl::StrCat("cas-race-", t, "-", k), env->nodes->ports()[1]), "other"));
        const absl::Time now = absl::Now();
        for (CustomerCheck& c : checks) c.now = now;
        absl::StatusOr<std::vector<CheckResult>> r = store.CheckAndReserve(checks, now + absl::Seconds(5));
        if (!r.ok() || !(*r)[0].status.ok()) {
          ++failures;
          continue;
        }
        if ((*r)[0].outcome.reserved) ++reserved;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(reserved.load(), kCap);
  const std::string prefix = store::KeySchema().CustomerPrefix("acme", hot);
  auto key = RedisClusterNodes::Command(env->nodes->ports()[0], {"GET", store::CustomerKey(prefix)});
  ASSERT_TRUE(key != nullptr && key->type == REDIS_REPLY_STRING);
  const std::optional<store::CustomerBlob> blob = store::ParseCustomerBlob(std::string_view(key->str, key->len));
  ASSERT_TRUE(blob.has_value());
  EXPECT_EQ(static_cast<int64_t>(blob->counters.at(0).times.size()), kCap);
}

// Reliability matrix: a node's batch with one of its slots in the middle of a migration, then handed over.
TEST_F(ClusterStoreTest, ABatchWithASlotMidMigrationDecidesEveryCheckOnce) {
  MakeStore(store::RedisSettings::Checks::kScript);  // node batches are check.lua's (redis.checks script)
  const int from = env->nodes->ports()[0];
  const int to = env->nodes->ports()[1];
  const std::string moving = CustomerOn("mid-move", from);
  const int slot = SlotOf(moving);
  const std::vector<std::string> stay = CustomersOn("mid-stay", from, 3, {slot});
  const std::string node = absl::StrCat("127.0.0.1:", from);
  EXPECT_TRUE(Decided(moving, "m1").outcome.reserved);
  EXPECT_TRUE(Decided(moving, "m2").outcome.reserved);  // m1's marker in its own key if the customer's keeps one

  env->nodes->BeginMigration(slot, to);
  // The batch runs on `from`: the other slots' checks are decided in it. m3 (a new event: its marker key is not
  // there) is a check Redis would answer TRYAGAIN: not run in the batch, and neither is m1 after it (a
  // customer's checks stay in order); one by one, m3 gets TRYAGAIN until the deadline and m1 is a duplicate (were
  // m1's marker still in the customer's key, its own marker key would be missing too: TRYAGAIN like m3).
  const double fallbacks = Sum("tact_redis_node_batch_fallbacks_total", "node", node);
  absl::StatusOr<std::vector<CheckResult>> during = Run(
      {Check(stay[0], "s0-1"), Check(moving, "m3"), Check(moving, "m1"), Check(stay[1], "s1-1"),
       Check(stay[2], "s2-1")},
      absl::Milliseconds(300));
  ASSERT_TRUE(during.ok()) << during.status();
  for (int i : {0, 3, 4}) {
    ASSERT_TRUE((*during)[i].status.ok()) << (*during)[i].status;
    EXPECT_TRUE((*during)[i].outcome.reserved);
    EXPECT_FALSE((*during)[i].duplicate);
  }
  EXPECT_TRUE(absl::IsUnavailable((*during)[1].status)) << (*during)[1].status;
  if (store::kMarkersInCustomerKey == 1) {
    ASSERT_TRUE((*during)[2].status.ok()) << (*during)[2].status;
    EXPECT_TRUE((*during)[2].duplicate);
  } else {
    EXPECT_TRUE(absl::IsUnavailable((*during)[2].status)) << (*during)[2].status;
  }
  EXPECT_EQ(Sum("tact_redis_node_batch_fallbacks_total", "node", node) - fallbacks, 2);

  env->nodes->MigrateKeys(slot, to);
  env->nodes->FinishMigration(slot, to);
  // The store's map still names `from`: the batch goes there, which no longer serves the slot. The moving
  // customer's checks are not run there; one by one they get MOVED and are decided at `to`, once, in order,
  // with the counts that moved: m3 is the third, m4 over the cap, m1 still a duplicate.
  const double moved = Sum("tact_redis_redirections_total", "kind", "moved");
  absl::StatusOr<std::vector<CheckResult>> after =
      Run({Check(stay[0], "s0-2"), Check(moving, "m3"), Check(stay[1], "s1-2"), Check(moving, "m4"),
           Check(moving, "m1"), Check(stay[2], "s2-2")});
  ASSERT_TRUE(after.ok()) << after.status();
  for (const CheckResult& c : *after) ASSERT_TRUE(c.status.ok()) << c.status;
  for (int i : {0, 2, 5}) {
    EXPECT_TRUE((*after)[i].outcome.reserved);
    EXPECT_FALSE((*after)[i].duplicate);
    EXPECT_EQ((*after)[i].outcome.usage.at(0).used, 1);
  }
  EXPECT_FALSE((*after)[1].duplicate);
  EXPECT_TRUE((*after)[1].outcome.reserved);
  EXPECT_EQ((*after)[1].outcome.usage.at(0).used, 2);
  EXPECT_FALSE((*after)[3].outcome.reserved);  // cap 3 holds
  EXPECT_TRUE((*after)[4].duplicate);
  EXPECT_GT(Sum("tact_redis_redirections_total", "kind", "moved"), moved);
  EXPECT_EQ(Sum("tact_redis_node_batch_fallbacks_total", "node", node) - fallbacks, 5);
  auto moved_key =
      RedisClusterNodes::Command(to, {"GET", store::CustomerKey(store::KeySchema().CustomerPrefix("acme", moving))});
  ASSERT_NE(moved_key, nullptr);
  ASSERT_EQ(moved_key->type, REDIS_REPLY_STRING);
  const std::optional<store::CustomerBlob> blob =
      store::ParseCustomerBlob(std::string_view(moved_key->str, moved_key->len));
  ASSERT_TRUE(blob.has_value());
  ASSERT_EQ(blob->counters.size(), 1u);
  EXPECT_EQ(static_cast<int64_t>(blob->counters[0].times.size()), kCap);  // m1, m2, m3: none counted twice
  for (const std::string& c : stay) {  // two each, none twice
    auto key = RedisClusterNodes::Command(from, {"GET", store::CustomerKey(store::KeySchema().CustomerPrefix("acme", c))});
    ASSERT_NE(key, nullptr);
    ASSERT_EQ(key->type, REDIS_REPLY_STRING);
    const std::optional<store::CustomerBlob> b = store::ParseCustomerBlob(std::string_view(key->str, key->len));
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->counters.at(0).times.size(), 2u);
  }
}

TEST_F(ClusterStoreTest, CapacityStoreRoutesPerTenant) {
  store::RedisSettings s;
  ASSERT_TRUE(store::ParseRedisAddress(env->nodes->address(), &s).ok());
  store::RedisCapacityStore cap(s);
  for (const char* tenant : {"t-a", "t-b", "t-c", "t-d", "t-e"}) {
    for (int e = 0; e < 3; ++e) {
      absl::StatusOr<store::SlotReservation> r =
          cap.ReserveSlot(tenant, "camp", absl::FromUnixSeconds(3600), absl::StrCat("e", e), 2, false);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->admitted, e < 2);
    }
    ASSERT_TRUE(cap.CountReleased(tenant, "camp", "e0").ok());
    absl::StatusOr<store::CampaignCounts> counts = cap.AddFeedback(tenant, "camp", "sig-1", 1, 1);
    ASSERT_TRUE(counts.ok()) << counts.status();  // three keys of the tenant's slot in one script
    EXPECT_EQ(counts->released, 1);
    EXPECT_EQ(counts->complaints, 1);
  }
}

// Reliability matrix: Redis Cluster slot migration in the middle of traffic.
TEST_F(ClusterStoreTest, SlotMigrationInTheMiddleOfTrafficLosesAndDoublesNothing) {
  const int from = env->nodes->ports()[0];
  const int to = env->nodes->ports()[1];
  const std::string moving = CustomerOn("migrate", from);
  const std::string elsewhere = CustomerOn("stay", from, /*other=*/true);
  const int slot = SlotOf(moving);
  EXPECT_TRUE(Decided(moving, "m1").outcome.reserved);
  EXPECT_TRUE(Decided(moving, "m2").outcome.reserved);

  env->nodes->BeginMigration(slot, to);
  // While the slot is open a check (several keys, its event marker not there yet) gets TRYAGAIN: the store
  // backs off within the deadline and gives this check alone its failure; the other customer is decided.
  absl::StatusOr<std::vector<CheckResult>> during =
      Run({Check(moving, "m3"), Check(elsewhere, "s1")}, absl::Milliseconds(200));
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_TRUE(absl::IsUnavailable((*during)[0].status)) << (*during)[0].status;
  EXPECT_NE((*during)[0].status.message().find("TRYAGAIN"), std::string::npos) << (*during)[0].status;
  EXPECT_TRUE((*during)[1].status.ok());
  EXPECT_TRUE((*during)[1].outcome.reserved);
  EXPECT_GE(Counter("tact_redis_redirections_total", {{"kind", "tryagain"}}) +
                Counter("tact_redis_redirections_total", {{"kind", "ask"}}),
            1);
  env->nodes->MigrateKeys(slot, to);
  // A single-key command follows ASK to the target (ASKING) while the slot is still migrating.
  const double asks = Sum("tact_redis_redirections_total", "kind", "ask");
  store::SignalWrite w{.tenant = "acme", .customer_id = moving, .field = "csat", .at_ms = 5};
  ASSERT_TRUE(store_->PutSignal(w, absl::Now(), absl::Now() + absl::Seconds(2)).ok());
  EXPECT_GT(Sum("tact_redis_redirections_total", "kind", "ask"), asks);
  env->nodes->FinishMigration(slot, to);

  // The store's map still names the old owner: MOVED, refresh, the new owner. m3 is decided once, with the
  // counts that moved with the keys: the cap holds and m1 is still a duplicate.
  const double moved = Sum("tact_redis_redirections_total", "kind", "moved");
  const CheckResult m3 = Decided(moving, "m3");
  EXPECT_TRUE(m3.outcome.reserved);
  EXPECT_EQ(m3.outcome.usage.at(0).used, 2);
  EXPECT_GT(Sum("tact_redis_redirections_total", "kind", "moved"), moved);
  EXPECT_FALSE(Decided(moving, "m4").outcome.reserved);  // cap 3 holds
  EXPECT_TRUE(Decided(moving, "m1").duplicate);
  auto moved_key =
      RedisClusterNodes::Command(to, {"GET", store::CustomerKey(store::KeySchema().CustomerPrefix("acme", moving))});
  ASSERT_NE(moved_key, nullptr);
  ASSERT_EQ(moved_key->type, REDIS_REPLY_STRING);  // at the new owner
  const std::optional<store::CustomerBlob> blob =
      store::ParseCustomerBlob(std::string_view(moved_key->str, moved_key->len));
  ASSERT_TRUE(blob.has_value());
  ASSERT_EQ(blob->counters.size(), 1u);
  EXPECT_EQ(static_cast<int64_t>(blob->counters[0].times.size()), kCap);  // m1, m2, m3: none counted twice
}

// Reliability matrix: a Redis Cluster master paused (SIGSTOP) past the call's deadline.
TEST_F(ClusterStoreTest, PausedMasterFailsOnlyItsChecksAndARetryIsNotCountedTwice) {
  const int paused = env->nodes->ports()[2];
  const std::string stuck = CustomerOn("pause", paused);
  const std::string fine = CustomerOn("free", paused, /*other=*/true);
  EXPECT_TRUE(Decided(stuck, "p0").outcome.reserved);  // a pooled connection to the node
  env->nodes->process(paused).Signal(SIGSTOP);
  absl::StatusOr<std::vector<CheckResult>> r = Run({Check(stuck, "p1"), Check(fine, "f1")}, absl::Milliseconds(300));
  EXPECT_FALSE(store_->Healthy());
  env->nodes->process(paused).Signal(SIGCONT);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(IsOutage((*r)[0].status)) << (*r)[0].status;  // sent, unanswered: its effect unknown
  EXPECT_TRUE((*r)[1].status.ok()) << (*r)[1].status;
  EXPECT_TRUE((*r)[1].outcome.reserved);
  bool listed_down = false;
  for (const auto& [node, up] : store_->NodeHealth()) listed_down |= node == absl::StrCat("127.0.0.1:", paused) && !up;
  EXPECT_TRUE(listed_down);
  // The node ran p1 when it resumed, or runs it now: either way it is counted once.
  const CheckResult again = Decided(stuck, "p1");
  EXPECT_TRUE(again.outcome.reserved);
  EXPECT_TRUE(Decided(stuck, "p2").outcome.reserved);
  EXPECT_EQ(Decided(stuck, "p3").outcome.usage.at(0).used, kCap);  // p0, p1, p2: p1 not twice
  EXPECT_TRUE(WaitFor([&] { return store_->Healthy(); }, absl::Seconds(10), "healthy again"));
}

// Reliability matrix: a planned failover (CLUSTER FAILOVER) while tactd's slot map still names the old master.
// Runs after the tests that use ports()[2] as a master: it stays a replica.
TEST_F(ClusterStoreTest, ABatchRefusedByADemotedMasterGoesOneByOne) {
  MakeStore(store::RedisSettings::Checks::kScript);  // node batches are check.lua's (redis.checks script)
  const int master = env->nodes->ports()[2];
  const int replica = env->nodes->ReplicaOf(master);
  ASSERT_NE(replica, 0);
  const std::vector<std::string> customers = CustomersOn("demoted", master, 3);
  for (const std::string& c : customers) EXPECT_TRUE(Decided(c, c + "-1").outcome.reserved);
  auto failover = RedisClusterNodes::Command(replica, {"CLUSTER", "FAILOVER"});  // waits for the replica to catch up
  ASSERT_NE(failover, nullptr);
  ASSERT_EQ(failover->type, REDIS_REPLY_STATUS);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto role = RedisClusterNodes::Command(master, {"ROLE"});
        return env->nodes->MasterOf(SlotOf(customers[0])) == replica && role != nullptr &&
               role->type == REDIS_REPLY_ARRAY && std::string_view(role->element[0]->str) == "slave" &&
               env->nodes->Converged();
      },
      absl::Seconds(20), "failover done"));
  // The store still sends the node's batch to `master`, a replica now, which refuses a script that writes
  // (READONLY) before running it: every check goes one by one, gets MOVED, and is decided once at the new master.
  const std::string node = absl::StrCat("127.0.0.1:", master);
  const double fallbacks = Sum("tact_redis_node_batch_fallbacks_total", "node", node);
  const double moved = Sum("tact_redis_redirections_total", "kind", "moved");
  absl::StatusOr<std::vector<CheckResult>> r =
      Run({Check(customers[0], customers[0] + "-2"), Check(customers[1], customers[1] + "-2"),
           Check(customers[2], customers[2] + "-2"), Check(customers[0], customers[0] + "-1")});
  ASSERT_TRUE(r.ok()) << r.status();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*r)[i].status.ok()) << (*r)[i].status;
    EXPECT_FALSE((*r)[i].duplicate);
    EXPECT_TRUE((*r)[i].outcome.reserved);
    EXPECT_EQ((*r)[i].outcome.usage.at(0).used, 1);  // the first check, replicated: counted once
  }
  ASSERT_TRUE((*r)[3].status.ok()) << (*r)[3].status;
  EXPECT_TRUE((*r)[3].duplicate);
  EXPECT_EQ(Sum("tact_redis_node_batch_fallbacks_total", "node", node) - fallbacks, 4);
  EXPECT_GT(Sum("tact_redis_redirections_total", "kind", "moved"), moved);
}

// tactd configured for the cluster (redis.address redis+cluster://...), driven through Kafka and gRPC only.
TEST(TactdOnClusterTest, KafkaAndGrpcDecideWithCapsOnTheCluster) {
  testing::TempDir dir;
  testing::DevBroker broker(dir.path(), 1);
  testing::Tactd tactd(dir.path(), broker.bootstrap(), env->nodes->address());
  testing::TopicReader decisions(broker.bootstrap(), "tact.decisions");
  testing::TestProducer producer(broker.bootstrap());
  // Kafka: the default policy's proactive-service-2-per-7d, for customers spread over the masters.
  for (int c = 0; c < 6; ++c) {
    for (int e = 0; e < 3; ++e) {
      producer.Send("tact.outbound",
                    testing::JsonEvent(testing::OutageEvent(absl::StrCat("k-", c, "-", e), absl::StrCat("kc-", c))));
    }
  }
  auto decision_of = [&](const std::string& id) {
    for (const testing::Record& r : decisions.Records()) {
      absl::StatusOr<v1::DecisionRecord> rec = pipeline::DecodeDecisionRecord(r.value);
      if (rec.ok() && rec->event_id() == id) return rec->decision().decision();
    }
    return v1::DECISION_UNSPECIFIED;
  };
  ASSERT_TRUE(WaitFor([&] { return decision_of("k-5-2") != v1::DECISION_UNSPECIFIED; }, absl::Seconds(60),
                      "kafka decisions"))
      << tactd.process().Log();
  for (int c = 0; c < 6; ++c) {
    EXPECT_EQ(decision_of(absl::StrCat("k-", c, "-0")), v1::RELEASE);
    EXPECT_EQ(decision_of(absl::StrCat("k-", c, "-1")), v1::RELEASE);
    EXPECT_EQ(decision_of(absl::StrCat("k-", c, "-2")), v1::SUPPRESS);
  }
  // gRPC: the same cap, and a retried event is a duplicate.
  auto channel = grpc::CreateChannel(tactd.grpc_target(), grpc::InsecureChannelCredentials());
  auto stub = v1::Throttle::NewStub(channel);
  auto check = [&](const std::string& id) {
    grpc::ClientContext ctx;
    testing::PrepareCall(ctx, "");
    v1::CheckResponse resp;
    const grpc::Status s = stub->Check(&ctx, testing::CheckRequestFor(id, "acme", "grpc-cluster"), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.decision();
  };
  EXPECT_EQ(check("g1").decision(), v1::RELEASE);
  EXPECT_EQ(check("g2").decision(), v1::RELEASE);
  EXPECT_EQ(check("g3").decision(), v1::SUPPRESS);
  EXPECT_TRUE(check("g1").duplicate());
  // Readiness lists every master; calls are counted per node.
  ASSERT_TRUE(WaitFor([&] { return testing::HttpGet(tactd.admin_port(), "/readyz").body.find("redis_nodes") !=
                                   std::string::npos; },
                      absl::Seconds(10), "readyz with the cluster's nodes"));
  const std::string ready = testing::HttpGet(tactd.admin_port(), "/readyz").body;
  double calls = 0;
  for (int slot : {0, 8000, 16000}) {
    const std::string node = absl::StrCat("127.0.0.1:", env->nodes->MasterOf(slot));
    EXPECT_NE(ready.find(absl::StrCat("\"", node, "\":true")), std::string::npos) << ready;
    calls += testing::Metric(tactd.admin_port(), "tact_redis_node_calls_total", {{"node", node}});
  }
  EXPECT_GE(calls, 1);
}

// Reliability matrix: a Redis Cluster master killed -9 and its replica promoted. Runs last: the cluster keeps
// the promoted replica as master.
TEST_F(ClusterStoreTest, ZKilledMasterIsReplacedByItsPromotedReplica) {
  const int master = env->nodes->ports()[1];
  const int replica = env->nodes->ReplicaOf(master);
  ASSERT_NE(replica, 0);
  const std::string victim = CustomerOn("failover", master);
  const std::string other = CustomerOn("survivor", master, /*other=*/true);
  EXPECT_TRUE(Decided(victim, "k1").outcome.reserved);
  EXPECT_TRUE(Decided(victim, "k2").outcome.reserved);
  // Replication is asynchronous: a write acknowledged in the last moment before a crash can be lost with its
  // master (docs/operations.md). Kill only once the replica has it, so the counts below are exact.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto m = RedisClusterNodes::Command(master, {"INFO", "replication"});
        auto r = RedisClusterNodes::Command(replica, {"INFO", "replication"});
        auto offset = [](const redisReply* x, const char* field) {
          const std::string text(x->str, x->len);
          const size_t at = text.find(field);
          return at == std::string::npos ? -1 : std::stoll(text.substr(at + strlen(field)));
        };
        return m != nullptr && r != nullptr &&
               offset(r.get(), "slave_repl_offset:") >= offset(m.get(), "master_repl_offset:");
      },
      absl::Seconds(10), "replica caught up"));
  env->nodes->process(master).Signal(SIGKILL);
  env->nodes->process(master).Wait(absl::Seconds(5));
  // The other masters' customers are decided meanwhile.
  absl::StatusOr<std::vector<CheckResult>> r = Run({Check(victim, "k3"), Check(other, "o1")}, absl::Milliseconds(300));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE((*r)[0].status.ok());
  EXPECT_TRUE((*r)[1].status.ok()) << (*r)[1].status;
  auto takeover = RedisClusterNodes::Command(replica, {"CLUSTER", "FAILOVER", "TAKEOVER"});
  ASSERT_NE(takeover, nullptr);
  ASSERT_TRUE(WaitFor([&] { return env->nodes->MasterOf(SlotOf(victim)) == replica; }, absl::Seconds(20),
                      "replica promoted"));
  // The store finds the promoted replica (a refresh from another node) and k3 is decided there, once.
  EXPECT_TRUE(Decided(victim, "k3").outcome.reserved);
  EXPECT_FALSE(Decided(victim, "k4").outcome.reserved);  // cap 3 holds: k1, k2 survived the failover
  EXPECT_TRUE(Decided(victim, "k1").duplicate);
}

}  // namespace
}  // namespace tact

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  tact::env = new tact::ClusterEnv();
  ::testing::AddGlobalTestEnvironment(tact::env);  // owned by gtest
  return RUN_ALL_TESTS();
}
