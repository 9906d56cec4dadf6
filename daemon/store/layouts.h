#pragma once

// Which Redis key layout a key belongs to (keys.h, legacy.lua), for counting them: an operator sets
// redis.older_layouts false once no key of layout v1 or of the legacy layout is left (`tactctl store layouts`).
#include <cstdint>
#include <string_view>

namespace tact::store {

enum class KeyLayout {
  kOther,   // not a customer's key (capacity `tact:cap:...`, archive `tact:archive:...`, anything else)
  kV2,      // under the keyed hash tag `tact:{<32 hex>}:`: `s`, and any suffix layout v1 did not have
  kV1,      // under the keyed hash tag: `idx`, `sig`, `r:...`, `c:...` (layout v1's names)
  kMarker,  // under the keyed hash tag: `seen:<event_id>`, store v2's (a string) or layout v1's (a hash): TYPE tells
  kLegacy,  // `tact:{<tenant>:<customer>}:...`, the layout before the keyed hash tag
};
KeyLayout ClassifyKey(std::string_view key);

// Customer keys per layout (RedisCounterStore::CountLayouts): store v2 (`s`, `seen:` strings), layout v1 (`idx`,
// `sig`, `r:`, `c:` and `seen:` hashes under the keyed hash tag), the legacy layout. A key may be counted twice
// (SCAN returns a key more than once while Redis rehashes); a layout with a key present for the whole scan is
// never counted 0.
struct LayoutCounts {
  int64_t v2 = 0;
  int64_t v1 = 0;
  int64_t legacy = 0;
};

}  // namespace tact::store
