// The parts of redis.checks compare_and_set that its single-node path (redis_cas_checks.cc) and its Redis Cluster
// rounds (redis_cas_cluster.cc) share: a call's customers, their drafts and decisions, and the commands that write
// them. Internal to those files (and redis_cas_parts.cc).
#pragma once

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/store/counter_store.h"
#include "daemon/store/customer_draft.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_check_call.h"
#include "daemon/store/redis_connection.h"

namespace tact::store::cas {

struct Customer {
  std::string key;
  std::vector<size_t> checks;  // ascending
  std::optional<CustomerDraft> draft;
  bool script = false;   // check.lua decides its checks
  bool failed = false;   // its checks failed (their status in the results)
  bool settled = false;  // decided as new before its key was read, and found new (its results are the guess's)
  bool watched = false;  // its key WATCHed before it was read, written in MULTI/EXEC
  int slot = 0;          // on a Redis Cluster
};
static_assert(std::is_nothrow_move_constructible_v<Customer>, "a vector of customers grows by moves, not copies");

// A string reply's bytes; nullopt for anything else (a key that is none).
std::optional<std::string> Value(const redisReply& r);

// cas.lua's call (cas.lua's header), one key at a time.
class CasCall {
 public:
  // `key` written only if it still holds `read` ("" none): op 'S' SET PX `ttl_ms`, 'F' SET, 'D' DEL; with it the
  // markers `moved` to their own keys (under `prefix`).
  void Add(std::string_view key, std::string_view read, char op, std::string_view value, int64_t ttl_ms,
           std::string_view prefix = {}, std::span<const CustomerDraft::Moved> moved = {});
  RedisCommand Command(const std::string& cas_sha) const;

 private:
  RespArgs keys_;
  RespArgs argv_;
  int64_t n_ = 0;
};

// The writes of a call (`writes`: the customers' indexes) as one command: SET NX PX for one new key with nothing
// moved, else cas.lua (which takes any number of keys).
RedisCommand WriteCommand(const std::string& cas_sha, const std::vector<Customer>& customers,
                          const std::vector<size_t>& writes, const std::vector<std::string>& prefixes,
                          bool* set_nx);

// Which keys the write command wrote (false: changed since read), from its reply; `n` keys.
absl::StatusOr<std::vector<bool>> Written(const redisReply& r, size_t n, bool set_nx);

// An error reply as UNAVAILABLE, naming what Redis said.
absl::Status ErrorReply(const redisReply& r);

// check.lua's probe of the older layouts for `check` (legacy.lua, tact_from_old) as one EXISTS: layout v1's index,
// signals and the event's marker under the customer's prefix, and the same of the legacy layout when
// redis.legacy_keys names one for the customer. Its reply: 0 when they hold nothing of the check (NothingOlder).
RedisCommand OlderLayoutProbe(const CustomerCheck& check, std::string_view prefix, bool legacy_keys);

// OlderLayoutProbe's reply says the older layouts hold nothing of the check.
bool NothingOlder(const redisReply& r);

// `customer`'s checks decided on its key as read (its draft), each with its event's marker key as read (`seen[i]`),
// their results into `results`; or `customer.script` set when check.lua must decide them. True when its key is to be
// written.
bool Decide(std::span<const CustomerCheck> checks, std::span<const redisReply* const> seen_of, Customer& customer,
            const std::vector<char>& nothing_older, int64_t seen_ttl_ms, std::vector<CheckResult>& results);

// The call's customers, in the order of their first check (`prefixes[i]`: checks[i]'s customer's prefix).
std::vector<Customer> Group(std::span<const CustomerCheck> checks, const KeySchema& keys,
                            std::vector<std::string>& prefixes);

// `customer`'s draft on its key as read; the checks of it that would look in the older layouts appended to `probe`.
void Draft(std::span<const CustomerCheck> checks, const redisReply& value, bool older_layouts, Customer& customer,
           std::vector<size_t>& probe);

// The checks of the customers check.lua decides, of customers[c] for c in `which`, ascending.
template <typename Indexes>
std::vector<size_t> ScriptChecks(const std::vector<Customer>& customers, const Indexes& which) {
  std::vector<size_t> again;
  for (size_t c : which) {
    if (customers[c].script) again.insert(again.end(), customers[c].checks.begin(), customers[c].checks.end());
  }
  std::sort(again.begin(), again.end());
  return again;
}

}  // namespace tact::store::cas

namespace tact::store {

// The names the compare_and_set files (the only ones that include this header) use unqualified.
using cas::CasCall;
using cas::Customer;
using cas::Decide;
using cas::Draft;
using cas::ErrorReply;
using cas::Group;
using cas::NothingOlder;
using cas::OlderLayoutProbe;
using cas::ScriptChecks;
using cas::WriteCommand;
using cas::Written;

}  // namespace tact::store
