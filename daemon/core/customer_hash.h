#pragma once

#include <string>
#include <string_view>

#include "daemon/core/hmac_sha256.h"

namespace tact {

// Keyed hash of (tenant, customer id): HMAC-SHA256, first 16 bytes as hex. The only form in which a
// customer may appear in logs, metrics or decision records. Thread-safety: immutable after construction, any
// thread (the HMAC is keyed once: hmac_sha256.h).
class CustomerHasher {
 public:
  explicit CustomerHasher(std::string key);

  std::string Hash(std::string_view tenant, std::string_view customer_id) const;
  // Which key this is, safe to publish: the first 8 hex digits of sha256(key) (DecisionRecord.customer_hash_key_id).
  const std::string& KeyId() const { return key_id_; }

 private:
  HmacSha256 mac_;
  std::string key_id_;
};

}  // namespace tact
