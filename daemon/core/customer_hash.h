#pragma once

#include <string>
#include <string_view>

namespace tact {

// Keyed hash of (tenant, customer id): HMAC-SHA256, first 16 bytes as hex. The only form in which a
// customer may appear in logs, metrics or decision records. Thread-safety: immutable, any thread.
class CustomerHasher {
 public:
  explicit CustomerHasher(std::string key) : key_(std::move(key)) {}
  std::string Hash(std::string_view tenant, std::string_view customer_id) const;

 private:
  std::string key_;
};

}  // namespace tact
