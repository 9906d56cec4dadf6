#include "daemon/core/customer_hash.h"

#include "daemon/core/sha256.h"

namespace tact {

CustomerHasher::CustomerHasher(std::string key) : mac_(key), key_id_(Sha256Hex(key).substr(0, 8)) {}

std::string CustomerHasher::Hash(std::string_view tenant, std::string_view customer_id) const {
  // NUL between the two: unambiguous, tenant ids contain no NUL.
  const HmacSha256::Digest mac = mac_.Mac({tenant, std::string_view("\0", 1), customer_id});
  std::string out;
  out.reserve(32);
  HmacSha256::AppendHex16(mac, out);
  return out;
}

}  // namespace tact
