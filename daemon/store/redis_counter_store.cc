#include "daemon/store/redis_counter_store.h"

#include <openssl/sha.h>

#include <algorithm>
#include <charconv>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/core/strings.h"
#include "daemon/store/check_lua.h"
#include "daemon/store/keys.h"

namespace tact::store {

// One command in Redis' wire format (an array of bulk strings), built once and appended as is: no per-argument
// strings, argv arrays or hiredis re-formatting on the decision path.
struct RedisCommand {
  std::string wire;
  RedisCommand() = default;
  explicit RedisCommand(std::string w) : wire(std::move(w)) {}
  RedisCommand(std::initializer_list<std::string_view> args);
  void AppendTo(RedisConnection& c) const { c.Append(wire); }
};

namespace {

// Arguments being collected for a RedisCommand: their count and their encoding.
class RespArgs {
 public:
  void Add(std::string_view a) {
    char len[24];
    const auto end = std::to_chars(len, len + sizeof len, a.size()).ptr;
    body_.push_back('$');
    body_.append(len, end);
    body_.append("\r\n");
    body_.append(a);
    body_.append("\r\n");
    ++count_;
  }
  void Add(int64_t v) {
    char buf[24];
    Add(std::string_view(buf, std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
  }
  void Add(const RespArgs& more) {
    body_.append(more.body_);
    count_ += more.count_;
  }
  void Clear() {
    body_.clear();
    count_ = 0;
  }
  int64_t count() const { return static_cast<int64_t>(count_); }
  const std::string& body() const { return body_; }
  RedisCommand Command() const { return RedisCommand(absl::StrCat("*", count_, "\r\n", body_)); }

 private:
  std::string body_;
  size_t count_ = 0;
};

}  // namespace

RedisCommand::RedisCommand(std::initializer_list<std::string_view> args) {
  RespArgs a;
  for (std::string_view arg : args) a.Add(arg);
  wire = a.Command().wire;
}

namespace {

std::string Sha1Hex(std::string_view text) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : md) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

int64_t ToMillis(absl::Time t) { return absl::ToUnixMillis(t); }

// The plan's shape at `now_ms` as check.lua reads a spec: quiet, #limits, #signal checks, the signal checks'
// arg count, the index expiry, each limit with the numbers its writes need, then the signal checks.
void AppendSpec(const policy::Plan& plan, int64_t now_ms, RespArgs& out) {
  auto empty_at = [now_ms](const policy::LimitCheck& l) {
    return l.kind == policy::WindowKind::kRolling ? now_ms + absl::ToInt64Milliseconds(l.window) : PeriodEndMs(l);
  };
  int64_t latest = 0;
  for (const policy::LimitCheck& l : plan.limits) latest = std::max(latest, empty_at(l));
  int64_t signal_args = 0;
  for (const policy::SignalCheck& s : plan.signals) signal_args += 4 + static_cast<int64_t>(s.fields.size());
  out.Add(QuietCode(plan));
  out.Add(static_cast<int64_t>(plan.limits.size()));
  out.Add(static_cast<int64_t>(plan.signals.size()));
  out.Add(signal_args);
  out.Add(latest);
  for (const policy::LimitCheck& l : plan.limits) {
    const bool rolling = l.kind == policy::WindowKind::kRolling;
    const int64_t window = absl::ToInt64Milliseconds(l.window);
    const int64_t end = PeriodEndMs(l);
    out.Add(rolling ? "r" : "c");
    out.Add(l.count);
    // A calendar counter's ttl is relative to tactd's now: an absolute PEXPIREAT would follow Redis' clock, and
    // with tactd's clock behind it the counter of a period tactd still counts in would vanish at once.
    out.Add(rolling ? window : std::max<int64_t>(1, end - now_ms));
    out.Add(rolling ? now_ms - window : end);
    out.Add(empty_at(l));
    out.Add(l.shadow ? "0" : "1");
    out.Add(l.on_exceed == policy::OnExceed::kSuppress ? "1" : "0");
  }
  for (const policy::SignalCheck& s : plan.signals) {
    out.Add(s.shadow ? "0" : "1");
    out.Add(SinceMs(s));
    out.Add(absl::ToInt64Milliseconds(s.hold));
    out.Add(static_cast<int64_t>(s.fields.size()));
    for (const std::string& f : s.fields) {
      out.Add(f);
    }
  }
}

// One EVALSHA of check.lua for `checks` (all at the same `now`): the specs the checks share are sent once.
// `legacy_keys`: each check carries its customer's legacy prefix (RedisSettings::legacy_keys).
RedisCommand BuildCall(const std::string& sha, std::span<const CustomerCheck> checks, absl::Duration seen_ttl,
                       const KeySchema& schema, bool legacy_keys) {
  const int64_t now_ms = ToMillis(checks.front().now);
  RespArgs keys;
  RespArgs specs;      // every distinct spec's args, concatenated
  RespArgs per_check;  // spec number, event id, write, marker, legacy prefix
  absl::flat_hash_map<std::string, int64_t> spec_number;  // a spec's encoding -> its number
  RespArgs spec;
  std::string prefix;
  for (const CustomerCheck& c : checks) {
    const policy::Plan& plan = *c.plan;
    spec.Clear();
    AppendSpec(plan, now_ms, spec);
    auto [it, added] = spec_number.try_emplace(spec.body(), static_cast<int64_t>(spec_number.size()) + 1);
    if (added) {
      specs.Add(spec);
    }
    prefix = schema.CustomerPrefix(c.tenant, c.customer_id);
    keys.Add(SeenKey(prefix, c.event_id));
    keys.Add(SignalsKey(prefix));
    for (const policy::LimitCheck& l : plan.limits) {
      keys.Add(absl::StrCat(prefix, AsAbsl(l.counter)));
    }
    keys.Add(IndexKey(prefix));
    per_check.Add(it->second);
    per_check.Add(c.event_id);
    per_check.Add(c.dry_run ? "0" : "1");
    per_check.Add(c.marker);
    per_check.Add(legacy_keys ? KeySchema::LegacyCustomerPrefix(c.tenant, c.customer_id).value_or("") : "");
  }
  RespArgs all;
  all.Add("EVALSHA");
  all.Add(sha);
  all.Add(keys.count());
  all.Add(keys);
  all.Add(now_ms);
  all.Add(absl::ToInt64Milliseconds(seen_ttl));
  all.Add(static_cast<int64_t>(spec_number.size()));
  all.Add(static_cast<int64_t>(checks.size()));
  all.Add(specs);
  all.Add(per_check);
  return all.Command();
}

absl::Time FromMillisOrPast(int64_t ms) { return ms == 0 ? absl::InfinitePast() : absl::FromUnixMillis(ms); }
absl::Time FromMillisOrFuture(int64_t ms) { return ms == -1 ? absl::InfiniteFuture() : absl::FromUnixMillis(ms); }

// "<reserved>|<hit>:<until>,...|<used>:<frees_at>,..." as stored in the seen marker by check.lua.
absl::StatusOr<policy::StoreOutcome> ParseStoredOutcome(std::string_view text) {
  const absl::Status malformed = absl::InternalError("check.lua: malformed stored outcome");
  std::vector<absl::string_view> sections = absl::StrSplit(AsAbsl(text), '|');
  if (sections.size() != 3 || (sections[0] != "0" && sections[0] != "1")) {
    return malformed;
  }
  policy::StoreOutcome out;
  out.reserved = sections[0] == "1";
  auto pairs = [&](absl::string_view section, auto add) -> bool {
    if (section.empty()) return true;
    for (absl::string_view part : absl::StrSplit(section, ',')) {
      std::pair<absl::string_view, absl::string_view> ab = absl::StrSplit(part, absl::MaxSplits(':', 1));
      int64_t a = 0;
      int64_t b = 0;
      if (!absl::SimpleAtoi(ab.first, &a) || !absl::SimpleAtoi(ab.second, &b)) return false;
      add(a, b);
    }
    return true;
  };
  if (!pairs(sections[1], [&](int64_t hit, int64_t until) {
        out.signals.push_back({.hit = hit == 1, .until = FromMillisOrFuture(until)});
      }) ||
      !pairs(sections[2], [&](int64_t used, int64_t frees) { out.usage.push_back({used, FromMillisOrPast(frees)}); })) {
    return malformed;
  }
  return out;
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
  for (size_t i = 1; i < r.elements; ++i) {
    if (r.element[i]->type != REDIS_REPLY_INTEGER) {
      return absl::InternalError("check.lua: malformed reply");
    }
  }
  const size_t nsig = static_cast<size_t>(r.element[2]->integer);
  if (3 + 2 * nsig > r.elements || (r.elements - 3 - 2 * nsig) % 2 != 0) {
    return absl::InternalError("check.lua: malformed reply");
  }
  result.outcome.reserved = r.element[1]->integer == 1;
  size_t i = 3;
  for (size_t k = 0; k < nsig; ++k, i += 2) {
    result.outcome.signals.push_back(
        {.hit = r.element[i]->integer == 1, .until = FromMillisOrFuture(r.element[i + 1]->integer)});
  }
  for (; i + 1 < r.elements; i += 2) {
    result.outcome.usage.push_back({r.element[i]->integer, FromMillisOrPast(r.element[i + 1]->integer)});
  }
  return result;
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

// Records one signal field and keeps the hash's expiry at its latest live field (none while a field never
// expires); expired fields are pruned. KEYS[1] signal hash. ARGV: field, remove (1/0), value, now_ms, legacy
// prefix ('' none: a customer still in the legacy layout is moved first, legacy.lua). Sent after kLegacyLua.
constexpr std::string_view kSignalLua = R"lua(
if ARGV[5] ~= '' and tact_in_legacy(ARGV[5], {}, nil) then
  tact_upgrade(ARGV[5], string.sub(KEYS[1], 1, -4), {})
end
if ARGV[2] == '1' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
local now = tonumber(ARGV[4])
local flat = redis.call('HGETALL', KEYS[1])
local latest = 0
local forever = false
for j = 1, #flat, 2 do
  local exp = tonumber(string.match(flat[j + 1], ':(%-?%d+)$') or '')
  if exp == 0 then
    forever = true
  elseif exp and exp <= now then
    redis.call('HDEL', KEYS[1], flat[j])
  elseif exp and exp > latest then
    latest = exp
  end
end
if forever then
  redis.call('PERSIST', KEYS[1])
elseif latest > 0 then
  redis.call('PEXPIRE', KEYS[1], latest - now)  -- relative to the caller's clock, like check.lua's counters
end
return 1
)lua";

bool IsNoScript(const redisReply& r) {
  return r.type == REDIS_REPLY_ERROR && std::string_view(r.str, r.len).starts_with("NOSCRIPT");
}

// What kind of failure a connect status is, for the log limiter's key (a closed set).
std::string_view ConnectFailureKind(const absl::Status& s) {
  const std::string_view m(s.message().data(), s.message().size());
  if (m.find("authentication failed") != std::string_view::npos || m.find("NOAUTH") != std::string_view::npos) {
    return "auth";
  }
  if (m.starts_with("redis tls") || m.starts_with("redis.tls")) return "tls";
  return "connect";
}

}  // namespace

absl::Status ParseRedisAddress(std::string_view address, RedisSettings* settings) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(AsAbsl(address.substr(colon + 1)), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis address '", AsAbsl(address), "' must be host:port, e.g. 127.0.0.1:6379"));
  }
  settings->host = std::string(address.substr(0, colon));
  settings->port = port;
  return absl::OkStatus();
}

RedisCounterStore::RedisCounterStore(RedisSettings settings, const Clock& clock, KeySchema keys)
    : settings_(std::move(settings)),
      clock_(clock),
      keys_(std::move(keys)),
      script_sha_(Sha1Hex(kCheckLua)),
      connector_(settings_.host, settings_.port, settings_.tls, settings_.auth),
      connect_log_(clock_, absl::Seconds(30)) {}

std::string RedisCounterStore::LegacyPrefix(std::string_view tenant, std::string_view customer_id) const {
  if (!settings_.legacy_keys) return "";
  return KeySchema::LegacyCustomerPrefix(tenant, customer_id).value_or("");
}

absl::StatusOr<RedisConnectionPtr> RedisCounterStore::Borrow(absl::Duration budget) {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      RedisConnectionPtr c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    if (clock_.Now() < next_connect_attempt_) {
      return absl::UnavailableError("redis unreachable (reconnect backing off)");
    }
  }
  // Connect (TLS handshake), AUTH, SCRIPT LOAD: each bounded by the connect timeout.
  absl::StatusOr<RedisConnectionPtr> c = connector_.Connect(std::min(budget, settings_.connect_timeout));
  absl::Status status = c.status();
  if (status.ok()) {
    status = LoadScript(**c);
  }
  if (!status.ok()) {
    connect_log_.Log(ops::LogLevel::kWarning, "store.redis_connect_failed", ConnectFailureKind(status),
                     {{"error", std::string(status.message())}});
  }
  absl::MutexLock lock(&mu_);
  if (!status.ok()) {
    backoff_ = std::clamp(backoff_ * 2, absl::Milliseconds(50), settings_.max_reconnect_backoff);
    next_connect_attempt_ = clock_.Now() + backoff_;
    return status;
  }
  backoff_ = absl::ZeroDuration();
  next_connect_attempt_ = absl::InfinitePast();
  return c;
}

void RedisCounterStore::Return(RedisConnectionPtr conn) {
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(idle_.size()) < settings_.pool_size) {
    idle_.push_back(std::move(conn));
  }
}

absl::Status RedisCounterStore::LoadScript(RedisConnection& c) {
  absl::StatusOr<RedisReplyPtr> reply = c.Command({"SCRIPT", "LOAD", kCheckLua}, "SCRIPT LOAD");
  if (!reply.ok()) {
    return reply.status();
  }
  const RedisReplyPtr& r = *reply;
  if (r->type == REDIS_REPLY_ERROR) {  // NOAUTH when Redis wants a password and none is configured
    return absl::UnavailableError(absl::StrCat("redis SCRIPT LOAD: ", absl::string_view(r->str, r->len)));
  }
  if (r->type != REDIS_REPLY_STRING || std::string_view(r->str, r->len) != script_sha_) {
    return absl::InternalError("redis SCRIPT LOAD: unexpected reply");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CheckResult>> RedisCounterStore::RunBatchScript(RedisConnection& c, const RedisCommand& batch,
                                                                            size_t checks) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    batch.AppendTo(c);
    absl::StatusOr<RedisReplyPtr> reply = c.GetReply("EVALSHA");
    if (!reply.ok()) {
      return reply.status();
    }
    RedisReplyPtr r = *std::move(reply);
    if (IsNoScript(*r) && attempt == 0) {  // Redis restarted or SCRIPT FLUSH: load and send once more
      if (absl::Status s = LoadScript(c); !s.ok()) {
        return s;
      }
      continue;
    }
    if (r->type == REDIS_REPLY_ERROR) {
      return absl::UnavailableError(absl::StrCat("redis: ", absl::string_view(r->str, r->len)));
    }
    return ParseCallReply(*r, checks);
  }
  return absl::InternalError("check.lua: NOSCRIPT after SCRIPT LOAD");
}

absl::StatusOr<std::vector<CheckResult>> RedisCounterStore::RunChecks(RedisConnection& c,
                                                                       std::span<const RedisCommand> commands) {
  for (const RedisCommand& command : commands) {
    command.AppendTo(c);
  }
  // Read exactly as many replies as were sent, even after an error reply, or the stream is out of step.
  std::vector<CheckResult> results(commands.size());
  std::vector<size_t> noscript;
  absl::Status shape_error;
  for (size_t i = 0; i < commands.size(); ++i) {
    absl::StatusOr<RedisReplyPtr> reply = c.GetReply("EVALSHA");
    if (!reply.ok()) {
      return reply.status();
    }
    RedisReplyPtr r = *std::move(reply);
    if (IsNoScript(*r)) {
      noscript.push_back(i);
      continue;
    }
    if (r->type == REDIS_REPLY_ERROR) {
      shape_error = absl::UnavailableError(absl::StrCat("redis: ", absl::string_view(r->str, r->len)));
      continue;
    }
    absl::StatusOr<std::vector<CheckResult>> parsed = ParseCallReply(*r, 1);
    if (!parsed.ok()) {
      shape_error = parsed.status();
      continue;
    }
    results[i] = std::move(parsed->front());
  }
  if (!noscript.empty()) {  // Redis restarted or SCRIPT FLUSH: load once, re-send these
    if (absl::Status s = LoadScript(c); !s.ok()) {
      return s;
    }
    for (size_t i : noscript) {
      commands[i].AppendTo(c);
    }
    for (size_t i : noscript) {
      absl::StatusOr<RedisReplyPtr> reply = c.GetReply("EVALSHA");
      if (!reply.ok()) {
        return reply.status();
      }
      RedisReplyPtr r = *std::move(reply);
      absl::StatusOr<std::vector<CheckResult>> parsed = ParseCallReply(*r, 1);
      if (!parsed.ok()) {
        shape_error = parsed.status();
        continue;
      }
      results[i] = std::move(parsed->front());
    }
  }
  if (!shape_error.ok()) {
    return shape_error;
  }
  return results;
}

absl::StatusOr<std::vector<CheckResult>> RedisCounterStore::CheckAndReserve(std::span<const CustomerCheck> checks,
                                                                             absl::Time deadline) {
  const bool one_script = checks.size() > 1 && settings_.batching == RedisSettings::Batching::kOneScript &&
                          std::all_of(checks.begin(), checks.end(),
                                      [&](const CustomerCheck& c) { return c.now == checks.front().now; });
  std::vector<RedisCommand> commands;
  if (one_script) {
    commands.push_back(BuildCall(script_sha_, checks, settings_.seen_ttl, keys_, settings_.legacy_keys));
  } else {
    commands.reserve(checks.size());
    for (const CustomerCheck& check : checks) {
      commands.push_back(BuildCall(script_sha_, {&check, 1}, settings_.seen_ttl, keys_, settings_.legacy_keys));
    }
  }
  const absl::Duration budget = deadline - clock_.Now();
  if (budget <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError("deadline passed before the store call");
  }
  absl::StatusOr<RedisConnectionPtr> conn = Borrow(budget);
  if (!conn.ok()) {
    return conn.status();
  }
  const absl::Duration remaining = deadline - clock_.Now();
  if (remaining <= absl::ZeroDuration()) {
    Return(*std::move(conn));
    return absl::DeadlineExceededError("deadline passed while connecting to the store");
  }
  if (absl::Status s = (*conn)->SetTimeout(remaining); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<CheckResult>> results =
      one_script ? RunBatchScript(**conn, commands.front(), checks.size()) : RunChecks(**conn, commands);
  if (results.ok() || !absl::IsUnavailable(results.status()) || !(*conn)->broken()) {
    Return(*std::move(conn));  // a connection that saw an I/O error is dropped (pending replies are lost)
  }
  return results;
}

absl::Status RedisCounterStore::PutSignal(const policy::Signal& signal, absl::Time now, absl::Time deadline) {
  absl::StatusOr<policy::SignalWrite> w = policy::ToSignalWrite(signal);
  if (!w.ok()) {
    return w.status();
  }
  const absl::Duration budget = deadline - clock_.Now();
  if (budget <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError("deadline passed before the store call");
  }
  absl::StatusOr<RedisConnectionPtr> conn = Borrow(budget);
  if (!conn.ok()) {
    return conn.status();
  }
  if (absl::Status s = (*conn)->SetTimeout(budget); !s.ok()) {
    return s;
  }
  static const std::string script = absl::StrCat(AsAbsl(kLegacyLua), AsAbsl(kSignalLua));
  const std::string key = SignalsKey(keys_.CustomerPrefix(signal.tenant, signal.customer_id));
  const std::string value = absl::StrCat(w->at_ms, ":", w->expires_ms);
  const std::string now_ms = absl::StrCat(ToMillis(now));
  const std::string legacy = LegacyPrefix(signal.tenant, signal.customer_id);
  absl::StatusOr<RedisReplyPtr> reply = (*conn)->Command(
      {"EVAL", script, "1", key, w->field, w->remove ? "1" : "0", value, now_ms, legacy}, "EVAL signal");
  if (!reply.ok()) {
    return reply.status();  // the connection is dropped
  }
  const RedisReplyPtr& r = *reply;
  Return(*std::move(conn));
  if (r->type == REDIS_REPLY_ERROR) {
    return absl::UnavailableError(absl::StrCat("redis: ", absl::string_view(r->str, r->len)));
  }
  return absl::OkStatus();
}

absl::StatusOr<CustomerState> RedisCounterStore::ReadCustomer(const CustomerRead& read, absl::Time deadline) {
  const absl::Duration budget = deadline - clock_.Now();
  if (budget <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError("deadline passed before the store call");
  }
  absl::StatusOr<RedisConnectionPtr> conn = Borrow(budget);
  if (!conn.ok()) {
    return conn.status();
  }
  RedisConnection& c = **conn;
  if (absl::Status s = c.SetTimeout(budget); !s.ok()) {
    return s;
  }
  // Pipelined reads on the customer's own keys: the index names the counters (no keyspace scan). A connection
  // that saw an I/O error is dropped (its pending replies are lost).
  auto round_trip = [&c](const std::vector<RedisCommand>& commands) -> absl::StatusOr<std::vector<RedisReplyPtr>> {
    for (const RedisCommand& cmd : commands) cmd.AppendTo(c);
    std::vector<RedisReplyPtr> replies;
    for (size_t i = 0; i < commands.size(); ++i) {
      absl::StatusOr<RedisReplyPtr> reply = c.GetReply("read customer");
      if (!reply.ok()) return reply.status();
      replies.push_back(*std::move(reply));
      if (replies.back()->type == REDIS_REPLY_ERROR) {
        return absl::UnavailableError(absl::StrCat("redis: ", absl::string_view(replies.back()->str,
                                                                                 replies.back()->len)));
      }
    }
    return replies;
  };
  std::string prefix = keys_.CustomerPrefix(read.tenant, read.customer_id);
  const std::string legacy = LegacyPrefix(read.tenant, read.customer_id);
  const int64_t now = ToMillis(read.now);
  std::vector<RedisCommand> index_and_signals = {{"HGETALL", IndexKey(prefix)}, {"HGETALL", SignalsKey(prefix)}};
  if (!legacy.empty()) {
    index_and_signals.push_back({"HGETALL", IndexKey(legacy)});
    index_and_signals.push_back({"HGETALL", SignalsKey(legacy)});
  }
  absl::StatusOr<std::vector<RedisReplyPtr>> first = round_trip(index_and_signals);
  if (!first.ok()) {
    return first.status();
  }
  // A customer not moved to the new layout yet (legacy.lua moves it on its next check or signal) is read where it
  // is; a read writes nothing.
  auto empty = [](const RedisReplyPtr& r) { return r->type != REDIS_REPLY_ARRAY || r->elements == 0; };
  if (!legacy.empty() && empty((*first)[0]) && empty((*first)[1])) {
    prefix = legacy;
    (*first)[0] = std::move((*first)[2]);
    (*first)[1] = std::move((*first)[3]);
  }
  auto text = [](const redisReply* r) { return std::string_view(r->str, r->len); };
  CustomerState state;
  struct Live {
    const CounterFamily* family;
    std::string suffix;
    int64_t empty_at;
  };
  std::vector<Live> live;
  const redisReply& idx = *(*first)[0];
  for (size_t j = 0; idx.type == REDIS_REPLY_ARRAY && j + 1 < idx.elements; j += 2) {
    int64_t empty_at = 0;
    if (!absl::SimpleAtoi(AsAbsl(text(idx.element[j + 1])), &empty_at) || empty_at <= now) continue;
    const std::string_view suffix = text(idx.element[j]);
    for (const CounterFamily& f : read.families) {
      if (InFamily(suffix, f)) {
        live.push_back({&f, std::string(suffix), empty_at});
        break;
      }
    }
  }
  const redisReply& sig = *(*first)[1];
  for (size_t j = 0; sig.type == REDIS_REPLY_ARRAY && j + 1 < sig.elements; j += 2) {
    int64_t at = 0;
    int64_t expires = 0;
    if (!policy::ParseSignalValue(text(sig.element[j + 1]), &at, &expires) || (expires != 0 && expires <= now)) {
      continue;
    }
    state.signals.push_back({.field = std::string(text(sig.element[j])),
                             .at = absl::FromUnixMillis(at),
                             .expires_at = expires == 0 ? absl::InfiniteFuture() : absl::FromUnixMillis(expires)});
  }
  std::vector<RedisCommand> reads;
  for (const Live& l : live) {
    const std::string key = prefix + l.suffix;
    if (l.family->kind == policy::WindowKind::kRolling) {
      const std::string after = absl::StrCat("(", now - absl::ToInt64Milliseconds(l.family->window));
      reads.push_back({"ZCOUNT", key, after, "+inf"});
      reads.push_back({"ZRANGEBYSCORE", key, after, "+inf", "WITHSCORES", "LIMIT", "0", "1"});
    } else {
      reads.push_back({"GET", key});
    }
  }
  absl::StatusOr<std::vector<RedisReplyPtr>> second = round_trip(reads);
  if (!second.ok()) {
    return second.status();
  }
  Return(*std::move(conn));
  size_t r = 0;
  for (const Live& l : live) {
    CounterState cs{.rule_id = l.family->rule_id, .counter = l.suffix};
    if (l.family->kind == policy::WindowKind::kRolling) {
      const redisReply& count = *(*second)[r++];
      const redisReply& oldest = *(*second)[r++];
      cs.used = count.type == REDIS_REPLY_INTEGER ? count.integer : 0;
      int64_t score = 0;
      if (oldest.type == REDIS_REPLY_ARRAY && oldest.elements == 2 &&
          absl::SimpleAtoi(AsAbsl(text(oldest.element[1])), &score)) {
        cs.frees_at = absl::FromUnixMillis(score + absl::ToInt64Milliseconds(l.family->window));
      }
    } else {
      const redisReply& value = *(*second)[r++];
      if (value.type == REDIS_REPLY_STRING) absl::SimpleAtoi(AsAbsl(text(&value)), &cs.used);
      cs.frees_at = absl::FromUnixMillis(l.empty_at);
    }
    if (cs.used > 0) state.counters.push_back(std::move(cs));
  }
  std::sort(state.counters.begin(), state.counters.end(),
            [](const CounterState& a, const CounterState& b) { return a.counter < b.counter; });
  std::sort(state.signals.begin(), state.signals.end(),
            [](const SignalState& a, const SignalState& b) { return a.field < b.field; });
  return state;
}

bool RedisCounterStore::Healthy() {
  absl::StatusOr<RedisConnectionPtr> conn = Borrow(settings_.connect_timeout);
  if (!conn.ok()) {
    return false;
  }
  if (!(*conn)->SetTimeout(settings_.connect_timeout).ok()) {
    return false;
  }
  absl::StatusOr<RedisReplyPtr> r = (*conn)->Command({"PING"}, "PING");
  if (!r.ok() || (*r)->type == REDIS_REPLY_ERROR) {
    return false;
  }
  Return(*std::move(conn));
  return true;
}

}  // namespace tact::store
