#include "daemon/core/customer_hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

#include "daemon/core/sha256.h"

namespace tact {

CustomerHasher::CustomerHasher(std::string key) : key_(std::move(key)), key_id_(Sha256Hex(key_).substr(0, 8)) {}

std::string CustomerHasher::Hash(std::string_view tenant, std::string_view customer_id) const {
  std::string msg;
  msg.reserve(tenant.size() + 1 + customer_id.size());
  msg.append(tenant).push_back('\0');  // unambiguous: tenant ids contain no NUL
  msg.append(customer_id);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), mac.data(), &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (unsigned int i = 0; i < 16 && i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

}  // namespace tact
