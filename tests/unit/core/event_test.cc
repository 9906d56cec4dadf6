// Event validation (daemon/core/event.h): ids are required and bounded, tenants keep to their charset, zones
// are known, created_at is not far ahead, and every error names the field without echoing the value.
#include "daemon/core/event.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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


TEST(TenantIdTest, CharsetAndLength) {
  for (const std::string& ok : std::vector<std::string>{"acme", "ACME-eu_1.prod", std::string(256, 't'), "0"}) {
    EXPECT_TRUE(IsValidTenantId(ok)) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{"", "acme:X", "ac{me", "ac}me", "acme corp", "acme/x",
                                                         "acm\xc3\xa9", "*", std::string(257, 't'),
                                                         std::string("ac\0me", 5)}) {
    EXPECT_FALSE(IsValidTenantId(bad)) << bad;
  }
  EXPECT_EQ(CheckTenantId("event.tenant", "").message(), "event.tenant: required");
  EXPECT_EQ(CheckTenantId("tenant", std::string(257, 't')).message(), "tenant: longer than 256 bytes");
  EXPECT_EQ(CheckTenantId("signal.tenant", "acme:secret-customer").message(),
            "signal.tenant: may contain only letters, digits, '.', '_' and '-'");
}

TEST(EventFromProtoTest, IdsAreRequiredBoundedAndTheTenantKeepsToItsCharset) {
  EXPECT_TRUE(EventFromProto(Valid()).ok());
  v1::OutboundEvent e = Valid();
  e.set_tenant("acme:X");
  EXPECT_EQ(EventFromProto(e, "event.").status().message(),
            "event.tenant: may contain only letters, digits, '.', '_' and '-'");
  e = Valid();
  e.clear_tenant();
  EXPECT_EQ(EventFromProto(e).status().message(), "tenant: required");
  e = Valid();
  e.clear_customer_id();
  EXPECT_EQ(EventFromProto(e).status().message(), "customer_id: required");
  // Customer and event ids may hold anything up to 256 bytes (the store keeps them apart: store/keys.h).
  e = Valid();
  e.set_customer_id(std::string(128, ':') + std::string(128, '}'));
  e.set_event_id(std::string(256, '{'));
  e.set_tenant(std::string(256, 'a'));
  EXPECT_TRUE(EventFromProto(e).ok());
  e.set_customer_id(std::string(257, 'c'));
  EXPECT_EQ(EventFromProto(e).status().message(), "customer_id: longer than 256 bytes");
}

}  // namespace
}  // namespace tact
