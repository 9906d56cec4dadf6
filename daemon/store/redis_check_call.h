#pragma once

// check.lua's call and reply in Redis' wire format, for RedisCounterStore (internal to daemon/store).
#include <hiredis/hiredis.h>

#include <charconv>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "daemon/store/counter_store.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_connection.h"

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


// A check's legacy-prefix argument telling check.lua to look in no older layout, neither v1 nor the legacy one
// (RedisSettings::older_layouts false; legacy.lua). No legacy prefix is "-".
inline constexpr std::string_view kNoOlderLayouts = "-";

// One EVALSHA of check.lua for `checks` (all at the same `now`): the specs and markers the checks share are sent
// once.
// `legacy_keys`: each check carries its customer's legacy prefix (RedisSettings::legacy_keys); `older_layouts`
// false: each carries kNoOlderLayouts instead (RedisSettings::older_layouts), whatever legacy_keys says.
RedisCommand BuildCall(const std::string& sha, std::span<const CustomerCheck> checks, absl::Duration seen_ttl,
                       const KeySchema& schema, bool legacy_keys, bool older_layouts = true);

// BuildCall for checks[i], i in `items` (ascending; prefixes[i] its customer's prefix), each with its legacy prefix
// when `legacy_keys` (a single node's call: redis.checks compare_and_set sends check.lua only some of a call's checks).
RedisCommand BuildCall(const std::string& sha, std::span<const CustomerCheck> checks,
                       std::span<const std::string> prefixes, std::span<const size_t> items, absl::Duration seen_ttl,
                       bool legacy_keys, bool older_layouts);

// BuildCall for checks whose customer prefixes are known (`prefixes[i]`: KeySchema::CustomerPrefix of checks[i]),
// without legacy prefixes (a Redis Cluster's calls).
RedisCommand BuildCall(const std::string& sha, std::span<const CustomerCheck> checks,
                       std::span<const std::string> prefixes, absl::Duration seen_ttl, bool older_layouts = true);

// The call for checks[i] (prefixes[i] its customer's prefix) for i in `items`, in that order: one Redis Cluster
// node's customers, whose slots differ (check.lua's node_batch): no key declared (Redis takes declared keys of one
// slot only), the keys after the per-check args. Redis routes it nowhere: the script probes each check's slot
// itself, and answers {2} for a check the node does not serve when it runs.
RedisCommand BuildNodeBatchCall(const std::string& sha, std::span<const CustomerCheck> checks,
                                std::span<const std::string> prefixes, std::span<const size_t> items,
                                absl::Duration seen_ttl, bool older_layouts = true);

// Redis has not got the script (it restarted, or SCRIPT FLUSH): load it and send the call again.
inline bool IsNoScript(const redisReply& r) {
  return r.type == REDIS_REPLY_ERROR && std::string_view(r.str, r.len).starts_with("NOSCRIPT");
}

// The reply of one check.lua call: an array holding each of its `n` checks' replies, in order.
absl::StatusOr<std::vector<CheckResult>> ParseCallReply(const redisReply& r, size_t n);

// The reply of a BuildNodeBatchCall: ParseCallReply's, with not_here[i] true (and results[i] empty) for each check
// that the node did not run because it did not serve its slot then; nothing of those ran.
absl::StatusOr<std::vector<CheckResult>> ParseNodeBatchReply(const redisReply& r, size_t n,
                                                              std::vector<bool>& not_here);

// A Redis Cluster call's results, each with its own status (the checks of a node that failed fail, the others are
// decided); the first failure instead when every check failed.
absl::StatusOr<std::vector<CheckResult>> UnlessAllFailed(std::vector<CheckResult> results);

}  // namespace tact::store
