#include "daemon/core/customer_hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <array>

namespace tact {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string Hex16(const unsigned char* mac, size_t len) {
  std::string out(2 * std::min<size_t>(16, len), '\0');
  for (size_t i = 0; 2 * i < out.size(); ++i) {
    out[2 * i] = kHex[mac[i] >> 4];
    out[2 * i + 1] = kHex[mac[i] & 0xf];
  }
  return out;
}

}  // namespace

// The HMAC-SHA256 state after the key (OpenSSL 3 EVP_MAC); nullptr members when OpenSSL refused (then Hash()
// falls back to the one-shot HMAC(), which gives the same value).
struct CustomerHasher::Keyed {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;

  explicit Keyed(const std::string& key) {
    mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    ctx = mac == nullptr ? nullptr : EVP_MAC_CTX_new(mac);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    static const unsigned char kEmpty = 0;
    if (ctx == nullptr ||
        EVP_MAC_init(ctx, key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     params) != 1) {
      EVP_MAC_CTX_free(ctx);
      ctx = nullptr;
    }
  }
  ~Keyed() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
  Keyed(const Keyed&) = delete;
  Keyed& operator=(const Keyed&) = delete;
};

CustomerHasher::CustomerHasher(std::string key) : key_(std::move(key)), keyed_(std::make_unique<Keyed>(key_)) {}
CustomerHasher::~CustomerHasher() = default;
CustomerHasher::CustomerHasher(const CustomerHasher& other) : CustomerHasher(other.key_) {}
CustomerHasher& CustomerHasher::operator=(const CustomerHasher& other) {
  if (this != &other) {
    key_ = other.key_;
    keyed_ = std::make_unique<Keyed>(key_);
  }
  return *this;
}

std::string CustomerHasher::Hash(std::string_view tenant, std::string_view customer_id) const {
  static constexpr unsigned char kNul = 0;  // unambiguous: tenant ids contain no NUL
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  if (keyed_->ctx != nullptr) {
    EVP_MAC_CTX* c = EVP_MAC_CTX_dup(keyed_->ctx);
    size_t len = 0;
    const bool ok = c != nullptr &&
                    EVP_MAC_update(c, reinterpret_cast<const unsigned char*>(tenant.data()), tenant.size()) == 1 &&
                    EVP_MAC_update(c, &kNul, 1) == 1 &&
                    EVP_MAC_update(c, reinterpret_cast<const unsigned char*>(customer_id.data()),
                                   customer_id.size()) == 1 &&
                    EVP_MAC_final(c, mac.data(), &len, mac.size()) == 1;
    EVP_MAC_CTX_free(c);
    if (ok) return Hex16(mac.data(), len);
  }
  std::string msg;
  msg.reserve(tenant.size() + 1 + customer_id.size());
  msg.append(tenant).push_back('\0');
  msg.append(customer_id);
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), mac.data(), &len);
  return Hex16(mac.data(), len);
}

}  // namespace tact
