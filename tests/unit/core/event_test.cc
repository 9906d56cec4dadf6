// Event validation (daemon/core/event.h): ids are required and bounded, tenants keep to their charset, and every
// error names the field without echoing the value.
#include "daemon/core/event.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tact {
namespace {

v1::OutboundEvent Valid() {
  v1::OutboundEvent e;
  e.set_event_id("e1");
  e.set_tenant("acme");
  e.set_customer_id("c1");
  e.set_channel(v1::EMAIL);
  e.set_message_class(v1::PROMOTION);
  return e;
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
