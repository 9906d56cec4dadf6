#pragma once

// Store v2's customer key (`tact:{<h>}:s`, keys.h) as check.lua writes it (the encoding is in check.lua's header),
// read by RedisCounterStore::ReadCustomer and the tests. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/core/store_outcome.h"

namespace tact::store {

struct CustomerBlob {
  struct Marker {
    std::string event_id;
    std::string payload;  // "<outcome>|<marker>"
    int64_t expires_ms = 0;
  };
  struct Signal {
    std::string field;
    int64_t at_ms = 0;
    int64_t expires_ms = 0;  // 0 = never
  };
  struct Counter {
    std::string suffix;        // "r:..." rolling, "c:..." calendar
    int64_t empty_at_ms = 0;   // when it is empty again
    std::vector<int64_t> times;  // rolling: the ms of each counted message, ascending
    int64_t count = 0;           // calendar
    bool rolling() const { return suffix.starts_with("r:"); }
  };
  int64_t old_until_ms = 0;  // older layouts are looked at until then (legacy.lua)
  std::optional<Marker> marker;  // the latest (the last of `markers`)
  std::vector<Marker> markers;   // every decision marker in the key, oldest first
  std::vector<Signal> signals;
  std::vector<Counter> counters;
};

// nullopt when `value` is not in this encoding.
std::optional<CustomerBlob> ParseCustomerBlob(std::string_view value);

// Times as check.lua writes them in replies and stored outcomes: a frees_at of 0 is none (InfinitePast), an until of
// -1 no known end (InfiniteFuture).
inline absl::Time FromMillisOrPast(int64_t ms) { return ms == 0 ? absl::InfinitePast() : absl::FromUnixMillis(ms); }
inline absl::Time FromMillisOrFuture(int64_t ms) {
  return ms == -1 ? absl::InfiniteFuture() : absl::FromUnixMillis(ms);
}

// A stored outcome "<reserved>|<hit>:<until>,...|<used>:<frees_at>,..." (check.lua's, kept with a decision
// marker). INTERNAL "check.lua: malformed stored outcome" when it is not one.
absl::StatusOr<StoreOutcome> ParseStoredOutcome(std::string_view text);

}  // namespace tact::store
