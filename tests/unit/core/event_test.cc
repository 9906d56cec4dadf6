#include "daemon/core/event.h"

#include <gtest/gtest.h>

namespace tact {
namespace {

v1::OutboundEvent Valid() {
  v1::OutboundEvent p;
  p.set_event_id("e-1");
  p.set_tenant("acme");
  p.set_customer_id("maria@example.com");
  p.set_channel(v1::SMS);
  p.set_message_class(v1::PROMOTION);
  return p;
}

TEST(EventFromProtoTest, UnknownTimeZoneIsRefusedNeverReplaced) {
  v1::OutboundEvent p = Valid();
  p.set_customer_timezone("America/Los_Angeles");
  ASSERT_TRUE(EventFromProto(p).ok());
  p.set_customer_timezone("America/Los_Angles");  // the misspelling that became UTC
  absl::StatusOr<Event> e = EventFromProto(p);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(), "customer_timezone: unknown time zone");
  EXPECT_EQ(EventFromProto(p, "event.").status().message(), "event.customer_timezone: unknown time zone");
  // Paths and other text cctz would try to open are not zones.
  for (const char* bad : {"/etc/localtime", "../zoneinfo/UTC", "file:/etc/localtime", "Europe/Berlin ", "+49 151"}) {
    p.set_customer_timezone(bad);
    EXPECT_EQ(EventFromProto(p).status().message(), "customer_timezone: unknown time zone") << bad;
  }
  for (const char* good : {"UTC", "Etc/GMT+5", "America/Port-au-Prince", "Europe/Berlin"}) {
    p.set_customer_timezone(good);
    EXPECT_TRUE(EventFromProto(p).ok()) << good;
    EXPECT_TRUE(IsKnownTimeZone(good)) << good;  // the per-thread cache answers the same the second time
  }
}

TEST(EventFromProtoTest, AttributeErrorDoesNotQuoteTheKey) {
  v1::OutboundEvent p = Valid();
  (*p.mutable_attributes())["+4915112345678"] = std::string(2000, 'x');
  absl::StatusOr<Event> e = EventFromProto(p, "event.");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "event.attributes: an entry's key + value longer than 1024 bytes");
}

TEST(CheckCreatedAtTest, OneRuleForBothPaths) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  Event e;
  EXPECT_TRUE(CheckCreatedAt(e, now).ok());  // unset
  e.created_at = now + absl::Hours(23);
  EXPECT_TRUE(CheckCreatedAt(e, now).ok());
  e.created_at = now + kMaxFutureSkew;
  EXPECT_TRUE(CheckCreatedAt(e, now).ok());
  e.created_at = now + kMaxFutureSkew + absl::Seconds(1);
  EXPECT_EQ(CheckCreatedAt(e, now).message(), "created_at: more than 24h in the future");
  e.created_at = absl::FromUnixSeconds(4'070'908'800);  // 2099-01-01
  const absl::Status s = CheckCreatedAt(e, now, "event.");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "event.created_at: more than 24h in the future");
  e.created_at = now - absl::Hours(24 * 365);  // the past is fine
  EXPECT_TRUE(CheckCreatedAt(e, now).ok());
}

}  // namespace
}  // namespace tact
