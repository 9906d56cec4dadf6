// CounterStore::PutArchived / GetArchived on a real Redis Cluster (cluster_env.h): a name's text goes to the master
// of its own slot ("tact:archive:{<name>}"), also when that is not the seed the store was given; a GET follows ASK
// while the slot is being migrated (the key already at the target), a SET of a name the source no longer has goes
// to the target, and both follow MOVED once the slot has moved.
#include <gtest/gtest.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "prometheus/registry.h"
#include "tests/cluster/cluster_env.h"
#include "tests/support/metrics.h"
#include "tests/support/redis_cluster.h"

namespace tact {
namespace {

using testing::RedisClusterNodes;

int SlotOf(const std::string& name) { return store::KeySlot(store::ArchiveKey(name)); }

// The first name "<stem>-<i>" whose slot's master `pred` accepts.
template <typename Pred>
std::string NameWhere(const std::string& stem, Pred pred) {
  for (int i = 0;; ++i) {
    const std::string n = absl::StrCat(stem, "-", i);
    if (pred(env->nodes->MasterOf(SlotOf(n)))) return n;
  }
}

// The master serving the first slot map entry's slot 0: the seed of a store given one seed only.
int Seed() { return env->nodes->MasterOf(0); }

// GET of the name's key on the node on `port` itself (no redirection followed): the text, or the error reply.
std::string RawGet(int port, const std::string& name) {
  auto r = RedisClusterNodes::Command(port, {"GET", store::ArchiveKey(name)});
  if (r == nullptr) return "(no answer)";
  if (r->type == REDIS_REPLY_NIL) return "(nil)";
  return std::string(r->str, r->len);
}

class ClusterArchiveTest : public ::testing::Test {
 protected:
  // A store given ONE seed (the master of slot 0): the other masters it learns from the slot map.
  ClusterArchiveTest() {
    store::RedisSettings s;
    EXPECT_TRUE(store::ParseRedisAddress(absl::StrCat("redis+cluster://127.0.0.1:", Seed()), &s).ok());
    s.node_stats = &stats_;
    store_ = std::make_unique<store::RedisCounterStore>(s, clock_);
  }
  static absl::Time Deadline() { return absl::Now() + absl::Seconds(10); }
  std::string Get(const std::string& name) {
    absl::StatusOr<std::optional<std::string>> got = store_->GetArchived(name, Deadline());
    if (!got.ok()) return got.status().ToString();
    return got->value_or("(absent)");
  }
  double Redirections(const std::string& kind) {
    return testing::CounterSum(registry_, "tact_redis_redirections_total", "kind", kind);
  }

  SystemClock clock_;
  prometheus::Registry registry_;
  store::RedisNodeStats stats_{registry_};
  std::unique_ptr<store::RedisCounterStore> store_;
};

TEST_F(ClusterArchiveTest, ANameOnAnotherMasterThanTheSeedIsStoredOnItsMaster) {
  const std::string name = NameWhere("archive-far", [](int master) { return master != 0 && master != Seed(); });
  const int master = env->nodes->MasterOf(SlotOf(name));
  ASSERT_TRUE(store_->PutArchived(name, std::string("far\0away", 8), absl::Hours(1), Deadline()).ok());
  EXPECT_EQ(Get(name), std::string("far\0away", 8));
  EXPECT_EQ(RawGet(master, name), std::string("far\0away", 8));  // on the slot's master itself
  EXPECT_EQ(RawGet(Seed(), name).substr(0, 5), "MOVED");         // not on the seed
  EXPECT_EQ(Redirections("moved"), 0);                          // routed by the slot map, not by redirections
  EXPECT_EQ(Get(NameWhere("archive-none", [](int m) { return m != 0 && m != Seed(); })), "(absent)");
}

TEST_F(ClusterArchiveTest, FollowsAskDuringASlotMigrationAndMovedAfterIt) {
  const std::string name = NameWhere("archive-move", [](int master) { return master != 0; });
  const int slot = SlotOf(name);
  const int from = env->nodes->MasterOf(slot);
  int to = 0;  // another master
  for (int s = 0; s < 16384 && to == 0; s += 256) {
    if (const int m = env->nodes->MasterOf(s); m != 0 && m != from) to = m;
  }
  ASSERT_NE(to, 0);
  ASSERT_TRUE(store_->PutArchived(name, "v1", absl::Hours(1), Deadline()).ok());
  ASSERT_EQ(RawGet(from, name), "v1");

  // ASK: the slot is being migrated and the key is already at the target.
  env->nodes->BeginMigration(slot, to);
  auto migrated = RedisClusterNodes::Command(
      from, {"MIGRATE", "127.0.0.1", std::to_string(to), "", "0", "5000", "KEYS", store::ArchiveKey(name)});
  ASSERT_NE(migrated, nullptr);
  ASSERT_EQ(migrated->type, REDIS_REPLY_STATUS) << std::string(migrated->str, migrated->len);
  const double asks = Redirections("ask");
  EXPECT_EQ(Get(name), "v1");
  EXPECT_GT(Redirections("ask"), asks);
  // A SET of it: the source no longer has the key, so it is written at the target (ASK), not left behind.
  ASSERT_TRUE(store_->PutArchived(name, "v2", absl::Hours(1), Deadline()).ok());
  EXPECT_EQ(Get(name), "v2");
  EXPECT_EQ(RawGet(from, name).substr(0, 3), "ASK");

  // MOVED: the slot now belongs to the target; the store's map still names the source.
  env->nodes->MigrateKeys(slot, to);
  env->nodes->FinishMigration(slot, to);
  const double moved = Redirections("moved");
  EXPECT_EQ(Get(name), "v2");
  EXPECT_GT(Redirections("moved"), moved);
  ASSERT_TRUE(store_->PutArchived(name, "v3", absl::Hours(1), Deadline()).ok());
  EXPECT_EQ(RawGet(to, name), "v3");
}

}  // namespace
}  // namespace tact
