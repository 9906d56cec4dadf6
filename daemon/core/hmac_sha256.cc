#include "daemon/core/hmac_sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <memory>

namespace tact {
namespace {
constexpr size_t kBlock = 64;  // SHA-256's block: longer keys are hashed first (RFC 2104)
}  // namespace

// The SHA-256 states after the key's inner (key ^ 0x36..) and outer (key ^ 0x5c..) block; nullptr when OpenSSL
// refused (then Mac() falls back to the one-shot HMAC(), which gives the same value).
struct HmacSha256::Keyed {
  std::string key;  // for the fallback only
  EVP_MD_CTX* inner = nullptr;
  EVP_MD_CTX* outer = nullptr;

  explicit Keyed(std::string_view k) : key(k) {
    unsigned char block[kBlock] = {};
    unsigned int hashed = 0;
    if (key.size() > kBlock) {
      if (EVP_Digest(key.data(), key.size(), block, &hashed, EVP_sha256(), nullptr) != 1) return;
    } else if (!key.empty()) {
      std::memcpy(block, key.data(), key.size());
    }
    unsigned char pad[kBlock];
    inner = Start(block, 0x36, pad);
    outer = Start(block, 0x5c, pad);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
    if (inner == nullptr || outer == nullptr) Drop();
  }
  ~Keyed() { Drop(); }
  Keyed(const Keyed&) = delete;
  Keyed& operator=(const Keyed&) = delete;

  static EVP_MD_CTX* Start(const unsigned char* block, unsigned char x, unsigned char* pad) {
    for (size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ x;
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    if (c != nullptr && (EVP_DigestInit_ex(c, EVP_sha256(), nullptr) != 1 || EVP_DigestUpdate(c, pad, kBlock) != 1)) {
      EVP_MD_CTX_free(c);
      c = nullptr;
    }
    return c;
  }
  void Drop() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
    inner = outer = nullptr;
  }
};

HmacSha256::HmacSha256(std::string_view key) : keyed_(std::make_shared<const Keyed>(key)) {}

HmacSha256::Digest HmacSha256::Mac(std::initializer_list<std::string_view> parts) const {
  Digest mac{};
  const Keyed& k = *keyed_;
  if (k.inner != nullptr) {
    // One context per thread, reused: EVP_MD_CTX_copy_ex resets it, so no state of an earlier Mac (of any key) is
    // left in it; a new context per call cost an allocation and the digest's reference count both ways.
    thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> reused(EVP_MD_CTX_new(),
                                                                                     &EVP_MD_CTX_free);
    EVP_MD_CTX* const c = reused.get();
    bool ok = c != nullptr && EVP_MD_CTX_copy_ex(c, k.inner) == 1;
    for (const std::string_view p : parts) ok = ok && EVP_DigestUpdate(c, p.data(), p.size()) == 1;
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(c, mac.data(), &len) == 1 && len == mac.size() && EVP_MD_CTX_copy_ex(c, k.outer) == 1 &&
         EVP_DigestUpdate(c, mac.data(), mac.size()) == 1 && EVP_DigestFinal_ex(c, mac.data(), &len) == 1 &&
         len == mac.size();
    if (ok) return mac;
  }
  std::string msg;
  for (const std::string_view p : parts) msg.append(p);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), k.key.data(), static_cast<int>(k.key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), out, &len);
  std::memcpy(mac.data(), out, mac.size());
  return mac;
}

void HmacSha256::AppendHex16(const Digest& mac, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char hex[32];
  for (size_t i = 0; i < 16; ++i) {
    hex[2 * i] = kHex[mac[i] >> 4];
    hex[2 * i + 1] = kHex[mac[i] & 0xf];
  }
  out.append(hex, sizeof hex);
}

}  // namespace tact
