#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/core/hmac_sha256.h"
#include "daemon/core/strings.h"

namespace tact::store {

// Redis key schema (docs/operations.md "Redis keys"). Every key of one customer starts with the customer's prefix
//   tact:{<h>}:   h = the first 16 bytes, as 32 lowercase hex digits, of
//                     HMAC-SHA256(secret, "<len(tenant)>:<tenant><len(customer_id)>:<customer_id>")
// (lengths in decimal bytes), followed by a suffix. Store v2 (check.lua's header has the encoding): `s`, ONE string
// holding all of the customer's counters, signals and its last kMarkersInCustomerKey decision markers, and
// `seen:<event_id>`, a string "<outcome>|<marker>" for each earlier decision marker still live. Layout v1 (read and moved by legacy.lua): `sig`,
// `idx`, `seen:<event_id>` (hash), `r:<rule>[:<scope>]`, `c:<rule>[:<scope>]:<period>`. The tag is unambiguous
// (length-prefixed ids, a fixed length, no '{' or '}' from an id), keeps raw ids out of Redis, and all of a
// customer's keys share it (one script, one Cluster slot); because the prefix has a fixed length, the suffix
// after it (and the event id in `seen:`) cannot collide either.
// The secret is redis.key_secret (TACT_REDIS_KEY_SECRET); unset, a fixed public key is used: still unambiguous,
// but anyone who knows a tenant and customer id can compute the tag. Changing the secret starts every counter,
// signal and decision marker afresh. The HMAC is keyed once (hmac_sha256.h): a prefix is computed per check.
// Thread-safety: immutable, any thread.
class KeySchema {
 public:
  // The key used when no secret is configured (public: it only separates this use of HMAC from others).
  static constexpr std::string_view kPublicKey = "tact.redis-key.v1";

  explicit KeySchema(std::string secret = "");
  bool has_secret() const { return has_secret_; }

  // "tact:{<32 hex>}:".
  std::string CustomerPrefix(std::string_view tenant, std::string_view customer_id) const;

  // The layout before this schema, "tact:{<tenant>:<customer_id>}:", for reading and moving a customer's existing
  // keys (check.lua's upgrade). Only when it names one customer: a tenant with ':', '{' or '}', or a customer
  // id with '}', gives nullopt (such a customer's legacy keys are not read: its counts start afresh).
  static std::optional<std::string> LegacyCustomerPrefix(std::string_view tenant, std::string_view customer_id);

 private:
  HmacSha256 mac_;
  bool has_secret_ = false;
};

// Every prefix one customer's keys may have: CustomerPrefix, then LegacyCustomerPrefix when there is one (what
// CounterStore::ForgetCustomer erases). The legacy layout was ambiguous: a legacy key of customer "<C>}..."
// also starts with customer C's legacy prefix.
std::vector<std::string> CustomerPrefixes(const KeySchema& keys, std::string_view tenant, std::string_view customer_id);

// The archive (CounterStore::PutArchived): "tact:archive:{<name>}", outside every customer's prefix (those start
// "tact:{"), its own hash tag (a name has no '{' or '}': CheckArchiveName).
inline constexpr std::string_view kArchiveKeyPrefix = "tact:archive:";
inline std::string ArchiveKey(std::string_view name) {
  return absl::StrCat(AsAbsl(kArchiveKeyPrefix), "{", AsAbsl(name), "}");
}

// Store v2: the live decision markers a customer's key `s` keeps at most (check.lua's KEEP_MARKERS, the same
// number): a final decision that would make one more moves the oldest to its own key `seen:<event_id>`. 2, by
// measurement (check.lua's header); a key holding more (written by a version that keeps more) is read whole.
inline constexpr int kMarkersInCustomerKey = 2;

// Store v2: a counter stays in its customer's key this long after it is empty again (check.lua's KEEP, the same
// number): instances whose clocks disagree must not drop a period's counter another still counts in.
inline constexpr int64_t kCounterKeepMs = 93'600'000;  // 26 h

// The layout seal (RedisCounterStore::SealLayouts): "v2" when no customer key of an older layout (v1, legacy) is
// left and none will be written, so no tactd looks in them (as with redis.older_layouts false). Outside every
// customer's prefix (those start "tact:{"); never expires.
inline constexpr std::string_view kLayoutSealKey = "tact:layouts";
inline constexpr std::string_view kLayoutSealValue = "v2";

inline std::string SeenKey(std::string_view prefix, std::string_view event_id) {
  return absl::StrCat(AsAbsl(prefix), "seen:", AsAbsl(event_id));
}
// Store v2: the customer's one key (counters, signals, its last kMarkersInCustomerKey markers).
inline std::string CustomerKey(std::string_view prefix) { return absl::StrCat(AsAbsl(prefix), "s"); }
// Layout v1 (and the in-memory store's names): the signal hash.
inline std::string SignalsKey(std::string_view prefix) { return absl::StrCat(AsAbsl(prefix), "sig"); }
// Layout v1: the customer's counter index (counter_store.h): field = counter suffix, value = ms when it is empty again.
inline std::string IndexKey(std::string_view prefix) { return absl::StrCat(AsAbsl(prefix), "idx"); }

}  // namespace tact::store
