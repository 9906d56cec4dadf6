// RedisCounterStore on Redis Cluster: each operation routed by its customer's slot (redis_cluster.h).
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

}  // namespace

// One EVALSHA per check, each to the master of its customer's slot (the slot of the call's first key: every key of
// a check carries its customer's hash tag). The checks of one node go pipelined on one connection in the batch's
// order, so two checks of one customer run in order; the nodes work in parallel. A check whose node fails gets
// its own status (the others are decided); a call whose every check failed fails as a whole.
//
// Never applied twice, never lost: a MOVED, ASK, TRYAGAIN or CLUSTERDOWN answer means the script did not run
// (Redis checks the slot before running it), so sending it to the owner named is its first run. The only check
// whose effect is unknown is one whose node stopped answering after it was sent (a timeout): it fails
// (UNAVAILABLE, the class's fail mode) and, retried later by the caller, finds the event-id marker its first run
// stored in the same atomic script if that run reserved, and returns that run's decision (a duplicate).
absl::StatusOr<std::vector<CheckResult>> RedisCounterStore::ClusterCheckAndReserve(
    std::span<const CustomerCheck> checks, absl::Time deadline) {
  std::vector<RedisCommand> commands;
  std::vector<int> slots;
  commands.reserve(checks.size());
  slots.reserve(checks.size());
  for (const CustomerCheck& check : checks) {
    commands.push_back(BuildCall(script_sha_, {&check, 1}, settings_.seen_ttl, keys_, /*legacy_keys=*/false));
    slots.push_back(KeySlot(FirstEvalKey(commands.back().wire).value_or("")));
  }
  std::vector<absl::StatusOr<RedisReplyPtr>> replies = cluster_->Execute(commands, slots, deadline);
  std::vector<CheckResult> results(checks.size());
  size_t failed = 0;
  absl::Status first_failure;
  for (size_t i = 0; i < checks.size(); ++i) {
    absl::Status s = ReplyStatus(replies[i]);
    if (s.ok()) {
      absl::StatusOr<std::vector<CheckResult>> parsed = ParseCallReply(**replies[i], 1);
      if (parsed.ok()) {
        results[i] = std::move(parsed->front());
        continue;
      }
      s = parsed.status();
    }
    results[i].status = s;
    if (failed++ == 0) first_failure = s;
  }
  if (failed == checks.size() && failed > 0) {
    return first_failure;
  }
  return results;
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
