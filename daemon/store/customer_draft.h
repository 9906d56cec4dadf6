#pragma once

// check.lua's check, run in tactd (redis.checks: compare_and_set, RedisCounterStore): a customer's key `s` as read,
// the checks of one call decided on it one after the other, and what to write back, byte for byte what check.lua
// would have written (tests/integration/redis_cas_test.cc replays both on the same steps). The store writes it
// only if the key is still as read (cas.lua); when it is not, or when Check declines, check.lua decides instead.
// Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/store/counter_store.h"

namespace tact::store {

class CustomerDraft {
 public:
  // A decision marker an earlier decision kept in the key, moved to its own key `seen:<event_id>` (check.lua: a
  // final decision keeps kMarkersInCustomerKey markers in the key).
  struct Moved {
    std::string event_id;
    std::string payload;  // "<outcome>|<marker>"
    int64_t ttl_ms = 0;
  };
  // What to do to the key once every check is decided.
  enum class Write { kNone, kSet, kSetForever, kDelete };

  // `value`: the key as read (nullopt: none). `older_layouts`: the store looks in the older layouts for a customer
  // without a store-v2 key (check.lua then reads them: such a customer is declined by Check).
  CustomerDraft(std::optional<std::string> value, bool older_layouts)
      : read_(std::move(value)), value_(read_), older_layouts_(older_layouts) {}

  // Decides `check` on the key as earlier checks left it. `seen`: its event's own marker key as read (nullopt:
  // none). `nothing_older`: the store probed the older layouts for this check (check.lua's probe) and they hold
  // nothing of its customer or event. nullopt: check.lua must decide this customer (the key is not in store v2's
  // encoding, the customer may have state in an older layout, a stored outcome is malformed, a limit counts less
  // than 1 or two limits share a counter); nothing of the draft is to be written then.
  std::optional<CheckResult> Check(const CustomerCheck& check, std::optional<std::string_view> seen,
                                   int64_t seen_ttl_ms, bool nothing_older = false);
  // Whether a check at `now_ms` would look in the older layouts (the key as the checks so far left it): the store
  // probes them for such a check first (check.lua does the same: no key, or a customer moved from an older layout
  // less than the marker TTL ago). False when they are not looked in.
  bool LooksInOlderLayouts(int64_t now_ms) const;

  const std::optional<std::string>& read() const { return read_; }
  // The key's value to write (kSet / kSetForever) and its expiry in ms from the last check's now (kSet).
  Write write() const { return write_; }
  const std::optional<std::string>& value() const { return value_; }
  int64_t ttl_ms() const { return ttl_ms_; }
  // Markers to write to their own keys, in order (with the key, in one step).
  const std::vector<Moved>& moved() const { return moved_; }

 private:
  // The key as this decision leaves it (check.lua's store()): written with an expiry at `latest`, forever, or
  // deleted when nothing is left in it.
  void Keep(std::string value, bool forever, int64_t latest, int64_t now);

  // Not const: a const member is copied where the draft is moved (a vector of customers grows by copies then).
  std::optional<std::string> read_;   // as read, never changed
  std::optional<std::string> value_;  // as the checks so far left it
  bool older_layouts_;                // never changed
  Write write_ = Write::kNone;
  int64_t ttl_ms_ = 0;
  std::vector<Moved> moved_;
};

// A stored "<outcome>|<marker>" as a duplicate's result (check.lua's earlier_reply). nullopt when the outcome is
// malformed.
std::optional<CheckResult> EarlierDecision(std::string_view stored);

}  // namespace tact::store
