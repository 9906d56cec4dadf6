// Which Redis key layout a key belongs to (layouts.h), as `tactctl store layouts` counts them.
#include "daemon/store/layouts.h"

#include <gtest/gtest.h>

#include "daemon/store/keys.h"

namespace tact::store {
namespace {

TEST(KeyLayoutTest, KeysAreClassifiedByTheirTagAndSuffix) {
  const std::string p = KeySchema("secret").CustomerPrefix("acme", "c1");  // tact:{<32 hex>}:
  EXPECT_EQ(ClassifyKey(CustomerKey(p)), KeyLayout::kV2);
  EXPECT_EQ(ClassifyKey(SeenKey(p, "e-1")), KeyLayout::kMarker);  // a string (v2) or a hash (v1): TYPE tells
  for (const std::string suffix : {"idx", "sig", "r:cap", "r:cap:email", "c:day:2027-01-15"}) {
    EXPECT_EQ(ClassifyKey(p + suffix), KeyLayout::kV1) << suffix;
  }
  EXPECT_EQ(ClassifyKey(p + "later"), KeyLayout::kV2);  // a name layout v1 never had
  const std::string legacy = *KeySchema::LegacyCustomerPrefix("acme", "c1");
  for (const std::string suffix : {"idx", "sig", "r:cap", "seen:e-1", "s"}) {
    EXPECT_EQ(ClassifyKey(legacy + suffix), KeyLayout::kLegacy) << suffix;
  }
  // A legacy tag of 32 hex digits is still "<tenant>:<customer>": its "}:" comes later.
  EXPECT_EQ(ClassifyKey("tact:{0123456789abcdef0123456789abcdef:c1}:idx"), KeyLayout::kLegacy);
  EXPECT_EQ(ClassifyKey("tact:{0123456789ABCDEF0123456789ABCDEF}:idx"), KeyLayout::kLegacy);  // not tactd's hex
  for (const char* other : {"tact:cap:{acme}:released", "tact:archive:{p}", "other", "tact:", ""}) {
    EXPECT_EQ(ClassifyKey(other), KeyLayout::kOther) << other;
  }
}

}  // namespace
}  // namespace tact::store
