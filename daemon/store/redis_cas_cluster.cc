// RedisCounterStore with redis.checks compare_and_set on a Redis Cluster (ClusterCasCheckAndReserve): each
// customer's commands on its slot's master, each master's customers through the rounds on their own
// (redis_cas_checks.cc: the single-node path; redis_cas_parts.h: what both share).
#include <algorithm>
#include <ranges>

#include "absl/strings/str_cat.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/redis_cas_parts.h"
#include "daemon/store/redis_check_call.h"
#include "daemon/store/redis_cluster.h"
#include "daemon/store/redis_counter_store.h"

namespace tact::store {
namespace {

// One call's customers on a Redis Cluster, for the rounds of ClusterCasCheckAndReserve (each master's customers
// `group` on their own thread: they touch their own customers and results only).
struct ClusterCall {
  RedisCluster& cluster;
  const std::string& cas_sha;
  std::span<const CustomerCheck> checks;
  const std::vector<std::string>& prefixes;
  std::vector<Customer>& customers;
  absl::Time deadline;
  std::vector<CheckResult>& results;

  // Customer `c`'s checks fail with `s` (the first failure of a round).
  void Fail(Customer& c, const absl::Status& s) {
    if (c.failed) return;
    c.failed = true;
    for (size_t i : c.checks) results[i].status = s;
  }
  // A reply as a status: an error reply (a redirection left after the retries included) is UNAVAILABLE.
  static absl::Status StatusOf(const absl::StatusOr<RedisReplyPtr>& r) {
    if (!r.ok()) return r.status();
    return (*r)->type == REDIS_REPLY_ERROR ? ErrorReply(**r) : absl::OkStatus();
  }
};

// Round 1: per customer of `group` one MGET of its checks' marker keys and its key; its draft, each check's marker
// key as read into `seen` (views into the replies returned), the checks to probe with their customers appended.
std::vector<absl::StatusOr<RedisReplyPtr>> ClusterRead(ClusterCall& call, std::span<const size_t> group,
                                                       bool older_layouts, std::vector<const redisReply*>& seen,
                                                       std::vector<size_t>& probe,
                                                       std::vector<size_t>& probe_customer) {
  std::vector<RedisCommand> commands;
  std::vector<int> slots;
  for (size_t c : group) {
    RespArgs mget;
    mget.Add("MGET");
    for (size_t i : call.customers[c].checks) mget.Add(SeenKey(call.prefixes[i], call.checks[i].event_id));
    mget.Add(call.customers[c].key);
    commands.push_back(mget.Command());
    slots.push_back(call.customers[c].slot);
  }
  std::vector<absl::StatusOr<RedisReplyPtr>> read = call.cluster.Execute(commands, slots, call.deadline);
  for (size_t k = 0; k < group.size(); ++k) {
    Customer& customer = call.customers[group[k]];
    if (absl::Status s = ClusterCall::StatusOf(read[k]); !s.ok()) {
      call.Fail(customer, s);
      continue;
    }
    const redisReply& values = **read[k];
    if (values.type != REDIS_REPLY_ARRAY || values.elements != customer.checks.size() + 1) {
      call.Fail(customer, absl::InternalError("redis MGET: unexpected reply"));
      continue;
    }
    for (size_t j = 0; j < customer.checks.size(); ++j) seen[customer.checks[j]] = values.element[j];
    Draft(call.checks, *values.element[customer.checks.size()], older_layouts, customer, probe);
    probe_customer.resize(probe.size(), group[k]);
  }
  return read;
}

// Round 1b: OlderLayoutProbe per check in `probe` (of customer probe_customer[k]); nothing_older[i] set for each the
// older layouts hold nothing of.
void ClusterProbe(ClusterCall& call, const std::vector<size_t>& probe, const std::vector<size_t>& probe_customer,
                  std::vector<char>& nothing_older) {
  std::vector<RedisCommand> commands;
  std::vector<int> slots;
  for (size_t k = 0; k < probe.size(); ++k) {
    // a cluster has no legacy layout (its keys are in other slots)
    commands.push_back(OlderLayoutProbe(call.checks[probe[k]], call.prefixes[probe[k]], /*legacy_keys=*/false));
    slots.push_back(call.customers[probe_customer[k]].slot);
  }
  const std::vector<absl::StatusOr<RedisReplyPtr>> found = call.cluster.Execute(commands, slots, call.deadline);
  for (size_t k = 0; k < probe.size(); ++k) {
    if (absl::Status s = ClusterCall::StatusOf(found[k]); !s.ok()) {
      call.Fail(call.customers[probe_customer[k]], s);
      continue;
    }
    nothing_older[probe[k]] = NothingOlder(**found[k]);
  }
}

// Round 2: each customer of `writes` written with cas.lua or SET NX (WriteCommand); one changed since it was read is
// check.lua's (Customer::script).
void ClusterWrite(ClusterCall& call, const std::vector<size_t>& writes) {
  std::vector<RedisCommand> commands;
  std::vector<int> slots;
  std::vector<char> set_nx(writes.size());
  for (size_t k = 0; k < writes.size(); ++k) {
    bool nx = false;
    commands.push_back(WriteCommand(call.cas_sha, call.customers, {writes[k]}, call.prefixes, &nx));
    set_nx[k] = nx;
    slots.push_back(call.customers[writes[k]].slot);
  }
  const std::vector<absl::StatusOr<RedisReplyPtr>> wrote = call.cluster.Execute(commands, slots, call.deadline);
  for (size_t k = 0; k < writes.size(); ++k) {
    Customer& customer = call.customers[writes[k]];
    absl::Status s = ClusterCall::StatusOf(wrote[k]);
    absl::StatusOr<std::vector<bool>> written = s.ok() ? Written(**wrote[k], 1, set_nx[k] != 0)
                                                       : absl::StatusOr<std::vector<bool>>(s);
    if (!written.ok()) {
      call.Fail(customer, written.status());
    } else if (!written->front()) {
      customer.script = true;  // changed since read: check.lua decides
    }
  }
}

// ClusterCasCheckAndReserve's rounds for the customers `group` of one master; returns the checks check.lua is to
// decide (ClusterCheckEach), ascending.
std::vector<size_t> CasOnNode(ClusterCall& call, std::span<const size_t> group, bool older_layouts,
                              int64_t seen_ttl_ms) {
  std::vector<const redisReply*> seen(call.checks.size());
  std::vector<size_t> probe;
  std::vector<size_t> probe_customer;
  const std::vector<absl::StatusOr<RedisReplyPtr>> read =
      ClusterRead(call, group, older_layouts, seen, probe, probe_customer);  // `seen` views into it
  std::vector<char> nothing_older(call.checks.size(), 0);
  if (!probe.empty()) ClusterProbe(call, probe, probe_customer, nothing_older);
  std::vector<size_t> writes;
  for (size_t c : group) {
    if (Decide(call.checks, seen, call.customers[c], nothing_older, seen_ttl_ms, call.results)) writes.push_back(c);
  }
  if (!writes.empty()) ClusterWrite(call, writes);
  return ScriptChecks(call.customers, group);
}

}  // namespace

// On a Redis Cluster a customer's keys share one slot (its hash tag), but a call's customers are in many, and
// MULTI/EXEC and multi-key commands take one slot: so each customer gets commands of its own. The customers of each
// master (the slot map's) go through the rounds below on their own, on a thread each (TaskThreads), so a
// master that does not answer takes only its own customers' time (the deadline) and fails only their checks. Each
// round is one RedisCluster::Execute (pipelined, redirections followed):
//   1. per customer one MGET of its checks' marker keys and its key;
//   1b. (older layouts looked in) one EXISTS per check CustomerDraft::LooksInOlderLayouts names;
//   2. its checks decided in tactd (CustomerDraft), and its key written with cas.lua, or SET NX PX (WriteCommand);
//   3. check.lua, one EVALSHA per check (ClusterCheckEach), for the customers tactd leaves to it and those whose key
//      changed since 1.
// Never applied twice: rounds 1 and 1b write nothing; round 2 writes only a key still as read, and a redirection is
// answered instead of running it; a timeout there leaves the effect unknown, and a retry finds the event's marker
// (written with the customer's key) and returns that decision, as with check.lua.
absl::StatusOr<std::vector<CheckResult>> RedisCounterStore::ClusterCasCheckAndReserve(
    std::span<const CustomerCheck> checks, absl::Time deadline) {
  const size_t n = checks.size();
  const bool older_layouts = LooksInOlderLayouts();  // one answer for the whole call
  std::vector<std::string> prefixes;
  std::vector<Customer> customers = Group(checks, keys_, prefixes);
  std::vector<int> slots;
  for (Customer& c : customers) slots.push_back(c.slot = KeySlot(c.key));
  const RedisCluster::NodeGroups masters = cluster_->MastersOf(slots, deadline);
  // Customers per master, and last those of no master known (one group: Execute fails them, or finds their master
  // after a refresh).
  std::vector<std::vector<size_t>> groups(masters.nodes.size() + 1);
  for (size_t c = 0; c < customers.size(); ++c) {
    groups[masters.node_of[c] < 0 ? masters.nodes.size() : static_cast<size_t>(masters.node_of[c])].push_back(c);
  }
  std::erase_if(groups, [](const std::vector<size_t>& g) { return g.empty(); });
  std::vector<CheckResult> results(n);  // each group writes its own customers' checks' only
  ClusterCall call{.cluster = *cluster_, .cas_sha = cas_sha_, .checks = checks, .prefixes = prefixes,
                   .customers = customers, .deadline = deadline, .results = results};
  auto run = [&](const std::vector<size_t>& group) {
    const std::vector<size_t> again =
        CasOnNode(call, group, older_layouts, absl::ToInt64Milliseconds(settings_.seen_ttl));
    if (!again.empty()) ClusterCheckEach(checks, prefixes, again, deadline, results);
  };
  cluster_threads_.Run(groups.size(), [&](size_t g) { run(groups[g]); });
  return UnlessAllFailed(std::move(results));
}

}  // namespace tact::store
