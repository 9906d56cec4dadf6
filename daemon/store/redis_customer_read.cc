// RedisCounterStore::ReadCustomer: one customer's live counters and signals, read without writing anything.
#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/customer_blob.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_check_call.h"
#include "daemon/store/redis_counter_store.h"

namespace tact::store {
namespace {

std::string_view Text(const redisReply* r) { return std::string_view(r->str, r->len); }

// Sends `commands` pipelined on `c` and returns their replies in order; an error reply is UNAVAILABLE. A
// connection that saw an I/O error is dropped by the caller (its pending replies are lost).
absl::StatusOr<std::vector<RedisReplyPtr>> RoundTrip(RedisConnection& c, const std::vector<RedisCommand>& commands) {
  for (const RedisCommand& cmd : commands) cmd.AppendTo(c);
  std::vector<RedisReplyPtr> replies;
  for (size_t i = 0; i < commands.size(); ++i) {
    absl::StatusOr<RedisReplyPtr> reply = c.GetReply("read customer");
    if (!reply.ok()) return reply.status();
    replies.push_back(*std::move(reply));
    if (replies.back()->type == REDIS_REPLY_ERROR) {
      return absl::UnavailableError(absl::StrCat("redis: ", AsAbsl(Text(replies.back().get()))));
    }
  }
  return replies;
}

// A counter the customer's index lists as not empty yet, of one of the families read.
struct LiveCounter {
  const CounterFamily* family;
  std::string suffix;
  int64_t empty_at;
};

std::vector<LiveCounter> LiveCounters(const redisReply& idx, std::span<const CounterFamily> families, int64_t now) {
  std::vector<LiveCounter> live;
  for (size_t j = 0; idx.type == REDIS_REPLY_ARRAY && j + 1 < idx.elements; j += 2) {
    int64_t empty_at = 0;
    if (!absl::SimpleAtoi(AsAbsl(Text(idx.element[j + 1])), &empty_at) || empty_at <= now) continue;
    const std::string_view suffix = Text(idx.element[j]);
    for (const CounterFamily& f : families) {
      if (InFamily(suffix, f)) {
        live.push_back({&f, std::string(suffix), empty_at});
        break;
      }
    }
  }
  return live;
}

std::vector<SignalState> LiveSignals(const redisReply& sig, int64_t now) {
  std::vector<SignalState> out;
  for (size_t j = 0; sig.type == REDIS_REPLY_ARRAY && j + 1 < sig.elements; j += 2) {
    int64_t at = 0;
    int64_t expires = 0;
    if (!ParseSignalValue(Text(sig.element[j + 1]), &at, &expires) || (expires != 0 && expires <= now)) {
      continue;
    }
    out.push_back({.field = std::string(Text(sig.element[j])),
                   .at = absl::FromUnixMillis(at),
                   .expires_at = expires == 0 ? absl::InfiniteFuture() : absl::FromUnixMillis(expires)});
  }
  return out;
}

// Rolling: the count in the window and its oldest member (two replies); calendar: the period's counter (one).
std::vector<RedisCommand> CounterReads(const std::string& prefix, std::span<const LiveCounter> live, int64_t now) {
  std::vector<RedisCommand> reads;
  for (const LiveCounter& l : live) {
    const std::string key = prefix + l.suffix;
    if (l.family->kind == WindowKind::kRolling) {
      const std::string after = absl::StrCat("(", now - absl::ToInt64Milliseconds(l.family->window));
      reads.push_back({"ZCOUNT", key, after, "+inf"});
      reads.push_back({"ZRANGEBYSCORE", key, after, "+inf", "WITHSCORES", "LIMIT", "0", "1"});
    } else {
      reads.push_back({"GET", key});
    }
  }
  return reads;
}

// The replies of CounterReads(live): the counters with something counted, sorted by suffix.
std::vector<CounterState> ParseCounters(std::span<const LiveCounter> live, const std::vector<RedisReplyPtr>& replies) {
  std::vector<CounterState> out;
  size_t r = 0;
  for (const LiveCounter& l : live) {
    CounterState cs{.rule_id = l.family->rule_id, .counter = l.suffix};
    if (l.family->kind == WindowKind::kRolling) {
      const redisReply& count = *replies[r++];
      const redisReply& oldest = *replies[r++];
      cs.used = count.type == REDIS_REPLY_INTEGER ? count.integer : 0;
      int64_t score = 0;
      if (oldest.type == REDIS_REPLY_ARRAY && oldest.elements == 2 &&
          absl::SimpleAtoi(AsAbsl(Text(oldest.element[1])), &score)) {
        cs.frees_at = absl::FromUnixMillis(score + absl::ToInt64Milliseconds(l.family->window));
      }
    } else {
      const redisReply& value = *replies[r++];
      if (value.type == REDIS_REPLY_STRING) absl::SimpleAtoi(AsAbsl(Text(&value)), &cs.used);
      cs.frees_at = absl::FromUnixMillis(l.empty_at);
    }
    if (cs.used > 0) out.push_back(std::move(cs));
  }
  std::sort(out.begin(), out.end(), [](const CounterState& a, const CounterState& b) { return a.counter < b.counter; });
  return out;
}

// Store v2: the state in the customer's one key (check.lua), as ParseCounters and LiveSignals give it.
CustomerState FromBlob(const CustomerBlob& blob, std::span<const CounterFamily> families, int64_t now) {
  CustomerState state;
  for (const CustomerBlob::Counter& c : blob.counters) {
    if (c.empty_at_ms <= now) continue;
    const CounterFamily* family = nullptr;
    for (const CounterFamily& f : families) {
      if (InFamily(c.suffix, f)) {
        family = &f;
        break;
      }
    }
    if (family == nullptr) continue;
    CounterState cs{.rule_id = family->rule_id, .counter = c.suffix};
    if (family->kind == WindowKind::kRolling) {
      const int64_t window = absl::ToInt64Milliseconds(family->window);
      for (int64_t t : c.times) {
        if (t <= now - window) continue;
        if (cs.used++ == 0) cs.frees_at = absl::FromUnixMillis(t + window);
      }
    } else {
      cs.used = c.count;
      cs.frees_at = absl::FromUnixMillis(c.empty_at_ms);
    }
    if (cs.used > 0) state.counters.push_back(std::move(cs));
  }
  for (const CustomerBlob::Signal& g : blob.signals) {
    if (g.expires_ms != 0 && g.expires_ms <= now) continue;
    state.signals.push_back({.field = g.field,
                             .at = absl::FromUnixMillis(g.at_ms),
                             .expires_at = g.expires_ms == 0 ? absl::InfiniteFuture() : absl::FromUnixMillis(g.expires_ms)});
  }
  std::sort(state.counters.begin(), state.counters.end(),
            [](const CounterState& a, const CounterState& b) { return a.counter < b.counter; });
  std::sort(state.signals.begin(), state.signals.end(),
            [](const SignalState& a, const SignalState& b) { return a.field < b.field; });
  return state;
}

}  // namespace

absl::StatusOr<CustomerState> RedisCounterStore::ReadCustomer(const CustomerRead& read, absl::Time deadline) {
  absl::StatusOr<RedisConnectionPtr> conn = cluster_ != nullptr ? RedisConnectionPtr() : BorrowUntil(deadline);
  if (!conn.ok()) {
    return conn.status();
  }
  // Pipelined reads on the customer's own keys: the index names the counters (no keyspace scan).
  std::string prefix = keys_.CustomerPrefix(read.tenant, read.customer_id);
  auto round_trip = [&](RedisConnectionPtr& c, const std::vector<RedisCommand>& commands) {
    return cluster_ != nullptr ? ClusterRoundTrip(commands, KeySlot(prefix), deadline) : RoundTrip(*c, commands);
  };
  const std::string legacy = LegacyPrefix(read.tenant, read.customer_id);
  const int64_t now = absl::ToUnixMillis(read.now);
  // Store v2's one key first; a customer not written by it yet is read in layout v1 (or the legacy layout), or,
  // with older_layouts off, has nothing stored.
  std::vector<RedisCommand> index_and_signals;
  const bool older_layouts = LooksInOlderLayouts();
  if (older_layouts) {
    index_and_signals = {{"HGETALL", IndexKey(prefix)}, {"HGETALL", SignalsKey(prefix)}};
  }
  if (!legacy.empty()) {
    index_and_signals.push_back({"HGETALL", IndexKey(legacy)});
    index_and_signals.push_back({"HGETALL", SignalsKey(legacy)});
  }
  index_and_signals.push_back({"GET", CustomerKey(prefix)});
  absl::StatusOr<std::vector<RedisReplyPtr>> first = round_trip(*conn, index_and_signals);
  if (!first.ok()) {
    return first.status();
  }
  if (const redisReply& v2 = *first->back(); v2.type == REDIS_REPLY_STRING) {
    std::optional<CustomerBlob> blob = ParseCustomerBlob(Text(&v2));
    if (!blob) {
      return absl::InternalError("redis: the customer's key is not in store v2's encoding");
    }
    if (*conn != nullptr) Return(*std::move(conn));
    return FromBlob(*blob, read.families, now);
  }
  if (!older_layouts) {
    if (*conn != nullptr) Return(*std::move(conn));
    return CustomerState{};
  }
  // A customer not moved to the new layout yet (legacy.lua moves it on its next check or signal) is read where it
  // is; a read writes nothing.
  auto empty = [](const RedisReplyPtr& r) { return r->type != REDIS_REPLY_ARRAY || r->elements == 0; };
  if (!legacy.empty() && empty((*first)[0]) && empty((*first)[1])) {
    prefix = legacy;
    (*first)[0] = std::move((*first)[2]);
    (*first)[1] = std::move((*first)[3]);
  }
  const std::vector<LiveCounter> live = LiveCounters(*(*first)[0], read.families, now);
  CustomerState state;
  state.signals = LiveSignals(*(*first)[1], now);
  absl::StatusOr<std::vector<RedisReplyPtr>> second = round_trip(*conn, CounterReads(prefix, live, now));
  if (!second.ok()) {
    return second.status();
  }
  if (*conn != nullptr) Return(*std::move(conn));
  state.counters = ParseCounters(live, *second);
  std::sort(state.signals.begin(), state.signals.end(),
            [](const SignalState& a, const SignalState& b) { return a.field < b.field; });
  return state;
}

}  // namespace tact::store
