#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "daemon/core/clock.h"
#include "daemon/ops/log_limiter.h"
#include "daemon/store/counter_store.h"
#include "daemon/store/keys.h"
#include "daemon/store/known_customers.h"
#include "daemon/store/layouts.h"
#include "daemon/store/new_customer_share.h"
#include "daemon/store/redis_cluster.h"
#include "daemon/store/redis_connection.h"
#include "daemon/store/store_stats.h"
#include "daemon/store/task_threads.h"

namespace tact::store {

struct RedisSettings {
  std::string host = "127.0.0.1";
  int port = 6379;
  int pool_size = 4;                                  // idle connections kept
  absl::Duration connect_timeout = absl::Milliseconds(500);
  absl::Duration seen_ttl = kDefaultSeenTtl;
  absl::Duration max_reconnect_backoff = absl::Seconds(2);
  // How a call with many customers goes to Redis: one EVALSHA per customer, pipelined, or one EVALSHA of the
  // batch script for the whole call (fewer script invocations: less Redis CPU per decision). On a Redis Cluster
  // kOneScript sends one batch per node, for all of that node's customers (redis_counter_store_cluster.cc).
  enum class Batching { kPipelined, kOneScript };
  Batching batching = Batching::kOneScript;
  // Read and move keys of the layout before the keyed hash tag (keys.h, legacy.lua): a customer still in it is
  // moved on its next check or signal, and its state read from it until then. Off once every customer has been
  // moved or its legacy keys have expired (redis.legacy_keys): three keys fewer in the EXISTS a customer without
  // a store-v2 key makes (redis_store_bench store.legacy_keys). Layout v1 is looked for there until
  // older_layouts is false.
  bool legacy_keys = true;
  // Look for a customer without a store-v2 key in the older layouts at all (redis.older_layouts): false, and
  // neither layout v1 nor the legacy one is read (legacy_keys then does nothing), so a new customer's check is
  // MGET + SET only (redis_store_bench store.older_layouts). Only once `tactctl store layouts` (CountLayouts)
  // finds no key of them: a customer's state still there (an opt-out without an end) would not be seen.
  // true: looked for until the Redis carries the layout seal (RedisCounterStore::RefreshLayouts), then not.
  bool older_layouts = true;
  // Where a check is decided (redis.checks). kCompareAndSet: tactd reads the customer's key (MGET, with the event's
  // marker key), decides on it as check.lua would (customer_draft.h) and writes it back only if it is unchanged
  // (WATCHed before the MGET, written in MULTI/EXEC; a customer guessed new, guess_new: created by SET NX in the
  // MGET's round-trip, or written by cas.lua when its key existed): Redis runs plain commands, or one small script,
  // instead of check.lua (redis_cas_checks.cc).
  // A customer whose key changed in between, one the older layouts may hold (while they are looked in), or a key
  // tactd does not read as it was written, is decided by check.lua in the next round-trip. kScript: check.lua
  // decides every check. A Redis Cluster always runs check.lua (one batch per node).
  enum class Checks { kCompareAndSet, kScript };
  Checks checks = Checks::kCompareAndSet;
  // compare_and_set on one node, older layouts not looked in: whether a call's customers are decided as new before
  // their keys are read, their keys created (SET NX PX) in the read's round-trip (redis_cas_checks.cc). kAuto: the
  // customers this process has not read or written lately (KnownCustomers; in a call of several, only while at least
  // 3/4 of such customers had no key: NewCustomerShare). When at least 3/4 of the customers it knew had no key (gone
  // before their time: a flushed Redis), it forgets them all: they are guessed as any unknown one. kAlways (every
  // customer) and kNever are for tests and redis_store_bench (store.guess_new); no flag sets them.
  enum class Guess { kAuto, kAlways, kNever };
  Guess guess_new = Guess::kAuto;
  RedisTlsSettings tls;    // redis.tls*
  RedisAuthSettings auth;  // redis.username, redis.password_file, TACT_REDIS_PASSWORD
  // Redis Cluster (redis.address "redis+cluster://host:port[,host:port...]"): the seed nodes the topology is read
  // from; empty = one node at host:port. In a cluster every customer's checks go to the master of its slot
  // (redis_cluster.h), in one batch per node or one EVALSHA per customer (batching); legacy_keys is off
  // (docs/operations.md).
  std::vector<NodeAddress> cluster_seeds;
  RedisNodeStats* node_stats = nullptr;  // per-node metrics in a cluster (optional)
  StoreStats* stats = nullptr;  // compare_and_set's guess (redis_guessed_total, redis_known_forgotten_total; optional)
};

struct RedisCommand;  // one command's arguments (redis_check_call.h)

// Counter store on one Redis node (or a Cluster node owning the customer's slot: every key of a script carries
// the customer's hash tag). Connections are created lazily; after any I/O error a connection is dropped and a
// new one is made, with backoff while Redis stays unreachable. Every new connection (TLS or plaintext) is
// authenticated before its first command (RedisConnector). A failed connect is logged, once per 30 s per kind.
// Thread-safety: any thread; each call borrows one connection for its whole round-trip.
class RedisCounterStore final : public CounterStore {
 public:
  RedisCounterStore(RedisSettings settings, const Clock& clock, KeySchema keys = KeySchema());
  absl::StatusOr<std::vector<CheckResult>> CheckAndReserve(std::span<const CustomerCheck> checks,
                                                           absl::Time deadline) override;
  absl::Status PutSignal(const SignalWrite& write, absl::Time now, absl::Time deadline) override;
  absl::StatusOr<CustomerState> ReadCustomer(const CustomerRead& read, absl::Time deadline) override;
  // SCAN MATCH <prefix>* + UNLINK per prefix; on a cluster CLUSTER GETKEYSINSLOT of the prefix's slot on every
  // master + UNLINK per key, routed (redis_forget.cc).
  absl::StatusOr<int64_t> ForgetCustomer(std::span<const std::string> prefixes, absl::Time deadline) override;
  // SET <ArchiveKey> <text> PX <ttl ms> / GET <ArchiveKey>; on a cluster to the master of the name's slot, with its
  // redirections followed (redis_archive.cc).
  absl::Status PutArchived(std::string_view name, std::string_view text, absl::Duration ttl,
                           absl::Time deadline) override;
  absl::StatusOr<std::optional<std::string>> GetArchived(std::string_view name, absl::Time deadline) override;
  bool Healthy() override;
  // In a cluster: each master's address and whether it answered the last probe (Healthy); empty on one node.
  std::vector<std::pair<std::string, bool>> NodeHealth() ABSL_LOCKS_EXCLUDED(mu_);
  // Keys per layout on this node, or on every master of the cluster (redis_layouts.cc): SCAN MATCH tact:{* over
  // the whole keyspace, a TYPE of each `seen:` key. For `tactctl store layouts`, not for the decision path.
  absl::StatusOr<LayoutCounts> CountLayouts(absl::Time deadline);

  // The layout seal (keys.h kLayoutSealKey): a Redis whose customer keys are all store v2's says so, and every
  // tactd on it then looks in no older layout, as with redis.older_layouts false, with no restart. `tactctl store
  // layouts --seal` writes it once CountLayouts finds no key of an older layout; --unseal removes it.
  absl::StatusOr<bool> LayoutsSealed(absl::Time deadline);
  absl::Status SealLayouts(bool sealed, absl::Time deadline);
  // tactd's health loop, each time (it reads the seal at most every kLayoutSealRefresh): reads the seal and looks in
  // the older layouts or not by it (never when redis.older_layouts is false). Without a seal, each read counts the
  // keys of a single node of at most kAutoSealMaxKeys keys (a fresh deployment, counted as `tactctl store layouts`
  // does) and seals it once it has shown no key of an older layout for kAutoSealAfter since this process started
  // (an older tactd still running during a rollout writes them: it is seen first); a key of an older layout, more
  // keys or a Cluster end the tries for this process (tactctl seals those). A change is logged
  // (store.older_layouts). Errors leave the lookup as it was. Health thread only.
  void RefreshLayouts(absl::Time deadline);
  static constexpr absl::Duration kLayoutSealRefresh = absl::Seconds(10);
  static constexpr int64_t kAutoSealMaxKeys = 10'000;
  static constexpr absl::Duration kAutoSealAfter = absl::Minutes(10);
  // Whether a customer without a store-v2 key is looked for in the older layouts now.
  bool LooksInOlderLayouts() const { return older_layouts_.load(std::memory_order_relaxed); }

 private:
  absl::StatusOr<RedisConnectionPtr> Borrow(absl::Duration budget) ABSL_LOCKS_EXCLUDED(mu_);
  // Borrow with the time left until `deadline` as its budget and as the connection's timeout.
  absl::StatusOr<RedisConnectionPtr> BorrowUntil(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  void Return(RedisConnectionPtr conn) ABSL_LOCKS_EXCLUDED(mu_);
  // SCRIPT LOAD of check.lua and cas.lua on a new connection (or after NOSCRIPT); with redis.checks compare_and_set
  // on one node, ProbeTransactions too.
  absl::Status LoadScript(RedisConnection& c);
  // UNAVAILABLE naming the setting when Redis refuses MULTI or EXEC (an ACL): compare_and_set's writes need them.
  absl::Status ProbeTransactions(RedisConnection& c);
  absl::StatusOr<std::vector<CheckResult>> RunChecks(RedisConnection& c, std::span<const RedisCommand> commands);
  absl::StatusOr<std::vector<CheckResult>> RunBatchScript(RedisConnection& c, const RedisCommand& batch,
                                                          size_t checks);
  // check.lua for checks[i], i in `items` (ascending; prefixes[i] its customer's prefix): one batch script (or one call
  // each, RedisSettings::batching), their results into `results`.
  absl::Status RunScriptChecks(RedisConnection& c, std::span<const CustomerCheck> checks,
                               std::span<const std::string> prefixes, std::span<const size_t> items,
                               bool older_layouts, std::vector<CheckResult>& results);

  // redis.checks compare_and_set, on a single node (redis_cas_checks.cc) and on a Redis Cluster (redis_cas_cluster.cc).
  absl::StatusOr<std::vector<CheckResult>> CasCheckAndReserve(std::span<const CustomerCheck> checks,
                                                              absl::Time deadline);
  absl::StatusOr<std::vector<CheckResult>> ClusterCasCheckAndReserve(std::span<const CustomerCheck> checks,
                                                                     absl::Time deadline);

  // Redis Cluster (redis_counter_store_cluster.cc): the same operations routed per node.
  absl::StatusOr<std::vector<CheckResult>> ClusterCheckAndReserve(std::span<const CustomerCheck> checks,
                                                                  absl::Time deadline);
  // One call per node for its checks (results into `results`); returns the checks still to send one by one
  // (ClusterCheckEach), ascending.
  std::vector<size_t> ClusterCheckPerNode(std::span<const CustomerCheck> checks, std::span<const std::string> prefixes,
                                          std::span<const int> slots, absl::Time deadline,
                                          std::vector<CheckResult>& results);
  // checks[i] for i in `which` (ascending), one EVALSHA each, their results into `results`.
  void ClusterCheckEach(std::span<const CustomerCheck> checks, std::span<const std::string> prefixes,
                        std::span<const size_t> which, absl::Time deadline, std::vector<CheckResult>& results);
  // Runs `commands` (all keys of slot `slot`) in order; an error reply is UNAVAILABLE.
  absl::StatusOr<std::vector<RedisReplyPtr>> ClusterRoundTrip(const std::vector<RedisCommand>& commands, int slot,
                                                              absl::Time deadline);
  // One command about `key` and its reply (not an error reply: that is UNAVAILABLE "redis <what>: ..."), on one node
  // or routed by the key's slot; `what` names it in errors.
  absl::StatusOr<RedisReplyPtr> KeyCommand(const RedisCommand& command, const std::string& key, absl::Time deadline,
                                           std::string_view what);
  // ForgetCustomer on a cluster (redis_forget.cc), and the keys starting with `prefix` on every master.
  absl::StatusOr<int64_t> ClusterForgetCustomer(std::span<const std::string> prefixes, absl::Time deadline);
  absl::StatusOr<std::set<std::string>> ClusterPrefixKeys(const std::string& prefix, absl::Time deadline);
  // CountLayouts on one node: `conn` (single node) or `node` of the cluster.
  absl::Status CountLayoutsOn(RedisConnection* conn, const NodeAddress* node, absl::Time deadline,
                              LayoutCounts& counts);

  // RefreshLayouts without a seal: counts a single node of at most kAutoSealMaxKeys keys (CountLayouts) and seals it
  // once none has been of an older layout for kAutoSealAfter (kSealed); kWait: not yet (or Redis failed); kNever: a
  // key of an older layout, more keys, or a Cluster.
  enum class AutoSealStep { kWait, kSealed, kNever };
  AutoSealStep AutoSeal(absl::Time deadline);

  // The legacy prefix the signal script and ReadCustomer use for this customer ("" when none or legacy_keys is off).
  std::string LegacyPrefix(std::string_view tenant, std::string_view customer_id) const;

  const RedisSettings settings_;
  const Clock& clock_;
  // compare_and_set's guess of a call's new customers (settings_.guess_new): the customers whose keys this process
  // read or wrote lately, and how many of those it did not know had no key, and of those it knew (the last few
  // hundred: a flush is seen soon).
  KnownCustomers known_;
  NewCustomerShare unknown_new_{/*at_first=*/true};
  NewCustomerShare known_gone_{/*at_first=*/false, /*window=*/256};
  std::atomic<bool> older_layouts_;  // settings_.older_layouts, false once the Redis is sealed (RefreshLayouts)
  // RefreshLayouts and AutoSeal (health thread only)
  absl::Time next_seal_read_ = absl::InfinitePast();
  AutoSealStep auto_seal_ = AutoSealStep::kWait;
  absl::Time auto_seal_clean_since_ = absl::InfiniteFuture();  // the first count that found no older key
  const KeySchema keys_;
  const std::string_view script_;  // kCheckLua, or kClusterCheckLua on a cluster
  const std::string script_sha_;
  const std::string cas_sha_;  // kCasLua's
  RedisConnector connector_;
  std::unique_ptr<RedisCluster> cluster_;  // set when settings_.cluster_seeds is not empty
  TaskThreads cluster_threads_;            // each master's compare_and_set rounds (ClusterCasCheckAndReserve)
  ops::LogLimiter connect_log_;
  absl::Mutex mu_;
  std::vector<RedisConnectionPtr> idle_ ABSL_GUARDED_BY(mu_);
  absl::Time next_connect_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  std::vector<std::pair<std::string, bool>> node_health_ ABSL_GUARDED_BY(mu_);
};

// "host:port" → settings fields; "redis+cluster://host:port[,host:port...]" → cluster_seeds (host and port = the
// first seed). INVALID_ARGUMENT naming the value when malformed.
absl::Status ParseRedisAddress(std::string_view address, RedisSettings* settings);

}  // namespace tact::store
