#pragma once

// Store v2's customer key (`tact:{<h>}:s`, keys.h) as check.lua writes it (the encoding is in check.lua's header),
// read by RedisCounterStore::ReadCustomer and the tests. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
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

// The key read in place, as check.lua's parse() reads it: each entry as views into the value, with the text it was
// read as (check.lua writes an entry it did not change back as it was). CustomerDraft decides on it.
struct CustomerKeyView {
  struct Signal {
    std::string_view field;
    int64_t at = 0;
    int64_t expires = 0;  // 0 = never
    std::string_view raw;
  };
  struct Counter {
    std::string_view suffix;
    int64_t empty_at = 0;
    std::string_view data;  // rolling: the times, comma-separated; calendar: the count
    std::string_view raw;
  };
  struct Marker {
    std::string_view event_id;
    int64_t expires = 0;
    std::string_view payload;
    std::string_view raw;
  };
  std::string_view old_text = "0";  // no key: no older layout to look in
  int64_t old = 0;
  absl::InlinedVector<Signal, 4> signals;
  absl::InlinedVector<Counter, 8> counters;
  absl::InlinedVector<Marker, 2> markers;
};

// A whole decimal integer (optionally negative), as the encoding writes every number. False otherwise.
bool BlobInt(std::string_view text, int64_t* out);

// False when `value` is not in this encoding, strictly: every number an integer, every entry whole (check.lua
// reads such a key otherwise than it was written).
bool ReadCustomerKey(std::string_view value, CustomerKeyView* out);

// The key's header alone: the ms until which the older layouts are looked in for this customer (0: not at all; a
// customer moved from one is looked for there until then). nullopt when the header is not in this encoding.
std::optional<int64_t> OlderLayoutsUntil(std::string_view value);

// ReadCustomerKey's entries as values, each counter's times or count read. nullopt when `value` is not in this
// encoding or a counter's data is not numbers.
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
