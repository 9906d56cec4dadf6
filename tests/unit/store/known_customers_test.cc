#include "daemon/store/known_customers.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace tact::store {
namespace {

TEST(KnownCustomersTest, AKeyIsKnownUntilItExpires) {
  KnownCustomers known;
  EXPECT_FALSE(known.Known("tact:{a}:s", 1000));
  known.Saw("tact:{a}:s", 5000);
  EXPECT_TRUE(known.Known("tact:{a}:s", 1000));
  EXPECT_TRUE(known.Known("tact:{a}:s", 4999));
  EXPECT_FALSE(known.Known("tact:{a}:s", 5000));
  EXPECT_FALSE(known.Known("tact:{b}:s", 1000));
  known.Saw("tact:{a}:s", 9000);  // written again: a later expiry
  EXPECT_TRUE(known.Known("tact:{a}:s", 5000));
}

TEST(KnownCustomersTest, ForgetMakesEveryKeySeenBeforeItUnknownAndKeepsThoseSeenAfter) {
  KnownCustomers known;
  known.Saw("tact:{a}:s", 5000);
  known.Saw("tact:{b}:s", 5000);
  known.Forget();
  EXPECT_FALSE(known.Known("tact:{a}:s", 1000));
  EXPECT_FALSE(known.Known("tact:{b}:s", 1000));
  known.Saw("tact:{b}:s", 5000);
  EXPECT_TRUE(known.Known("tact:{b}:s", 1000));
  known.Forget();
  known.Saw("tact:{c}:s", 5000);
  EXPECT_FALSE(known.Known("tact:{b}:s", 1000));
  EXPECT_TRUE(known.Known("tact:{c}:s", 1000));
}

TEST(KnownCustomersTest, ItHoldsAboutItsSlotsOfKeysAndForgetsOthersWhenFull) {
  KnownCustomers known;
  const int n = static_cast<int>(KnownCustomers::kSlots);
  for (int i = 0; i < n; ++i) known.Saw(absl::StrCat("tact:{", i, "}:s"), 10);
  int still = 0;
  for (int i = 0; i < n; ++i) still += known.Known(absl::StrCat("tact:{", i, "}:s"), 0) ? 1 : 0;
  // a direct-mapped table: keys that share a slot overwrite each other, so about 1 - 1/e of them stay (every slot
  // used alike)
  EXPECT_GT(still, n * 6 / 10);
  EXPECT_LT(still, n * 66 / 100);
}

}  // namespace
}  // namespace tact::store
