#include "daemon/store/keys.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace tact::store {

KeySchema::KeySchema(std::string secret)
    : key_(secret.empty() ? std::string(kPublicKey) : std::move(secret)), has_secret_(key_ != kPublicKey) {}

std::string KeySchema::CustomerPrefix(std::string_view tenant, std::string_view customer_id) const {
  const std::string msg = absl::StrCat(tenant.size(), ":", AsAbsl(tenant), customer_id.size(), ":", AsAbsl(customer_id));
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), mac.data(), &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "tact:{";
  out.reserve(6 + 32 + 2);
  for (unsigned int i = 0; i < 16 && i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  out.append("}:");
  return out;
}

std::optional<std::string> KeySchema::LegacyCustomerPrefix(std::string_view tenant, std::string_view customer_id) {
  if (tenant.find_first_of(":{}") != std::string_view::npos || customer_id.find('}') != std::string_view::npos) {
    return std::nullopt;
  }
  return absl::StrCat("tact:{", AsAbsl(tenant), ":", AsAbsl(customer_id), "}:");
}

std::vector<std::string> CustomerPrefixes(const KeySchema& keys, std::string_view tenant,
                                          std::string_view customer_id) {
  std::vector<std::string> out = {keys.CustomerPrefix(tenant, customer_id)};
  if (std::optional<std::string> legacy = KeySchema::LegacyCustomerPrefix(tenant, customer_id)) {
    out.push_back(*std::move(legacy));
  }
  return out;
}

}  // namespace tact::store
