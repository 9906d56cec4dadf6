#pragma once

#include <hiredis/hiredis.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/support/process.h"

namespace tact::testing {

// A Redis Cluster of Debian's redis-server on free loopback ports: `masters` masters with `replicas` replicas
// each, every node in its own directory under `dir` (--cluster-enabled yes, no persistence), made with
// `redis-cli --cluster create ... --cluster-replicas N --cluster-yes`. The constructor returns once every node
// reports cluster_state:ok and agrees on the slot map; the destructor stops every node.
class RedisClusterNodes {
 public:
  RedisClusterNodes(const std::string& dir, int masters = 3, int replicas = 1,
                    absl::Duration node_timeout = absl::Seconds(3));
  // "redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,..." (the masters as seeds), for redis.address.
  std::string address() const;
  const std::vector<int>& ports() const { return ports_; }
  Subprocess& process(int port) { return *nodes_.at(port); }

  // One command to one node (a fresh connection); nullptr when the node does not answer within 2 s.
  static std::unique_ptr<redisReply, void (*)(void*)> Command(int port, const std::vector<std::string>& args);
  // The master serving `slot` now (from CLUSTER SLOTS of a node that answers), 0 when none.
  int MasterOf(int slot) const;
  // A replica of the master on `port` (CLUSTER REPLICAS), 0 when none.
  int ReplicaOf(int port) const;
  // True when every running node answers cluster_state:ok and names the same master for every slot.
  bool Converged() const;
  // Moves `slot` from its master to the master on `to` as `redis-cli --cluster reshard` does, in three steps
  // so a test can act between them: Begin (SETSLOT IMPORTING on the target, MIGRATING on the source),
  // MigrateKeys (MIGRATE every key of the slot), Finish (SETSLOT NODE on both).
  void BeginMigration(int slot, int to);
  void MigrateKeys(int slot, int to);
  void FinishMigration(int slot, int to);
  std::string NodeId(int port) const;

 private:
  std::vector<int> ports_;  // masters first (as created), then replicas
  std::map<int, std::unique_ptr<Subprocess>> nodes_;
  std::map<int, int> migrating_from_;  // slot -> source master during a migration
};

}  // namespace tact::testing
