// HmacSha256 (daemon/core/hmac_sha256.h), keyed once, against OpenSSL's one-shot HMAC(): the customer hash and
// the Redis key prefix are both computed with it.
#include "daemon/core/hmac_sha256.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <string>

namespace tact {
namespace {

HmacSha256::Digest Reference(const std::string& key, const std::string& msg) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), mac, &len);
  HmacSha256::Digest out{};
  std::memcpy(out.data(), mac, out.size());
  return out;
}

TEST(HmacSha256Test, EqualsOneShotHmacForKeysAroundTheBlockSizeAndMessagesInParts) {
  // Keys shorter than, equal to and longer than SHA-256's 64-byte block (a longer key is hashed first), the empty
  // key, a key with a NUL; messages from empty to several blocks, split anywhere.
  for (const std::string& key : {std::string(), std::string("bench"), std::string(63, 'k'), std::string(64, 'k'),
                                 std::string(65, 'k'), std::string(200, 'x'), std::string("a\0b", 3)}) {
    const HmacSha256 mac(key);
    for (size_t n : {0, 1, 31, 55, 56, 63, 64, 65, 119, 200}) {
      const std::string msg(n, static_cast<char>('a' + n % 26));
      EXPECT_EQ(mac.Mac({msg}), Reference(key, msg)) << key.size() << " " << n;
      for (size_t cut : {size_t{0}, n / 3, n}) {
        EXPECT_EQ(mac.Mac({std::string_view(msg).substr(0, cut), "", std::string_view(msg).substr(cut)}),
                  Reference(key, msg))
            << key.size() << " " << n << " " << cut;
      }
    }
  }
}

TEST(HmacSha256Test, RepeatedCallsAndCopiesGiveTheSameValue) {
  const HmacSha256 mac("key");
  const HmacSha256::Digest first = mac.Mac({"acme", "c-1"});
  EXPECT_EQ(mac.Mac({"acme", "c-1"}), first);  // the keyed state is not consumed by a call
  EXPECT_NE(mac.Mac({"acme", "c-2"}), first);
  HmacSha256 copy = mac;
  EXPECT_EQ(copy.Mac({"acme", "c-1"}), first);
  copy = HmacSha256("other");
  EXPECT_EQ(copy.Mac({"acme", "c-1"}), Reference("other", "acmec-1"));
  EXPECT_EQ(mac.Mac({"acme", "c-1"}), first);
}

TEST(HmacSha256Test, AppendHex16IsTheFirstSixteenBytesInLowercaseHex) {
  HmacSha256::Digest d{};
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<unsigned char>(i * 17);
  std::string out = "x";
  HmacSha256::AppendHex16(d, out);
  EXPECT_EQ(out, "x00112233445566778899aabbccddeeff");
}

}  // namespace
}  // namespace tact
