// The Redis key schema (daemon/store/keys.h): one fixed-length keyed tag per (tenant, customer), whatever the ids
// contain, and the legacy prefix only where the old layout names one customer.
#include "daemon/store/keys.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <set>

namespace tact::store {
namespace {

// The documented format, computed independently:
//   python3 -c "import hmac,hashlib; print(hmac.new(b'tact.redis-key.v1', b'4:acme17:maria@example.com',
//               hashlib.sha256).hexdigest()[:32])"
TEST(KeySchemaTest, PrefixIsTheKeyedHashOfTheLengthPrefixedIds) {
  EXPECT_EQ(KeySchema().CustomerPrefix("acme", "maria@example.com"), "tact:{0cbe79518939badf181ad8b20143714e}:");
  EXPECT_EQ(KeySchema("s3cret").CustomerPrefix("acme", "maria@example.com"),
            "tact:{c0c90cc69d8909d97e56defa52d60b1b}:");
  EXPECT_FALSE(KeySchema().has_secret());
  EXPECT_FALSE(KeySchema("").has_secret());
  EXPECT_TRUE(KeySchema("s3cret").has_secret());
}

// The definition with OpenSSL's one-shot HMAC(), for secrets around SHA-256's 64-byte block (the schema keys its
// HMAC once) and ids from empty to several blocks.
TEST(KeySchemaTest, PrefixEqualsTheOneShotHmacForAnySecret) {
  auto reference = [](const std::string& key, const std::string& tenant, const std::string& customer) {
    const std::string msg = absl::StrCat(tenant.size(), ":", tenant, customer.size(), ":", customer);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
         msg.size(), mac, &len);
    std::string out = "tact:{";
    for (int i = 0; i < 16; ++i) absl::StrAppend(&out, absl::Hex(mac[i], absl::kZeroPad2));
    return out + "}:";
  };
  for (const std::string& secret : {std::string(), std::string("s3cret"), std::string(64, 's'), std::string(65, 's'),
                                    std::string(300, 'q')}) {
    const KeySchema keys(secret);
    const std::string key = secret.empty() ? std::string(KeySchema::kPublicKey) : secret;
    for (size_t n : {0, 1, 9, 10, 50, 64, 100, 1000}) {
      const std::string customer(n, static_cast<char>('a' + n % 26));
      EXPECT_EQ(keys.CustomerPrefix("acme", customer), reference(key, "acme", customer)) << secret.size() << " " << n;
      EXPECT_EQ(keys.CustomerPrefix(customer, "c"), reference(key, customer, "c")) << secret.size() << " " << n;
    }
  }
}

TEST(KeySchemaTest, IdsThatTheOldLayoutConfusedGetTagsOfTheirOwn) {
  const KeySchema keys;
  const std::pair<std::string, std::string> ids[] = {
      {"acme:X", "y"}, {"acme", "X:y"},      {"acme", "a}b"},          {"acme", "a"},
      {"acme", "{a"},  {"acme", "a}:seen:e"}, {"acme", ""},             {"", "acme"},
      {"a", "cme"},    {"acme", "1:x"},       {std::string(256, 't'), std::string(256, '}')},
      {"acme", std::string(256, '{')},
  };
  std::set<std::string> prefixes;
  for (const auto& [tenant, customer] : ids) {
    const std::string p = keys.CustomerPrefix(tenant, customer);
    EXPECT_TRUE(prefixes.insert(p).second) << tenant.substr(0, 8) << " / " << customer.substr(0, 8);
    // Fixed length, one '{' and one '}' (the hash tag is exactly the 32 hex digits), no id bytes.
    ASSERT_EQ(p.size(), 6u + 32u + 2u);
    EXPECT_EQ(p.find('{'), 5u);
    EXPECT_EQ(p.find('}'), 38u);
    EXPECT_EQ(p.find_first_not_of("0123456789abcdef", 6), 38u);
  }
}

TEST(KeySchemaTest, LegacyPrefixOnlyWhereTheOldLayoutNamesOneCustomer) {
  EXPECT_EQ(KeySchema::LegacyCustomerPrefix("acme", "c1").value_or("none"), "tact:{acme:c1}:");
  EXPECT_EQ(KeySchema::LegacyCustomerPrefix("acme", "X:y{z").value_or("none"), "tact:{acme:X:y{z}:");
  EXPECT_FALSE(KeySchema::LegacyCustomerPrefix("acme:X", "y").has_value());
  EXPECT_FALSE(KeySchema::LegacyCustomerPrefix("ac{me", "y").has_value());
  EXPECT_FALSE(KeySchema::LegacyCustomerPrefix("ac}me", "y").has_value());
  EXPECT_FALSE(KeySchema::LegacyCustomerPrefix("acme", "a}b").has_value());
}

}  // namespace
}  // namespace tact::store
