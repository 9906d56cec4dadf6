// Store v2's customer key encoding (check.lua's header) as ParseCustomerBlob reads it.
#include "daemon/store/customer_blob.h"

#include <gtest/gtest.h>

namespace tact::store {
namespace {

TEST(CustomerBlobTest, ReadsEveryEntryWithLengthPrefixedBytes) {
  // An event id and a counter suffix with the separators of the encoding in them.
  const std::string eid = "e 1\nk3 ";
  const std::string value = "2 1700\n" + std::string("m7 9 900\n") + eid + "1||1:0|mk" +
                            "g10 -5 0\ncomplaint:" + "k5 800 1,2,3\nr:a\nb" + "k8 700 4\nc:d:2027";
  std::optional<CustomerBlob> b = ParseCustomerBlob(value);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->old_until_ms, 1700);
  ASSERT_TRUE(b->marker.has_value());
  EXPECT_EQ(b->marker->event_id, eid);
  EXPECT_EQ(b->marker->payload, "1||1:0|mk");
  EXPECT_EQ(b->marker->expires_ms, 900);
  ASSERT_EQ(b->signals.size(), 1u);
  EXPECT_EQ(b->signals[0].field, "complaint:");
  EXPECT_EQ(b->signals[0].at_ms, -5);
  EXPECT_EQ(b->signals[0].expires_ms, 0);
  ASSERT_EQ(b->counters.size(), 2u);
  EXPECT_EQ(b->counters[0].suffix, "r:a\nb");
  EXPECT_TRUE(b->counters[0].rolling());
  EXPECT_EQ(b->counters[0].times, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(b->counters[0].empty_at_ms, 800);
  EXPECT_EQ(b->counters[1].suffix, "c:d:2027");
  EXPECT_EQ(b->counters[1].count, 4);
}

// Store v2 keeps the customer's last few markers, oldest first; `marker` is the latest.
TEST(CustomerBlobTest, ReadsEveryMarkerOldestFirst) {
  const std::string value = "2 0\n" + std::string("k3 800 1\nr:a") + "m2 3 700\ne1p-1" + "m2 3 900\ne2p-2";
  std::optional<CustomerBlob> b = ParseCustomerBlob(value);
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->markers.size(), 2u);
  EXPECT_EQ(b->markers[0].event_id, "e1");
  EXPECT_EQ(b->markers[0].payload, "p-1");
  EXPECT_EQ(b->markers[0].expires_ms, 700);
  EXPECT_EQ(b->markers[1].event_id, "e2");
  ASSERT_TRUE(b->marker.has_value());
  EXPECT_EQ(b->marker->event_id, "e2");
  EXPECT_EQ(b->counters.size(), 1u);
}

TEST(CustomerBlobTest, RejectsWhatIsNotItsEncoding) {
  for (const char* bad : {"", "1 0\n", "2 x\n", "2 0\nk5 800 1,2\nr:a", "2 0\nz", "2 0\nm1 1 5\nx", "2 0\nk3 1 x\nc:a"}) {
    EXPECT_FALSE(ParseCustomerBlob(bad).has_value()) << bad;
  }
  EXPECT_TRUE(ParseCustomerBlob("2 0\n").has_value());
}

}  // namespace
}  // namespace tact::store
