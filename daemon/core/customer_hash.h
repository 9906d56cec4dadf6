#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace tact {

// Keyed hash of (tenant, customer id): HMAC-SHA256, first 16 bytes as hex. The only form in which a
// customer may appear in logs, metrics or decision records. Thread-safety: immutable after construction, any
// thread (each Hash() works on its own copy of the keyed HMAC state).
class CustomerHasher {
 public:
  explicit CustomerHasher(std::string key);
  ~CustomerHasher();
  CustomerHasher(const CustomerHasher& other);
  CustomerHasher& operator=(const CustomerHasher& other);

  std::string Hash(std::string_view tenant, std::string_view customer_id) const;

 private:
  // HMAC keyed once (OpenSSL's one-shot HMAC() fetched the algorithms and re-derived the key pads on every call:
  // ~10% of tactd's CPU per Kafka event). Copied per call.
  struct Keyed;
  std::string key_;
  std::unique_ptr<Keyed> keyed_;
};

}  // namespace tact
