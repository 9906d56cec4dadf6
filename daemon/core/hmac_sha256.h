#pragma once

#include <array>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace tact {

// HMAC-SHA256 keyed once: the key's inner and outer SHA-256 states are computed at construction, and each Mac()
// continues copies of them (two SHA-256 blocks for a short message). OpenSSL's one-shot HMAC() fetched the
// algorithms and re-derived the key pads on every call (~1 us; this ~0.15 us): the customer hash and the Redis key
// prefix are computed per event. Thread-safety: immutable after construction, any thread; copies share the keyed
// state.
class HmacSha256 {
 public:
  using Digest = std::array<unsigned char, 32>;

  explicit HmacSha256(std::string_view key);

  // HMAC-SHA256(key, the concatenation of `parts`).
  Digest Mac(std::initializer_list<std::string_view> parts) const;

  // The first 16 bytes of `mac` as 32 lowercase hex digits, appended to `out`.
  static void AppendHex16(const Digest& mac, std::string& out);

 private:
  struct Keyed;
  std::shared_ptr<const Keyed> keyed_;
};

}  // namespace tact
