#include "daemon/store/redis_counter_store.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/core/strings.h"
#include "daemon/store/check_lua.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_check_call.h"

namespace tact::store {
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

// A cluster deployment starts from the current key layout: legacy.lua renames keys across slots (redis_cluster.h).
RedisSettings ForTopology(RedisSettings s) {
  if (!s.cluster_seeds.empty()) s.legacy_keys = false;
  return s;
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
  constexpr std::string_view kCluster = "redis+cluster://";
  if (address.starts_with(kCluster)) {
    std::vector<NodeAddress> seeds;
    for (absl::string_view seed : absl::StrSplit(AsAbsl(address.substr(kCluster.size())), ',')) {
      std::optional<NodeAddress> node = ParseNodeAddress(std::string_view(seed.data(), seed.size()));
      if (!node) {
        return absl::InvalidArgumentError(absl::StrCat("redis address '", AsAbsl(address), "': seed '", seed,
                                                       "' must be host:port, e.g. redis+cluster://10.0.0.1:6379,"
                                                       "10.0.0.2:6379"));
      }
      seeds.push_back(*std::move(node));
    }
    settings->host = seeds.front().host;
    settings->port = seeds.front().port;
    settings->cluster_seeds = std::move(seeds);
    return absl::OkStatus();
  }
  settings->cluster_seeds.clear();
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
    : settings_(ForTopology(std::move(settings))),
      clock_(clock),
      older_layouts_(settings_.older_layouts),
      keys_(std::move(keys)),
      script_(settings_.cluster_seeds.empty() ? kCheckLua : kClusterCheckLua),
      script_sha_(Sha1Hex(script_)),
      cas_sha_(Sha1Hex(kCasLua)),
      connector_(settings_.host, settings_.port, settings_.tls, settings_.auth),
      connect_log_(clock_, absl::Seconds(30)) {
  if (!settings_.cluster_seeds.empty()) {
    cluster_ = std::make_unique<RedisCluster>(
        RedisClusterSettings{.seeds = settings_.cluster_seeds,
                             .tls = settings_.tls,
                             .auth = settings_.auth,
                             .pool_size = settings_.pool_size,
                             .connect_timeout = settings_.connect_timeout,
                             .max_reconnect_backoff = settings_.max_reconnect_backoff,
                             .stats = settings_.node_stats},
        clock_, [this](RedisConnection& c) { return LoadScript(c); });
  }
}

std::string RedisCounterStore::LegacyPrefix(std::string_view tenant, std::string_view customer_id) const {
  if (!settings_.legacy_keys || !LooksInOlderLayouts()) return "";
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

absl::StatusOr<RedisConnectionPtr> RedisCounterStore::BorrowUntil(absl::Time deadline) {
  const absl::Duration budget = deadline - clock_.Now();
  if (budget <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError("deadline passed before the store call");
  }
  absl::StatusOr<RedisConnectionPtr> conn = Borrow(budget);
  if (!conn.ok()) {
    return conn.status();
  }
  // Connecting may have used some of the budget: the call gets what is left of it, never more.
  const absl::Duration remaining = deadline - clock_.Now();
  if (remaining <= absl::ZeroDuration()) {
    Return(*std::move(conn));
    return absl::DeadlineExceededError("deadline passed while connecting to the store");
  }
  if (absl::Status s = (*conn)->SetTimeout(remaining); !s.ok()) {
    return s;
  }
  return conn;
}

void RedisCounterStore::Return(RedisConnectionPtr conn) {
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(idle_.size()) < settings_.pool_size) {
    idle_.push_back(std::move(conn));
  }
}

absl::Status RedisCounterStore::LoadScript(RedisConnection& c) {
  // A PING first: Redis drops a client that sends a bulk string over 16 KB (the script) before it authenticated,
  // with a protocol error instead of the NOAUTH that says what is wrong.
  if (absl::StatusOr<RedisReplyPtr> ping = c.Command({"PING"}, "PING"); !ping.ok()) {
    return ping.status();
  } else if ((*ping)->type == REDIS_REPLY_ERROR) {
    return absl::UnavailableError(absl::StrCat("redis SCRIPT LOAD: ", absl::string_view((*ping)->str, (*ping)->len)));
  }
  // check.lua, and cas.lua (redis.checks compare_and_set), both on every connection: a Redis that restarted has
  // neither (NOSCRIPT loads them again).
  for (const auto& [script, sha] : {std::pair(script_, std::string_view(script_sha_)),
                                    std::pair(kCasLua, std::string_view(cas_sha_))}) {
    absl::StatusOr<RedisReplyPtr> reply = c.Command({"SCRIPT", "LOAD", script}, "SCRIPT LOAD");
    if (!reply.ok()) {
      return reply.status();
    }
    const RedisReplyPtr& r = *reply;
    if (r->type == REDIS_REPLY_ERROR) {  // NOAUTH when Redis wants a password and none is configured
      return absl::UnavailableError(absl::StrCat("redis SCRIPT LOAD: ", absl::string_view(r->str, r->len)));
    }
    if (r->type != REDIS_REPLY_STRING || std::string_view(r->str, r->len) != sha) {
      return absl::InternalError("redis SCRIPT LOAD: unexpected reply");
    }
  }
  if (settings_.checks == RedisSettings::Checks::kCompareAndSet && settings_.cluster_seeds.empty()) {
    return ProbeTransactions(c);
  }
  return absl::OkStatus();
}

absl::Status RedisCounterStore::ProbeTransactions(RedisConnection& c) {
  // An empty MULTI/EXEC: a Redis (an ACL) that refused either would run the SETs meant for a transaction at once,
  // without the compare (MULTI refused), or keep the connection in a transaction (EXEC refused).
  c.Append(RedisCommand({"MULTI"}).wire);
  c.Append(RedisCommand({"EXEC"}).wire);
  absl::StatusOr<RedisReplyPtr> multi = c.GetReply("MULTI");
  if (!multi.ok()) return multi.status();
  absl::StatusOr<RedisReplyPtr> exec = c.GetReply("EXEC");
  if (!exec.ok()) return exec.status();
  for (const RedisReplyPtr* r : {&*multi, &*exec}) {
    if ((*r)->type != REDIS_REPLY_ERROR) continue;
    if ((*multi)->type != REDIS_REPLY_ERROR) {  // in a transaction still: leave it
      if (absl::StatusOr<RedisReplyPtr> discard = c.Command({"DISCARD"}, "DISCARD"); !discard.ok()) {
        return discard.status();
      }
    }
    return absl::UnavailableError(absl::StrCat(
        "redis: redis.checks compare_and_set needs MULTI, EXEC, WATCH and UNWATCH (or set redis.checks: script): ",
        absl::string_view((*r)->str, (*r)->len)));
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
  if (settings_.checks == RedisSettings::Checks::kCompareAndSet) {
    return cluster_ != nullptr ? ClusterCasCheckAndReserve(checks, deadline) : CasCheckAndReserve(checks, deadline);
  }
  if (cluster_ != nullptr) {
    return ClusterCheckAndReserve(checks, deadline);
  }
  const bool one_script = checks.size() > 1 && settings_.batching == RedisSettings::Batching::kOneScript &&
                          std::all_of(checks.begin(), checks.end(),
                                      [&](const CustomerCheck& c) { return c.now == checks.front().now; });
  std::vector<RedisCommand> commands;
  const bool older_layouts = LooksInOlderLayouts();
  if (one_script) {
    commands.push_back(
        BuildCall(script_sha_, checks, settings_.seen_ttl, keys_, settings_.legacy_keys, older_layouts));
  } else {
    commands.reserve(checks.size());
    for (const CustomerCheck& check : checks) {
      commands.push_back(
          BuildCall(script_sha_, {&check, 1}, settings_.seen_ttl, keys_, settings_.legacy_keys, older_layouts));
    }
  }
  absl::StatusOr<RedisConnectionPtr> conn = BorrowUntil(deadline);
  if (!conn.ok()) {
    return conn.status();
  }
  absl::StatusOr<std::vector<CheckResult>> results =
      one_script ? RunBatchScript(**conn, commands.front(), checks.size()) : RunChecks(**conn, commands);
  if (results.ok() || !absl::IsUnavailable(results.status()) || !(*conn)->broken()) {
    Return(*std::move(conn));  // a connection that saw an I/O error is dropped (pending replies are lost)
  }
  return results;
}

absl::Status RedisCounterStore::PutSignal(const SignalWrite& w, absl::Time now, absl::Time deadline) {
  if (absl::Status valid = CheckSignalWrite(w); !valid.ok()) {
    return valid;
  }
  // check.lua in its signal mode (its header): the customer's one key, read and rewritten.
  const std::string key = CustomerKey(keys_.CustomerPrefix(w.tenant, w.customer_id));
  const std::string now_ms = absl::StrCat(ToMillis(now));
  const std::string seen_ttl = absl::StrCat(absl::ToInt64Milliseconds(settings_.seen_ttl));
  const std::string at = absl::StrCat(w.at_ms);
  const std::string expires = absl::StrCat(w.expires_ms);
  const std::string legacy =
      LooksInOlderLayouts() ? LegacyPrefix(w.tenant, w.customer_id) : std::string(kNoOlderLayouts);
  const RedisCommand command({"EVALSHA", script_sha_, "1", key, now_ms, seen_ttl, "signal", w.field,
                              w.remove ? "1" : "0", at, expires, legacy});
  if (cluster_ != nullptr) {  // NOSCRIPT is handled per node there (redis_cluster.h)
    return ClusterRoundTrip({command}, KeySlot(key), deadline).status();
  }
  absl::StatusOr<RedisConnectionPtr> conn = BorrowUntil(deadline);
  if (!conn.ok()) {
    return conn.status();
  }
  auto send = [&] {
    command.AppendTo(**conn);
    return (*conn)->GetReply("EVALSHA signal");
  };
  absl::StatusOr<RedisReplyPtr> reply = send();
  if (reply.ok() && IsNoScript(**reply)) {  // Redis restarted or SCRIPT FLUSH: load and send once more
    if (absl::Status s = LoadScript(**conn); !s.ok()) {
      return s;
    }
    reply = send();
  }
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

bool RedisCounterStore::Healthy() {
  if (cluster_ != nullptr) {
    std::vector<std::pair<std::string, bool>> nodes;
    const bool healthy = cluster_->Probe(settings_.connect_timeout, &nodes);
    absl::MutexLock lock(&mu_);
    node_health_ = std::move(nodes);
    return healthy;
  }
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

std::vector<std::pair<std::string, bool>> RedisCounterStore::NodeHealth() {
  absl::MutexLock lock(&mu_);
  return node_health_;
}

}  // namespace tact::store
