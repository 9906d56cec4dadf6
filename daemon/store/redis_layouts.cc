// RedisCounterStore::CountLayouts: how many customer keys each layout has, for `tactctl store layouts`.
//
// `SCAN <cursor> MATCH tact:{* COUNT 1000` over the whole keyspace (on a Redis Cluster over every master's, as
// ForgetCustomer scans a prefix without a hash tag: redis_forget.cc), each key classified by name (ClassifyKey),
// and a pipelined `TYPE` of each page's `seen:` keys under the keyed hash tag (a string is store v2's marker, a
// hash layout v1's). One pass over the keyspace in pages of 1000, fine for an operator, not for the decision path.
//
// The layout seal (keys.h kLayoutSealKey) says a Redis has no key of an older layout: tactd reads it from its health
// loop (RefreshLayouts) and stops looking in the older layouts, and seals a small single node that has shown no key
// of an older layout for kAutoSealAfter since it started.
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"
#include "daemon/store/keys.h"
#include "daemon/store/layouts.h"
#include "daemon/store/redis_check_call.h"
#include "daemon/store/redis_counter_store.h"

namespace tact::store {

KeyLayout ClassifyKey(std::string_view key) {
  constexpr std::string_view kTag = "tact:{";
  if (!key.starts_with(kTag)) return KeyLayout::kOther;
  const std::string_view rest = key.substr(kTag.size());
  bool keyed = rest.size() >= 34 && rest.substr(32, 2) == "}:";
  for (size_t i = 0; keyed && i < 32; ++i) {
    keyed = absl::ascii_isdigit(static_cast<unsigned char>(rest[i])) || (rest[i] >= 'a' && rest[i] <= 'f');
  }
  if (!keyed) return KeyLayout::kLegacy;  // its tag holds "<tenant>:<customer>": never 32 hex digits and "}:"
  const std::string_view suffix = rest.substr(34);
  if (suffix.starts_with("seen:")) return KeyLayout::kMarker;
  if (suffix == "idx" || suffix == "sig" || suffix.starts_with("r:") || suffix.starts_with("c:")) {
    return KeyLayout::kV1;
  }
  return KeyLayout::kV2;
}

namespace {

constexpr std::string_view kScanCount = "1000";

std::string_view Text(const redisReply* r) { return std::string_view(r->str, r->len); }

absl::Status BadReply(const redisReply& r, std::string_view what) {
  return absl::UnavailableError(absl::StrCat("redis ", AsAbsl(what), ": ",
                                             r.type == REDIS_REPLY_ERROR ? AsAbsl(Text(&r)) : "unexpected reply"));
}

// Counts the keys of one SCAN page (`keys`, an array) by name; returns a TYPE of each decision marker.
std::vector<RedisCommand> CountPage(const redisReply& keys, LayoutCounts& counts) {
  std::vector<RedisCommand> types;
  for (size_t i = 0; i < keys.elements; ++i) {
    const std::string_view key = Text(keys.element[i]);
    switch (ClassifyKey(key)) {
      case KeyLayout::kV2: ++counts.v2; break;
      case KeyLayout::kV1: ++counts.v1; break;
      case KeyLayout::kLegacy: ++counts.legacy; break;
      case KeyLayout::kMarker: types.push_back(RedisCommand({"TYPE", key})); break;
      case KeyLayout::kOther: break;
    }
  }
  return types;
}

// Counts the decision markers by the replies of CountPage's TYPEs: a hash is layout v1's, a string store v2's.
absl::Status CountMarkers(const std::vector<RedisReplyPtr>& kinds, LayoutCounts& counts) {
  for (const RedisReplyPtr& kind : kinds) {
    if (kind->type != REDIS_REPLY_STATUS && kind->type != REDIS_REPLY_STRING) return BadReply(*kind, "TYPE");
    const std::string_view name = Text(kind.get());
    if (name == "hash") {
      ++counts.v1;
    } else if (name != "none") {  // "none": expired since the SCAN
      ++counts.v2;
    }
  }
  return absl::OkStatus();
}

// `commands` on one node, in order (`node` of `cluster`, or `conn`): their replies, or the first failure.
absl::StatusOr<std::vector<RedisReplyPtr>> RunOn(RedisCluster* cluster, const NodeAddress* node,
                                                 RedisConnection* conn, const std::vector<RedisCommand>& commands,
                                                 absl::Time deadline) {
  std::vector<RedisReplyPtr> replies;
  if (node != nullptr) {
    for (absl::StatusOr<RedisReplyPtr>& r : cluster->ExecuteOn(*node, commands, deadline, "SCAN")) {
      if (!r.ok()) return r.status();
      replies.push_back(*std::move(r));
    }
    return replies;
  }
  for (const RedisCommand& c : commands) c.AppendTo(*conn);
  for (size_t i = 0; i < commands.size(); ++i) {
    absl::StatusOr<RedisReplyPtr> r = conn->GetReply("SCAN");
    if (!r.ok()) return r.status();
    replies.push_back(*std::move(r));
  }
  return replies;
}

}  // namespace

absl::Status RedisCounterStore::CountLayoutsOn(RedisConnection* conn, const NodeAddress* node, absl::Time deadline,
                                               LayoutCounts& counts) {
  auto run = [&](const std::vector<RedisCommand>& commands) {
    return RunOn(cluster_.get(), node, conn, commands, deadline);
  };
  std::string cursor = "0";
  do {
    if (clock_.Now() >= deadline) return absl::DeadlineExceededError("redis: deadline passed while scanning");
    absl::StatusOr<std::vector<RedisReplyPtr>> page =
        run({RedisCommand({"SCAN", cursor, "MATCH", "tact:{*", "COUNT", kScanCount})});
    if (!page.ok()) return page.status();
    const redisReply& r = *page->front();
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 2 || r.element[0]->type != REDIS_REPLY_STRING ||
        r.element[1]->type != REDIS_REPLY_ARRAY) {
      return BadReply(r, "SCAN");
    }
    cursor = std::string(Text(r.element[0]));
    const std::vector<RedisCommand> types = CountPage(*r.element[1], counts);
    if (types.empty()) continue;
    absl::StatusOr<std::vector<RedisReplyPtr>> kinds = run(types);
    if (!kinds.ok()) return kinds.status();
    if (absl::Status s = CountMarkers(*kinds, counts); !s.ok()) return s;
  } while (cursor != "0");
  return absl::OkStatus();
}

absl::StatusOr<LayoutCounts> RedisCounterStore::CountLayouts(absl::Time deadline) {
  LayoutCounts counts;
  if (cluster_ != nullptr) {
    absl::StatusOr<std::vector<NodeAddress>> masters = cluster_->Masters(deadline);
    if (!masters.ok()) return masters.status();
    for (const NodeAddress& node : *masters) {
      if (absl::Status s = CountLayoutsOn(nullptr, &node, deadline, counts); !s.ok()) return s;
    }
    return counts;
  }
  absl::StatusOr<RedisConnectionPtr> conn = BorrowUntil(deadline);
  if (!conn.ok()) return conn.status();
  if (absl::Status s = CountLayoutsOn(conn->get(), nullptr, deadline, counts); !s.ok()) return s;
  Return(*std::move(conn));
  return counts;
}

absl::StatusOr<bool> RedisCounterStore::LayoutsSealed(absl::Time deadline) {
  const std::string key(kLayoutSealKey);
  absl::StatusOr<RedisReplyPtr> r = KeyCommand(RedisCommand({"GET", key}), key, deadline, "GET layout seal");
  if (!r.ok()) return r.status();
  if ((*r)->type == REDIS_REPLY_NIL) return false;
  if ((*r)->type != REDIS_REPLY_STRING) return BadReply(**r, "GET layout seal");
  return Text(r->get()) == kLayoutSealValue;
}

absl::Status RedisCounterStore::SealLayouts(bool sealed, absl::Time deadline) {
  const std::string key(kLayoutSealKey);
  const RedisCommand command = sealed ? RedisCommand({"SET", key, kLayoutSealValue}) : RedisCommand({"DEL", key});
  return KeyCommand(command, key, deadline, sealed ? "SET layout seal" : "DEL layout seal").status();
}

RedisCounterStore::AutoSealStep RedisCounterStore::AutoSeal(absl::Time deadline) {
  if (cluster_ != nullptr) return AutoSealStep::kNever;  // a Redis Cluster is sealed by tactctl
  absl::StatusOr<RedisReplyPtr> size = KeyCommand(RedisCommand({"DBSIZE"}), "", deadline, "DBSIZE");
  if (!size.ok() || (*size)->type != REDIS_REPLY_INTEGER) return AutoSealStep::kWait;
  if ((*size)->integer > kAutoSealMaxKeys) return AutoSealStep::kNever;
  absl::StatusOr<LayoutCounts> counts = CountLayouts(deadline);
  if (!counts.ok()) return AutoSealStep::kWait;
  if (counts->v1 > 0 || counts->legacy > 0) return AutoSealStep::kNever;
  const absl::Time now = clock_.Now();
  if (auto_seal_clean_since_ == absl::InfiniteFuture()) auto_seal_clean_since_ = now;
  if (now - auto_seal_clean_since_ < kAutoSealAfter) return AutoSealStep::kWait;
  return SealLayouts(true, deadline).ok() ? AutoSealStep::kSealed : AutoSealStep::kWait;
}

void RedisCounterStore::RefreshLayouts(absl::Time deadline) {
  if (!settings_.older_layouts) return;  // never looked in: nothing to learn
  const absl::Time now = clock_.Now();
  if (now < next_seal_read_) return;
  next_seal_read_ = now + kLayoutSealRefresh;
  absl::StatusOr<bool> sealed = LayoutsSealed(deadline);
  if (!sealed.ok()) return;  // Redis unreachable: as it was, read again next time
  std::string_view why = *sealed ? "the Redis carries the layout seal" : "the layout seal was removed";
  if (*sealed) auto_seal_ = AutoSealStep::kNever;  // sealed once: an unseal (a rollback) is not undone here
  // A fresh deployment's Redis is sealed here once it has shown no key of an older layout for kAutoSealAfter, so it
  // soon stops paying the lookup; anything bigger is counted by an operator (`tactctl store layouts --seal`).
  if (!*sealed && auto_seal_ == AutoSealStep::kWait) {
    auto_seal_ = AutoSeal(deadline);
    if (auto_seal_ == AutoSealStep::kSealed) {
      sealed = true;
      why = "no key of an older layout on this Redis since start: sealed it";
    }
  }
  const bool look = !*sealed;
  if (older_layouts_.exchange(look, std::memory_order_relaxed) != look) {
    ops::Log(ops::LogLevel::kInfo, "store.older_layouts",
             {{"looked_in", look ? "true" : "false"}, {"why", std::string(why)}});
  }
}

}  // namespace tact::store
