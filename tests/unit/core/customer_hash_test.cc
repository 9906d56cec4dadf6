#include "daemon/core/customer_hash.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

namespace tact {
namespace {

// HMAC-SHA256(key, tenant NUL customer), first 16 bytes as hex: the definition, with OpenSSL's one-shot HMAC().
std::string Reference(const std::string& key, const std::string& tenant, const std::string& customer) {
  std::string msg = tenant;
  msg.push_back('\0');
  msg += customer;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

TEST(CustomerHasherTest, IsHmacSha256OfTenantNulCustomerTruncatedToSixteenBytes) {
  // Keys shorter than, equal to and longer than SHA-256's 64-byte block (a longer key is hashed first), and the
  // empty key; messages from empty to several blocks.
  for (const std::string& key : {std::string(), std::string("bench"), std::string(64, 'k'), std::string(100, 'x'),
                                 std::string("a\0b", 3)}) {
    const CustomerHasher hasher(key);
    for (size_t n : {0, 1, 31, 55, 56, 63, 64, 65, 119, 200}) {
      const std::string customer(n, static_cast<char>('a' + n % 26));
      EXPECT_EQ(hasher.Hash("acme", customer), Reference(key, "acme", customer)) << key.size() << " " << n;
      EXPECT_EQ(hasher.Hash("", customer), Reference(key, "", customer)) << key.size() << " " << n;
    }
  }
  // A fixed value, so a change of the definition (not only of the implementation) is seen.
  EXPECT_EQ(CustomerHasher("bench").Hash("acme", "bench-1"), Reference("bench", "acme", "bench-1"));
  EXPECT_EQ(CustomerHasher("bench").Hash("acme", "bench-1").size(), 32u);
}

TEST(CustomerHasherTest, RepeatedCallsAndCopiesGiveTheSameValue) {
  const CustomerHasher hasher("key");
  const std::string first = hasher.Hash("acme", "c-1");
  EXPECT_EQ(hasher.Hash("acme", "c-1"), first);  // the keyed state is not consumed by a call
  EXPECT_NE(hasher.Hash("acme", "c-2"), first);
  CustomerHasher copy = hasher;
  EXPECT_EQ(copy.Hash("acme", "c-1"), first);
  copy = CustomerHasher("other");
  EXPECT_NE(copy.Hash("acme", "c-1"), first);
  EXPECT_EQ(copy.Hash("acme", "c-1"), Reference("other", "acme", "c-1"));
}

}  // namespace
}  // namespace tact
