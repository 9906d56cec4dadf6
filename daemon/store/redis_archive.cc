// RedisCounterStore's archive (CounterStore::PutArchived / GetArchived): one string per name, "tact:archive:{<name>}"
// (keys.h ArchiveKey), written with SET PX and read with GET. On a single node the command goes on a pooled
// connection with the call's deadline as its timeout, as every call; on a Redis Cluster to the master of the
// name's slot (its hash tag), following MOVED, ASK and TRYAGAIN as every routed call (redis_cluster.h).
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_check_call.h"
#include "daemon/store/redis_counter_store.h"

namespace tact::store {

absl::StatusOr<RedisReplyPtr> RedisCounterStore::KeyCommand(const RedisCommand& command, const std::string& key,
                                                            absl::Time deadline, std::string_view what) {
  RedisReplyPtr reply;
  if (cluster_ != nullptr) {
    const RedisCommand commands[] = {command};
    const int slots[] = {KeySlot(key)};
    absl::StatusOr<RedisReplyPtr> r = std::move(cluster_->Execute(commands, slots, deadline).front());
    if (!r.ok()) return r.status();
    reply = *std::move(r);
  } else {
    absl::StatusOr<RedisConnectionPtr> conn = BorrowUntil(deadline);
    if (!conn.ok()) return conn.status();
    command.AppendTo(**conn);
    absl::StatusOr<RedisReplyPtr> r = (*conn)->GetReply(what);
    if (!r.ok()) return r.status();  // the connection is dropped (its pending replies are lost)
    Return(*std::move(conn));
    reply = *std::move(r);
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("redis ", AsAbsl(what), ": ", absl::string_view(reply->str, reply->len)));
  }
  return reply;
}

absl::Status RedisCounterStore::PutArchived(std::string_view name, std::string_view text, absl::Duration ttl,
                                            absl::Time deadline) {
  if (absl::Status s = CheckArchiveName(name); !s.ok()) return s;
  if (absl::Status s = CheckArchiveTtl(ttl); !s.ok()) return s;
  const std::string key = ArchiveKey(name);
  const std::string ttl_ms = absl::StrCat(absl::ToInt64Milliseconds(ttl));
  absl::StatusOr<RedisReplyPtr> reply = KeyCommand(RedisCommand({"SET", key, text, "PX", ttl_ms}), key, deadline,
                                                   "SET archive");
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_STATUS) return absl::UnavailableError("redis SET archive: unexpected reply");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> RedisCounterStore::GetArchived(std::string_view name,
                                                                          absl::Time deadline) {
  if (absl::Status s = CheckArchiveName(name); !s.ok()) return s;
  const std::string key = ArchiveKey(name);
  absl::StatusOr<RedisReplyPtr> reply = KeyCommand(RedisCommand({"GET", key}), key, deadline, "GET archive");
  if (!reply.ok()) return reply.status();
  const redisReply& r = **reply;
  if (r.type == REDIS_REPLY_NIL) return std::optional<std::string>();
  if (r.type != REDIS_REPLY_STRING) return absl::UnavailableError("redis GET archive: unexpected reply");
  return std::optional<std::string>(std::string(r.str, r.len));
}

}  // namespace tact::store
