// RedisCounterStore on Redis Cluster: each operation routed by its customer's slot (redis_cluster.h).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/redis_check_call.h"
#include "daemon/store/redis_counter_store.h"

namespace tact::store {
namespace {

// A reply of Execute as a status: an error reply (a redirection left after the retries included) is UNAVAILABLE.
absl::Status ReplyStatus(const absl::StatusOr<RedisReplyPtr>& reply) {
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_ERROR) {
    return absl::UnavailableError(absl::StrCat("redis: ", absl::string_view((*reply)->str, (*reply)->len)));
  }
  return absl::OkStatus();
}

// One node's checks (indexes into the call's checks, in order) and their batch's place among the commands.
struct NodeBatch {
  std::string node;
  std::vector<size_t> items;
  size_t command = 0;
};

// The result of one check sent alone (BuildCall): its decision, or its failure as its status.
CheckResult OneCheckResult(const absl::StatusOr<RedisReplyPtr>& reply) {
  absl::Status s = ReplyStatus(reply);
  if (s.ok()) {
    absl::StatusOr<std::vector<CheckResult>> parsed = ParseCallReply(**reply, 1);
    if (parsed.ok()) return std::move(parsed->front());
    s = parsed.status();
  }
  CheckResult failed;
  failed.status = s;
  return failed;
}

// One node's batch reply: the checks it decided into `results`; those it did not run (or all, when the node refused
// the call) appended to `each`, their number returned. A node that did not answer fails every check of it.
int TakeNodeBatchReply(const absl::StatusOr<RedisReplyPtr>& reply, std::span<const size_t> items,
                       std::vector<CheckResult>& results, std::vector<size_t>& each) {
  std::vector<bool> not_here(items.size(), true);
  if (!reply.ok()) {  // the node did not answer: these checks' effect is unknown, they fail (as one by one)
    for (size_t i : items) results[i].status = reply.status();
    return 0;
  }
  if ((*reply)->type != REDIS_REPLY_ERROR) {  // else refused as a whole: every check one by one
    absl::StatusOr<std::vector<CheckResult>> parsed = ParseNodeBatchReply(**reply, items.size(), not_here);
    if (!parsed.ok()) {
      for (size_t i : items) results[i].status = parsed.status();
      return 0;
    }
    for (size_t k = 0; k < items.size(); ++k) {
      if (!not_here[k]) results[items[k]] = std::move((*parsed)[k]);
    }
  }
  int fallbacks = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    if (not_here[k]) {
      each.push_back(items[k]);
      ++fallbacks;
    }
  }
  return fallbacks;
}

}  // namespace

// With batching kOneScript (the default), the checks of one node go in ONE EVALSHA (BuildNodeBatchCall): its
// customers are in several slots, so no key is declared and the script probes each check's slot as its first
// access. A check that node does not serve when the script runs (the slot moved, or is being migrated and Redis
// would answer MOVED, ASK or TRYAGAIN to the check on its own) is answered "not here" before it reads or writes
// anything, with its customer's later checks; those go one by one in a second round (ClusterCheckEach), in order,
// with their keys declared, so Redis' redirections apply to them. A node's batch refused as a whole (an error
// reply: the node is a replica now, out of memory, ...) goes one by one too. A node with one check gets it alone in
// the same round; a call whose checks are not all at the same `now`, and kPipelined: one EVALSHA per check.
//
// Never applied twice, never lost: a "not here" check did not run (its MGET failed and the script went on to the
// next check); a refused batch did not run. A batch that failed in the middle of its run (a script error: not
// expected) may have decided some of its checks: the second round finds their event-id markers (stored in the
// same SET as their reservations) and returns those decisions as duplicates, as a caller's retry after a timeout
// would.
absl::StatusOr<std::vector<CheckResult>> RedisCounterStore::ClusterCheckAndReserve(
    std::span<const CustomerCheck> checks, absl::Time deadline) {
  std::vector<std::string> prefixes;
  std::vector<int> slots;
  prefixes.reserve(checks.size());
  slots.reserve(checks.size());
  for (const CustomerCheck& check : checks) {
    prefixes.push_back(keys_.CustomerPrefix(check.tenant, check.customer_id));
    slots.push_back(KeySlot(prefixes.back()));
  }
  std::vector<CheckResult> results(checks.size());
  std::vector<size_t> each;  // sent one EVALSHA each
  const bool batches = settings_.batching == RedisSettings::Batching::kOneScript && checks.size() > 1 &&
                       std::all_of(checks.begin(), checks.end(),
                                   [&](const CustomerCheck& c) { return c.now == checks.front().now; });
  if (!batches) {
    each.resize(checks.size());
    for (size_t i = 0; i < checks.size(); ++i) each[i] = i;
  } else {
    each = ClusterCheckPerNode(checks, prefixes, slots, deadline, results);
  }
  if (!each.empty()) ClusterCheckEach(checks, prefixes, each, deadline, results);
  return UnlessAllFailed(std::move(results));
}

std::vector<size_t> RedisCounterStore::ClusterCheckPerNode(std::span<const CustomerCheck> checks,
                                                           std::span<const std::string> prefixes,
                                                           std::span<const int> slots, absl::Time deadline,
                                                           std::vector<CheckResult>& results) {
  const RedisCluster::NodeGroups masters = cluster_->MastersOf(slots, deadline);
  std::vector<NodeBatch> nodes(masters.nodes.size());
  std::vector<size_t> each;
  for (size_t i = 0; i < checks.size(); ++i) {
    if (masters.node_of[i] < 0) {
      each.push_back(i);  // no node serves it: Execute says so
    } else {
      nodes[static_cast<size_t>(masters.node_of[i])].items.push_back(i);
    }
  }
  std::vector<RedisCommand> commands;
  std::vector<int> command_slots;
  const bool older_layouts = LooksInOlderLayouts();  // one answer for the whole call
  for (size_t n = 0; n < nodes.size(); ++n) {
    NodeBatch& node = nodes[n];
    node.node = masters.nodes[n];
    const size_t first = node.items.front();
    node.command = commands.size();
    command_slots.push_back(slots[first]);  // Execute sends it to that slot's master: this node
    if (node.items.size() == 1) {  // the customer's only check: alone, its keys declared
      commands.push_back(BuildCall(script_sha_, checks.subspan(first, 1), prefixes.subspan(first, 1),
                                   settings_.seen_ttl, older_layouts));
    } else {
      commands.push_back(BuildNodeBatchCall(script_sha_, checks, prefixes, node.items, settings_.seen_ttl,
                                            older_layouts));
    }
  }
  if (commands.empty()) return each;
  std::vector<absl::StatusOr<RedisReplyPtr>> replies = cluster_->Execute(commands, command_slots, deadline);
  for (const NodeBatch& node : nodes) {
    if (node.items.size() == 1) {
      results[node.items.front()] = OneCheckResult(replies[node.command]);
      continue;
    }
    const int fallbacks = TakeNodeBatchReply(replies[node.command], node.items, results, each);
    if (fallbacks > 0 && settings_.node_stats != nullptr) {
      settings_.node_stats->redis_node_batch_fallbacks_total.Inc({node.node}, fallbacks);
    }
  }
  std::sort(each.begin(), each.end());  // the call's order: a customer's checks stay in order
  return each;
}

// One EVALSHA per check, each to the master of its customer's slot. The checks of one node go pipelined on one
// connection in the call's order, so two checks of one customer run in order; the nodes work in parallel. A check
// whose node fails gets its own status (the others are decided).
//
// Never applied twice, never lost: a MOVED, ASK, TRYAGAIN or CLUSTERDOWN answer means the script did not run
// (Redis checks the slot of the declared keys before running it), so sending it to the owner named is its first
// run. The only check whose effect is unknown is one whose node stopped answering after it was sent (a timeout):
// it fails (UNAVAILABLE, the class's fail mode) and, retried later by the caller, finds the event-id marker its
// first run stored in the same atomic script if that run reserved, and returns that run's decision (a duplicate).
void RedisCounterStore::ClusterCheckEach(std::span<const CustomerCheck> checks, std::span<const std::string> prefixes,
                                         std::span<const size_t> which, absl::Time deadline,
                                         std::vector<CheckResult>& results) {
  std::vector<RedisCommand> commands;
  std::vector<int> slots;
  commands.reserve(which.size());
  slots.reserve(which.size());
  for (size_t i : which) {
    commands.push_back(BuildCall(script_sha_, checks.subspan(i, 1), prefixes.subspan(i, 1), settings_.seen_ttl,
                                 LooksInOlderLayouts()));
    slots.push_back(KeySlot(prefixes[i]));
  }
  std::vector<absl::StatusOr<RedisReplyPtr>> replies = cluster_->Execute(commands, slots, deadline);
  for (size_t k = 0; k < which.size(); ++k) results[which[k]] = OneCheckResult(replies[k]);
}

absl::StatusOr<std::vector<RedisReplyPtr>> RedisCounterStore::ClusterRoundTrip(
    const std::vector<RedisCommand>& commands, int slot, absl::Time deadline) {
  const std::vector<int> slots(commands.size(), slot);
  std::vector<absl::StatusOr<RedisReplyPtr>> replies = cluster_->Execute(commands, slots, deadline);
  std::vector<RedisReplyPtr> out;
  out.reserve(replies.size());
  for (absl::StatusOr<RedisReplyPtr>& r : replies) {
    if (absl::Status s = ReplyStatus(r); !s.ok()) return s;
    out.push_back(*std::move(r));
  }
  return out;
}

}  // namespace tact::store
