// `tactctl customer forget` and CounterStore::ForgetCustomer on a real Redis Cluster (cluster_env.h): a customer's
// keys of every layout are removed from the master of their slot (and so from its replica), another customer's
// keys stay, even in the same slot; the erasure follows ASK while the slot is being migrated and MOVED after it
// moved; tactctl against tactd's cluster prints what it removed, writes the tombstone and exits 0, 1 or 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "prometheus/registry.h"
#include "tests/cluster/cluster_env.h"
#include "tests/support/metrics.h"
#include "tests/support/admin.h"
#include "tests/support/events.h"
#include "tests/support/process.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::RedisClusterNodes;
using testing::WaitFor;

std::string Prefix(const std::string& customer) { return store::KeySchema().CustomerPrefix("acme", customer); }
std::string LegacyPrefix(const std::string& customer) { return absl::StrCat("tact:{acme:", customer, "}:"); }
int SlotOf(const std::string& customer) { return store::KeySlot(Prefix(customer)); }

// The first customer id "<stem>-<i>" for which `pred` holds.
template <typename Pred>
std::string FindCustomer(const std::string& stem, Pred pred) {
  for (int i = 0;; ++i) {
    const std::string c = absl::StrCat(stem, "-", i);
    if (pred(c)) return c;
  }
}

// A customer id starting with `stem` whose slot the master on `port` serves (with `other`: one it does not).
std::string CustomerOn(const std::string& stem, int port, bool other = false) {
  return FindCustomer(stem, [&](const std::string& c) { return (env->nodes->MasterOf(SlotOf(c)) == port) != other; });
}

// The first seed of redis.address (a single-node client would talk to it alone).
int FirstSeed() { return env->nodes->ports()[0]; }

// Another customer whose keys are in `customer`'s slot.
std::string NeighbourOf(const std::string& customer) {
  for (int i = 0;; ++i) {
    const std::string c = absl::StrCat("neighbour-", i);
    if (c != customer && SlotOf(c) == SlotOf(customer)) return c;
  }
}

// The nodes running now (a test of redis_cluster_store_test.cc kills one master for good).
std::vector<int> RunningNodes() {
  std::vector<int> out;
  for (int port : env->nodes->ports()) {
    if (env->nodes->process(port).Running()) out.push_back(port);
  }
  return out;
}

// The keys of one node starting with `prefix` (KEYS: a test's small data set).
std::vector<std::string> NodeKeys(int port, const std::string& prefix) {
  std::string glob;
  for (char ch : prefix) {
    if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') glob.push_back('\\');
    glob.push_back(ch);
  }
  auto reply = RedisClusterNodes::Command(port, {"KEYS", glob + "*"});
  std::vector<std::string> keys;
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return {"(no answer from the node)"};
  for (size_t i = 0; i < reply->elements; ++i) keys.emplace_back(reply->element[i]->str, reply->element[i]->len);
  return keys;
}

// The keys starting with any of `prefixes` on every running node, masters and replicas.
size_t ClusterKeys(const std::vector<std::string>& prefixes) {
  size_t n = 0;
  for (int port : RunningNodes()) {
    for (const std::string& p : prefixes) n += NodeKeys(port, p).size();
  }
  return n;
}

// True once no running node (replicas included: replication is asynchronous) holds a key with these prefixes.
::testing::AssertionResult GoneFromEveryNode(const std::vector<std::string>& prefixes) {
  return WaitFor([&] { return ClusterKeys(prefixes) == 0; }, absl::Seconds(10), "keys gone from every node");
}

class ClusterForgetTest : public ::testing::Test {
 protected:
  ClusterForgetTest() {
    store::RedisSettings s;
    EXPECT_TRUE(store::ParseRedisAddress(env->nodes->address(), &s).ok());
    s.node_stats = &stats_;
    store_ = std::make_unique<store::RedisCounterStore>(s, clock_);
  }

  // One released message more than the customer's key keeps decision markers of (`s` holds the last
  // kMarkersInCustomerKey, seen:e0 the first) and an opt-out signal (in `s`): two keys, on the master of the
  // customer's slot.
  void Populate(const std::string& customer) {
    for (int e = 0; e <= store::kMarkersInCustomerKey; ++e) {
      store::CustomerCheck c{.tenant = "acme", .customer_id = customer, .event_id = absl::StrCat("e", e),
                             .now = absl::Now()};
      c.spec.limits.push_back(
          {.counter = "r:cap", .count = store::kMarkersInCustomerKey + 1, .window = absl::Hours(1)});
      c.marker = "m";
      absl::StatusOr<std::vector<store::CheckResult>> r = store_->CheckAndReserve({&c, 1}, Deadline());
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE((*r)[0].status.ok()) << (*r)[0].status;
      ASSERT_TRUE((*r)[0].outcome.reserved);
    }
    const store::SignalWrite optout{.tenant = "acme", .customer_id = customer, .field = "optout", .at_ms = 1};
    ASSERT_TRUE(store_->PutSignal(optout, absl::Now(), Deadline()).ok());
    ASSERT_EQ(NodeKeys(env->nodes->MasterOf(SlotOf(customer)), Prefix(customer)).size(), 2u);
  }
  absl::StatusOr<int64_t> Forget(const std::string& customer) {
    return store_->ForgetCustomer(store::CustomerPrefixes(store::KeySchema(), "acme", customer), Deadline());
  }
  // SET of a key on the master of its slot.
  static void Plant(const std::string& key) {
    auto r = RedisClusterNodes::Command(env->nodes->MasterOf(store::KeySlot(key)), {"SET", key, "1"});
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->type, REDIS_REPLY_STATUS) << std::string(r->str, r->len);
  }
  static absl::Time Deadline() { return absl::Now() + absl::Seconds(10); }
  double Redirections(const std::string& kind) {
    return testing::CounterSum(registry_, "tact_redis_redirections_total", "kind", kind);
  }

  SystemClock clock_;
  prometheus::Registry registry_;
  store::RedisNodeStats stats_{registry_};
  std::unique_ptr<store::RedisCounterStore> store_;
};

TEST_F(ClusterForgetTest, ErasesEveryKeyOfTheCustomerFromEveryNodeAndNothingElse) {
  // ana's keys on two masters, neither of them the first seed: her keys' slot and her legacy keys' slot.
  const std::string ana = FindCustomer("forget-ana", [](const std::string& c) {
    const int master = env->nodes->MasterOf(SlotOf(c));
    const int legacy = env->nodes->MasterOf(store::KeySlot(LegacyPrefix(c)));
    return master != FirstSeed() && legacy != FirstSeed() && legacy != master;
  });
  const std::string ben = CustomerOn("forget-ben", env->nodes->MasterOf(SlotOf(ana)), /*other=*/true);
  const std::string cara = NeighbourOf(ana);  // same slot, same master
  for (const std::string& c : {ana, ben, cara}) Populate(c);
  // ana's keys of older layouts: layout v1 and a suffix of a layout to come (her tag), and the legacy layout
  // (its own tag, {acme:<ana>}: another slot, perhaps another master). A key of that slot that is not hers.
  Plant(Prefix(ana) + "idx");
  Plant(Prefix(ana) + "m:later");
  Plant(LegacyPrefix(ana) + "sig");
  Plant(LegacyPrefix(ana) + "c:old:2026-12-01");
  const std::string not_hers = absl::StrCat("tact:{acme:", ana, "}x:s");
  Plant(not_hers);
  ASSERT_NE(store::KeySlot(LegacyPrefix(ana)), SlotOf(ana));

  const absl::StatusOr<int64_t> removed = Forget(ana);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 2 + 2 + 2);
  EXPECT_TRUE(GoneFromEveryNode({Prefix(ana), LegacyPrefix(ana)}));
  for (const std::string& c : {ben, cara}) {
    EXPECT_EQ(NodeKeys(env->nodes->MasterOf(SlotOf(c)), Prefix(c)).size(), 2u) << c;
  }
  EXPECT_EQ(NodeKeys(env->nodes->MasterOf(store::KeySlot(not_hers)), not_hers).size(), 1u);
  // Idempotent; and the others are still whole to their own erasure.
  EXPECT_EQ(Forget(ana).value_or(-1), 0);
  EXPECT_EQ(Forget(cara).value_or(-1), 2);
  EXPECT_TRUE(GoneFromEveryNode({Prefix(cara)}));
  EXPECT_EQ(NodeKeys(env->nodes->MasterOf(SlotOf(ben)), Prefix(ben)).size(), 2u);
}

// No prefix of CustomerPrefixes lacks a hash tag (cluster_slots_test.cc); one that did could have keys in any
// slot: every master is scanned.
TEST_F(ClusterForgetTest, APrefixWithoutAHashTagIsScannedOnEveryMaster) {
  std::set<int> masters;
  for (int i = 0; i < 9; ++i) {
    const std::string key = absl::StrCat("forget-untagged:", i);
    Plant(key);
    masters.insert(env->nodes->MasterOf(store::KeySlot(key)));
  }
  Plant("forget-untagged-not:1");
  ASSERT_GE(masters.size(), 2u);
  const std::vector<std::string> prefixes = {"forget-untagged:"};
  const absl::StatusOr<int64_t> removed = store_->ForgetCustomer(prefixes, Deadline());
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 9);
  EXPECT_TRUE(GoneFromEveryNode(prefixes));
  EXPECT_EQ(NodeKeys(env->nodes->MasterOf(store::KeySlot("forget-untagged-not:1")), "forget-untagged-not:").size(), 1u);
}

TEST_F(ClusterForgetTest, FollowsAskDuringASlotMigrationAndMovedAfterIt) {
  const int from = env->nodes->MasterOf(SlotOf(CustomerOn("forget-from", FirstSeed(), /*other=*/true)));
  const int to = env->nodes->MasterOf(SlotOf(FindCustomer("forget-to", [&](const std::string& c) {
    const int m = env->nodes->MasterOf(SlotOf(c));
    return m != from && m != FirstSeed();
  })));
  // ASK: dan's slot is being migrated and one of his two keys is already at the target.
  const std::string dan = CustomerOn("forget-dan", from);
  const int slot = SlotOf(dan);
  Populate(dan);
  env->nodes->BeginMigration(slot, to);
  auto migrated = RedisClusterNodes::Command(
      from, {"MIGRATE", "127.0.0.1", std::to_string(to), "", "0", "5000", "KEYS", store::SeenKey(Prefix(dan), "e0")});
  ASSERT_NE(migrated, nullptr);
  ASSERT_EQ(migrated->type, REDIS_REPLY_STATUS) << std::string(migrated->str, migrated->len);
  ASSERT_EQ(NodeKeys(to, Prefix(dan)).size(), 1u);
  ASSERT_EQ(NodeKeys(from, Prefix(dan)).size(), 1u);
  const double asks = Redirections("ask");
  absl::StatusOr<int64_t> removed = Forget(dan);
  EXPECT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed.value_or(-1), 2);
  EXPECT_GT(Redirections("ask"), asks);
  EXPECT_TRUE(GoneFromEveryNode({Prefix(dan)}));
  env->nodes->MigrateKeys(slot, to);
  env->nodes->FinishMigration(slot, to);

  // MOVED: eve's slot moved to another master after the store read the slot map.
  const std::string eve = CustomerOn("forget-eve", from);
  Populate(eve);
  const int eve_slot = SlotOf(eve);
  env->nodes->BeginMigration(eve_slot, to);
  env->nodes->MigrateKeys(eve_slot, to);
  env->nodes->FinishMigration(eve_slot, to);
  ASSERT_EQ(NodeKeys(to, Prefix(eve)).size(), 2u);
  const double moved = Redirections("moved");
  removed = Forget(eve);
  EXPECT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed.value_or(-1), 2);
  EXPECT_GT(Redirections("moved"), moved);
  EXPECT_TRUE(GoneFromEveryNode({Prefix(eve)}));
}

// tactd on the cluster, driven through Kafka; the built tactctl erases one customer.
constexpr char kHashKey[] = "test-key-not-secret";  // tactd's TACT_CUSTOMER_HASH_KEY in tests/support/stack.cc

class TactctlOnClusterTest : public ::testing::Test {
 protected:
  TactctlOnClusterTest()
      : broker_(dir_.path(), 1),
        tactd_(dir_.path(), broker_.bootstrap(), env->nodes->address()),
        decisions_(broker_.bootstrap(), "tact.decisions"),
        erasures_(broker_.bootstrap(), "tact.erasures"),
        producer_(broker_.bootstrap()) {}
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- tactd log ----\n" << tactd_.process().Log() << "\n";
  }

  std::string Decide(const std::string& event_id, const std::string& customer) {
    producer_.Send("tact.outbound", testing::JsonEvent(testing::OutageEvent(event_id, customer, v1::PROMOTION)),
                   "acme:" + customer);
    return testing::AwaitDecision(decisions_, event_id);
  }

  testing::CliRun Forget(const std::string& customer, const std::string& redis) {
    return testing::RunCli(dir_, {TACTCTL_BIN, "customer", "forget", "--tenant", "acme", "--customer", customer,
                                  "--redis", redis, "--brokers", broker_.bootstrap(), "--operator",
                                  "dpo@example.com", "--reason", "GDPR Art. 17 request", "--ticket", "DPO-1234",
                                  "--timeout", "20"},
                           {absl::StrCat("TACT_CUSTOMER_HASH_KEY=", kHashKey)});
  }

  testing::TempDir dir_;
  testing::DevBroker broker_;
  testing::Tactd tactd_;
  testing::TopicReader decisions_;
  testing::TopicReader erasures_;
  testing::TestProducer producer_;
};

TEST_F(TactctlOnClusterTest, CustomerForgetErasesTheCustomerOnEveryNodeAndWritesTheTombstone) {
  const std::string a = CustomerOn("cli-a", FirstSeed(), /*other=*/true);  // on a master tactctl must find
  const std::string b = CustomerOn("cli-b", env->nodes->MasterOf(SlotOf(a)), /*other=*/true);
  // promotion-1-per-day and promotion-low-csat (policies/default): a second promotion of the day, or one after a
  // CSAT of 1, is suppressed.
  EXPECT_EQ(Decide("a1", a), "RELEASE");
  EXPECT_EQ(Decide("a2", a), "SUPPRESS");
  EXPECT_EQ(Decide("b1", b), "RELEASE");
  const std::string at = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  for (const std::string& c : {a, b}) {
    producer_.Send("tact.signals",
                   absl::StrCat(R"({"tenant":"acme","customerId":")", c, R"(","kind":"CSAT","csat":1,"at":")", at,
                                R"("})"),
                   "acme:" + c);
  }
  ASSERT_TRUE(WaitFor(
      [&] { return testing::Metric(tactd_.admin_port(), "tact_signals_consumed_total", {{"kind", "CSAT"}}) >= 2; },
      absl::Seconds(30), "the CSAT signals recorded"));
  const size_t a_keys = NodeKeys(env->nodes->MasterOf(SlotOf(a)), Prefix(a)).size();
  const size_t b_keys = NodeKeys(env->nodes->MasterOf(SlotOf(b)), Prefix(b)).size();
  // her key `s` (counter, CSAT, the last kMarkersInCustomerKey of a1 and a2's markers) and seen:a1 if it keeps one
  EXPECT_EQ(a_keys, store::kMarkersInCustomerKey > 1 ? 1u : 2u);
  EXPECT_EQ(b_keys, 1u);

  const testing::CliRun r = Forget(a, env->nodes->address());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string hash = CustomerHasher(kHashKey).Hash("acme", a);
  EXPECT_NE(r.output.find(absl::StrCat("tenant acme, customer hash ", hash, ": ", a_keys,
                                       " Redis key(s) removed; tombstone written to tact.erasures")),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find(a), std::string::npos) << r.output;  // only the hash
  EXPECT_TRUE(GoneFromEveryNode({Prefix(a)}));
  EXPECT_EQ(NodeKeys(env->nodes->MasterOf(SlotOf(b)), Prefix(b)).size(), b_keys);
  ASSERT_TRUE(WaitFor([&] { return erasures_.Count() >= 1; }, absl::Seconds(30), "the tombstone"));
  const nlohmann::json t = nlohmann::json::parse(erasures_.Records().front().value);
  EXPECT_EQ(t["customer_hash"], hash);
  EXPECT_EQ(t["keys_removed"], a_keys);
  EXPECT_EQ(erasures_.Records().front().key, hash);

  // a is a new customer (her cap and her CSAT are gone); b is not.
  EXPECT_EQ(Decide("a3", a), "RELEASE");
  EXPECT_EQ(Decide("b2", b), "SUPPRESS");

  // Nothing stored for someone never seen: exit 1, recorded all the same.
  const testing::CliRun none = Forget("cli-never-seen", env->nodes->address());
  EXPECT_EQ(none.exit_code, 1) << none.output;
  EXPECT_NE(none.output.find("0 Redis key(s) removed"), std::string::npos) << none.output;
  EXPECT_NE(none.output.find("nothing stored"), std::string::npos) << none.output;
  ASSERT_TRUE(WaitFor([&] { return erasures_.Count() >= 2; }, absl::Seconds(30), "the second tombstone"));

  // No cluster node answers: exit 2 with the store's error, and no tombstone.
  const testing::CliRun down = Forget(a, absl::StrCat("redis+cluster://127.0.0.1:", testing::FreePort()));
  EXPECT_EQ(down.exit_code, 2) << down.output;
  EXPECT_NE(down.output.find("redis cluster: no slot map (redis node 127.0.0.1:"), std::string::npos) << down.output;
  EXPECT_EQ(down.output.find("tombstone written"), std::string::npos) << down.output;
}

}  // namespace
}  // namespace tact
