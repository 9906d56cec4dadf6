#include "daemon/store/redis_check_call.h"

#include <algorithm>
#include <charconv>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/core/strings.h"
#include "daemon/store/customer_blob.h"

namespace tact::store {

RedisCommand::RedisCommand(std::initializer_list<std::string_view> args) {
  RespArgs a;
  for (std::string_view arg : args) a.Add(arg);
  wire = a.Command().wire;
}

namespace {

int64_t ToMillis(absl::Time t) { return absl::ToUnixMillis(t); }

// What a customer with no state gets from `spec` (check.lua's shortcut, its header): no signal field holds, no
// counter is used. 'R': released, counted and its marker written; 'S': final, only the marker; 'D': nothing
// written; '-': not taken (a limit of count < 1: check.lua works it out).
char FreshCode(const CheckSpec& spec) {
  StoreOutcome none;
  none.signals.resize(spec.signals.size());
  for (const LimitSpec& l : spec.limits) {
    if (l.count < 1) return '-';
    none.usage.push_back({.used = 0, .frees_at = absl::InfinitePast()});
  }
  if (ShouldReserve(spec, none)) return 'R';
  return IsFinal(spec, none) ? 'S' : 'D';
}

// The shortcut's args of a spec: `fresh`, the key's expiry (ms from now: its last thing, the marker or a counter's
// keep, as check.lua's store() sets it) and the stored outcome ("<reserved>|0:-1,...|0:0,...|").
void AppendFresh(const CheckSpec& spec, char fresh, int64_t now_ms, int64_t seen_ttl_ms, RespArgs& out) {
  out.Add(std::string_view(&fresh, 1));
  int64_t latest = now_ms + seen_ttl_ms;
  for (const LimitSpec& l : spec.limits) {
    if (fresh == 'R') latest = std::max(latest, EmptyAtMs(l, now_ms) + kCounterKeepMs);
  }
  out.Add(latest - now_ms);
  std::string outcome = fresh == 'R' ? "1|" : "0|";
  for (size_t i = 0; i < spec.signals.size(); ++i) outcome += i == 0 ? "0:-1" : ",0:-1";
  outcome += "|";
  for (size_t i = 0; i < spec.limits.size(); ++i) outcome += i == 0 ? "0:0" : ",0:0";
  outcome += "|";
  out.Add(outcome);
}

// The check's spec at `now_ms` as check.lua reads it: quiet, #limits, #signal checks, the signal checks' arg count,
// the shortcut for a customer with no state (`fresh`, the key's expiry then, the stored outcome then), each limit
// with the numbers its writes need, then the signal checks.
void AppendSpec(const CheckSpec& spec, char fresh, int64_t now_ms, int64_t seen_ttl_ms, RespArgs& out) {
  int64_t signal_args = 0;
  for (const SignalSpec& s : spec.signals) signal_args += 4 + static_cast<int64_t>(s.fields.size());
  out.Add(QuietCode(spec));
  out.Add(static_cast<int64_t>(spec.limits.size()));
  out.Add(static_cast<int64_t>(spec.signals.size()));
  out.Add(signal_args);
  AppendFresh(spec, fresh, now_ms, seen_ttl_ms, out);
  for (const LimitSpec& l : spec.limits) {
    const bool rolling = l.kind == WindowKind::kRolling;
    const int64_t window = absl::ToInt64Milliseconds(l.window);
    const int64_t end = PeriodEndMs(l);
    out.Add(rolling ? "r" : "c");
    out.Add(l.count);
    // A calendar counter's ttl is relative to tactd's now: an absolute PEXPIREAT would follow Redis' clock, and
    // with tactd's clock behind it the counter of a period tactd still counts in would vanish at once.
    out.Add(rolling ? window : std::max<int64_t>(1, end - now_ms));
    out.Add(rolling ? now_ms - window : end);
    out.Add(EmptyAtMs(l, now_ms));
    out.Add(l.decisive ? "1" : "0");
    out.Add(l.suppress_on_exceed ? "1" : "0");
  }
  for (const SignalSpec& s : spec.signals) {
    out.Add(s.decisive ? "1" : "0");
    out.Add(SinceMs(s));
    out.Add(absl::ToInt64Milliseconds(s.hold));
    out.Add(static_cast<int64_t>(s.fields.size()));
    for (const std::string& f : s.fields) {
      out.Add(f);
    }
  }
}

// The start of the key check.lua's shortcut writes for a customer with no state (FreshCode 'R' or 'S'): the header,
// then when counted ('R') one message in each counter (check.lua's store(): the counters in the spec's order,
// rolling: the message's time, calendar: a count of 1), the marker following. Empty: no shortcut (two limits of
// one counter, or 'D' / '-').
std::string FreshHead(const CheckSpec& spec, char fresh, int64_t now_ms) {
  if (fresh != 'R' && fresh != 'S') return "";
  std::string head = "2 0\n";
  if (fresh == 'S') return head;
  for (size_t i = 0; i < spec.limits.size(); ++i) {
    const LimitSpec& l = spec.limits[i];
    for (size_t j = 0; j < i; ++j) {
      if (spec.limits[j].counter == l.counter) return "";
    }
    const int64_t empty_at = EmptyAtMs(l, now_ms);
    if (empty_at + kCounterKeepMs <= now_ms) continue;  // store() leaves out what is past its keep
    absl::StrAppend(&head, "k", l.counter.size(), " ", empty_at, " ",
                    l.kind == WindowKind::kRolling ? now_ms : 1, "\n", AsAbsl(l.counter));
  }
  return head;
}

// BuildCall for `n` checks, check_of(i) the i-th and prefix_of(i) its customer prefix; `node_batch`: the keys
// after the per-check args and none declared (BuildNodeBatchCall).
template <typename CheckOf, typename PrefixOf>
RedisCommand Build(const std::string& sha, size_t n, CheckOf check_of, PrefixOf prefix_of, absl::Duration seen_ttl,
                   bool legacy_keys, bool older_layouts, bool node_batch) {
  const int64_t now_ms = ToMillis(check_of(0).now);
  RespArgs keys;
  RespArgs specs;      // every distinct spec's args, concatenated
  RespArgs per_check;  // spec number, event id, write, marker number, legacy prefix, head number
  absl::flat_hash_map<std::string, int64_t> spec_number;  // a spec's encoding -> its number
  RespArgs markers;    // every distinct marker
  absl::flat_hash_map<std::string_view, int64_t> marker_number;  // a marker -> its number (views into `checks`)
  RespArgs heads;      // every distinct FreshHead
  absl::flat_hash_map<std::string, int64_t> head_number;  // a head -> its number
  const int64_t seen_ttl_ms = absl::ToInt64Milliseconds(seen_ttl);
  RespArgs spec;
  for (size_t i = 0; i < n; ++i) {
    const CustomerCheck& c = check_of(i);
    const CheckSpec& check_spec = c.spec;
    spec.Clear();
    const char fresh = FreshCode(check_spec);
    AppendSpec(check_spec, fresh, now_ms, seen_ttl_ms, spec);
    auto [it, added] = spec_number.try_emplace(spec.body(), static_cast<int64_t>(spec_number.size()) + 1);
    if (added) {
      specs.Add(spec);
    }
    const std::string& prefix = prefix_of(i);
    keys.Add(SeenKey(prefix, c.event_id));
    keys.Add(CustomerKey(prefix));
    per_check.Add(it->second);
    per_check.Add(c.event_id);
    per_check.Add(c.dry_run ? "0" : "1");
    auto [m, new_marker] = marker_number.try_emplace(c.marker, static_cast<int64_t>(marker_number.size()) + 1);
    if (new_marker) {
      markers.Add(c.marker);
    }
    per_check.Add(m->second);
    if (!older_layouts) {
      per_check.Add(kNoOlderLayouts);
    } else {
      per_check.Add(legacy_keys ? KeySchema::LegacyCustomerPrefix(c.tenant, c.customer_id).value_or("") : "");
    }
    std::string head = FreshHead(check_spec, fresh, now_ms);
    if (head.empty()) {
      per_check.Add("0");
    } else {
      auto [h, new_head] = head_number.try_emplace(std::move(head), static_cast<int64_t>(head_number.size()) + 1);
      if (new_head) {
        heads.Add(h->first);
      }
      per_check.Add(h->second);
    }
    for (const LimitSpec& l : check_spec.limits) {
      per_check.Add(l.counter);
    }
  }
  RespArgs all;
  all.Add("EVALSHA");
  all.Add(sha);
  all.Add(node_batch ? 0 : keys.count());
  if (!node_batch) {
    all.Add(keys);
  }
  all.Add(now_ms);
  all.Add(seen_ttl_ms);
  all.Add(static_cast<int64_t>(spec_number.size()));
  all.Add(static_cast<int64_t>(n));
  all.Add(specs);
  all.Add(markers.count());
  all.Add(markers);
  all.Add(heads.count());
  all.Add(heads);
  all.Add(per_check);
  if (node_batch) {
    all.Add(keys);
  }
  return all.Command();
}

}  // namespace

RedisCommand BuildCall(const std::string& sha, std::span<const CustomerCheck> checks, absl::Duration seen_ttl,
                       const KeySchema& schema, bool legacy_keys, bool older_layouts) {
  std::string prefix;
  auto prefix_of = [&](size_t i) -> const std::string& {
    prefix = schema.CustomerPrefix(checks[i].tenant, checks[i].customer_id);
    return prefix;
  };
  auto check_of = [&](size_t i) -> const CustomerCheck& { return checks[i]; };
  return Build(sha, checks.size(), check_of, prefix_of, seen_ttl, legacy_keys, older_layouts, /*node_batch=*/false);
}

RedisCommand BuildCall(const std::string& sha, std::span<const CustomerCheck> checks,
                       std::span<const std::string> prefixes, absl::Duration seen_ttl, bool older_layouts) {
  auto check_of = [&](size_t i) -> const CustomerCheck& { return checks[i]; };
  auto prefix_of = [&](size_t i) -> const std::string& { return prefixes[i]; };
  return Build(sha, checks.size(), check_of, prefix_of, seen_ttl, /*legacy_keys=*/false, older_layouts,
               /*node_batch=*/false);
}

RedisCommand BuildCall(const std::string& sha, std::span<const CustomerCheck> checks,
                       std::span<const std::string> prefixes, std::span<const size_t> items, absl::Duration seen_ttl,
                       bool legacy_keys, bool older_layouts) {
  auto check_of = [&](size_t k) -> const CustomerCheck& { return checks[items[k]]; };
  auto prefix_of = [&](size_t k) -> const std::string& { return prefixes[items[k]]; };
  return Build(sha, items.size(), check_of, prefix_of, seen_ttl, legacy_keys, older_layouts, /*node_batch=*/false);
}

RedisCommand BuildNodeBatchCall(const std::string& sha, std::span<const CustomerCheck> checks,
                                std::span<const std::string> prefixes, std::span<const size_t> items,
                                absl::Duration seen_ttl, bool older_layouts) {
  auto check_of = [&](size_t k) -> const CustomerCheck& { return checks[items[k]]; };
  auto prefix_of = [&](size_t k) -> const std::string& { return prefixes[items[k]]; };
  return Build(sha, items.size(), check_of, prefix_of, seen_ttl, /*legacy_keys=*/false, older_layouts,
               /*node_batch=*/true);
}

namespace {

// A signal check's hit as check.lua replies it: {field, at_ms}.
bool IsSignalHit(const redisReply& r) {
  return r.type == REDIS_REPLY_ARRAY && r.elements == 2 && r.element[0]->type == REDIS_REPLY_STRING &&
         r.element[1]->type == REDIS_REPLY_INTEGER;
}

absl::StatusOr<CheckResult> ParseCheckReply(const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements < 2 || r.element[0]->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError(absl::StrCat("check.lua: unexpected reply type ", r.type));
  }
  CheckResult result;
  if (r.element[0]->integer == 1) {
    if (r.elements != 3 || r.element[1]->type != REDIS_REPLY_STRING || r.element[2]->type != REDIS_REPLY_STRING) {
      return absl::InternalError("check.lua: malformed duplicate reply");
    }
    result.duplicate = true;
    auto outcome = ParseStoredOutcome(std::string_view(r.element[1]->str, r.element[1]->len));
    if (!outcome.ok()) {
      return outcome.status();
    }
    result.outcome = *std::move(outcome);
    result.marker.assign(r.element[2]->str, r.element[2]->len);
    return result;
  }
  if (r.elements < 3 || r.element[1]->type != REDIS_REPLY_INTEGER || r.element[2]->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError("check.lua: malformed reply");
  }
  // element[2] < 0: that many signal checks, none holding, and no pair sent for them.
  const int64_t signals = r.element[2]->integer;
  const size_t nsig = signals < 0 ? 0 : static_cast<size_t>(signals);
  if (3 + 2 * nsig > r.elements || (r.elements - 3 - 2 * nsig) % 2 != 0) {
    return absl::InternalError("check.lua: malformed reply");
  }
  for (size_t i = 1; i < r.elements; ++i) {
    if (r.element[i]->type != REDIS_REPLY_INTEGER && !(i < 3 + 2 * nsig && i % 2 == 1 && IsSignalHit(*r.element[i]))) {
      return absl::InternalError("check.lua: malformed reply");
    }
  }
  result.outcome.reserved = r.element[1]->integer == 1;
  if (signals < 0) {
    result.outcome.signals.assign(static_cast<size_t>(-signals), {.hit = false, .until = absl::InfiniteFuture()});
  }
  size_t i = 3;
  for (size_t k = 0; k < nsig; ++k, i += 2) {
    const redisReply& hit = *r.element[i];
    SignalResult& s = result.outcome.signals.emplace_back();
    s.until = FromMillisOrFuture(r.element[i + 1]->integer);
    if (hit.type == REDIS_REPLY_ARRAY) {  // {field, at_ms}
      s.hit = true;
      s.field.assign(hit.element[0]->str, hit.element[0]->len);
      s.at = absl::FromUnixMillis(hit.element[1]->integer);
    } else {
      s.hit = hit.integer == 1;
    }
  }
  for (; i + 1 < r.elements; i += 2) {
    result.outcome.usage.push_back({r.element[i]->integer, FromMillisOrPast(r.element[i + 1]->integer)});
  }
  return result;
}

}  // namespace

absl::StatusOr<std::vector<CheckResult>> ParseNodeBatchReply(const redisReply& r, size_t n,
                                                              std::vector<bool>& not_here) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements != n) {
    return absl::InternalError("check.lua: unexpected reply shape");
  }
  not_here.assign(n, false);
  std::vector<CheckResult> results(n);
  for (size_t i = 0; i < n; ++i) {
    const redisReply& e = *r.element[i];
    if (e.type == REDIS_REPLY_ARRAY && e.elements == 1 && e.element[0]->type == REDIS_REPLY_INTEGER &&
        e.element[0]->integer == 2) {
      not_here[i] = true;
      continue;
    }
    absl::StatusOr<CheckResult> parsed = ParseCheckReply(e);
    if (!parsed.ok()) {
      return parsed.status();
    }
    results[i] = *std::move(parsed);
  }
  return results;
}

// The reply of one check.lua call: an array holding each of its `n` checks' replies, in order.
absl::StatusOr<std::vector<CheckResult>> ParseCallReply(const redisReply& r, size_t n) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements != n) {
    return absl::InternalError("check.lua: unexpected reply shape");
  }
  std::vector<CheckResult> results;
  results.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    absl::StatusOr<CheckResult> parsed = ParseCheckReply(*r.element[i]);
    if (!parsed.ok()) {
      return parsed.status();
    }
    results.push_back(*std::move(parsed));
  }
  return results;
}

absl::StatusOr<std::vector<CheckResult>> UnlessAllFailed(std::vector<CheckResult> results) {
  for (const CheckResult& r : results) {
    if (r.status.ok()) return results;
  }
  if (results.empty()) return results;
  return results.front().status;
}

}  // namespace tact::store
