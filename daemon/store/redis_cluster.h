#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/core/clock.h"
#include "daemon/ops/log_limiter.h"
#include "daemon/ops/metrics.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/redis_connection.h"

namespace tact::store {

// Per Redis Cluster node (label node = "host:port" as the cluster reports it: bounded by the cluster's size).
#define TACT_REDIS_NODE_STATS(COUNTER, GAUGE, HISTOGRAM)                                                       \
  COUNTER(redis_node_calls_total, "Round-trips to one Redis Cluster node (a pipeline of commands each)", (node)) \
  COUNTER(redis_node_errors_total, "Failed round-trips, connects and error replies of one node", (node))       \
  COUNTER(redis_redirections_total, "Redirections a node answered, by kind (moved, ask, tryagain, clusterdown)", \
          (node, kind))                                                                                       \
  COUNTER(redis_slot_map_refreshes_total, "Slot map refreshes (CLUSTER SLOTS) that succeeded", ())              \
  COUNTER(redis_node_batch_fallbacks_total,                                                                   \
          "Checks a node's batch did not run (their slot moved or was migrating) and sent one by one", (node))  \
  GAUGE(redis_node_up, "1 if the last round-trip or probe of the node succeeded", (node))
TACT_STATS_STRUCT(RedisNodeStats, TACT_REDIS_NODE_STATS);

struct RedisCommand;  // redis_check_call.h

// How RedisCluster connects: the seeds it learns the topology from, and what every node's connection needs.
struct RedisClusterSettings {
  std::vector<NodeAddress> seeds;
  RedisTlsSettings tls;    // the same for every node
  RedisAuthSettings auth;  // the same for every node
  int pool_size = 4;       // idle connections kept per node
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration max_reconnect_backoff = absl::Seconds(2);
  RedisNodeStats* stats = nullptr;  // optional
};

// Routing on Redis Cluster, on top of hiredis 0.14 (which has none): the slot map (CLUSTER SLOTS from a seed or a
// known node), a connection pool per node, and the redirections of the cluster specification:
//  - MOVED: the slot has a new owner. The map is refreshed and the command sent once more, to the owner named.
//  - ASK: the slot is being migrated and this key is already at the target: ASKING then the command, to the
//    target, once; the map is not changed.
//  - TRYAGAIN (a multi-key command during a migration) and CLUSTERDOWN: sent again after a backoff (5 ms,
//    doubling), while the call's deadline allows.
//  - A node that does not answer (connect refused, I/O error, timeout): its commands fail (UNAVAILABLE) and the
//    map is refreshed before the next call, from the other known nodes, then the seeds: a replica promoted by a
//    failover is found there.
// A command is never run twice by a redirection: MOVED, ASK, TRYAGAIN and CLUSTERDOWN are answered instead of
// running it. (Only a timeout leaves a command's effect unknown; the caller's event-id dedupe makes a later retry
// of a check that did run return that run's decision.)
// Thread-safety: any thread; a call borrows one connection per node it sends to.
class RedisCluster {
 public:
  // `on_connect` runs on every new connection after AUTH (the counter store loads its script), and again when a
  // reply is NOSCRIPT before that command is sent once more.
  using OnConnect = std::function<absl::Status(RedisConnection&)>;
  RedisCluster(RedisClusterSettings settings, const Clock& clock, OnConnect on_connect = nullptr);
  ~RedisCluster();

  // Sends each command to the master of its slot (`slots[i]`, KeySlot of its key): the commands of one node
  // pipelined in order on one connection, the nodes in parallel. Replies in `commands` order: a reply (error
  // replies other than redirections and NOSCRIPT included) or UNAVAILABLE / DEADLINE_EXCEEDED for a command
  // whose node could not answer in time.
  std::vector<absl::StatusOr<RedisReplyPtr>> Execute(std::span<const RedisCommand> commands,
                                                     std::span<const int> slots, absl::Time deadline);

  // Which master serves each of `slots` in the current map (read first when stale): `node_of[i]` indexes `nodes`
  // ("host:port"), -1 when no node serves slots[i]. For one command per node: the node itself then answers for
  // what it serves when the command runs (the map may be stale by then).
  struct NodeGroups {
    std::vector<std::string> nodes;
    std::vector<int> node_of;
  };
  NodeGroups MastersOf(std::span<const int> slots, absl::Time deadline);

  // The masters of the slot map (refreshed first when stale). UNAVAILABLE naming the last node's error when no
  // node gave a map.
  absl::StatusOr<std::vector<NodeAddress>> Masters(absl::Time deadline);

  // Sends `commands`, pipelined in order, to the node at `node` itself: for commands about that node's own keys
  // (CLUSTER GETKEYSINSLOT, SCAN), which no node redirects. Replies in order, as Execute's; `what` names them
  // in errors.
  std::vector<absl::StatusOr<RedisReplyPtr>> ExecuteOn(const NodeAddress& node, std::span<const RedisCommand> commands,
                                                       absl::Time deadline, std::string_view what);

  // PING to every master of the map (refreshed first when stale). True when the map covers every slot and every
  // master answered. `nodes` (optional) gets each master's address and whether it answered.
  bool Probe(absl::Duration timeout, std::vector<std::pair<std::string, bool>>* nodes = nullptr);

 private:
  class Node;
  struct Batch;
  Node& NodeAt(const NodeAddress& address) ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<const SlotMap> Map() ABSL_LOCKS_EXCLUDED(mu_);
  // CLUSTER SLOTS from the known masters, replicas, then seeds (nodes that failed last); within `deadline`.
  absl::Status Refresh(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  void RefreshIfStale(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  void MarkStale() ABSL_LOCKS_EXCLUDED(mu_);
  // One round: every batch sent, then every reply read.
  void RunRound(std::vector<Batch>& batches, std::span<const RedisCommand> commands, absl::Time deadline,
                std::vector<absl::StatusOr<RedisReplyPtr>>& out, std::string_view what = "EVALSHA");
  void Count(const NodeAddress& node, bool ok);

  const RedisClusterSettings settings_;
  const Clock& clock_;
  const OnConnect on_connect_;
  ops::LogLimiter log_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Node>> nodes_ ABSL_GUARDED_BY(mu_);  // by "host:port"; never removed
  std::shared_ptr<const SlotMap> map_ ABSL_GUARDED_BY(mu_);
  bool stale_ ABSL_GUARDED_BY(mu_) = true;
  absl::Time last_refresh_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Mutex refresh_mu_;  // one refresh at a time
};

}  // namespace tact::store
