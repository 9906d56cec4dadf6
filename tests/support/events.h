#pragma once

// The one way tests build an outbound event, in each form a test needs: the core Event (unit tests of the decision
// path), the proto tact.v1.OutboundEvent (gRPC calls) and its proto3 JSON text (what tests put on tact.outbound).
// Designated initializers name only what a test cares about:
//   MakeEvent({.event_id = "a", .message_class = v1::PROMOTION})
//   JsonEvent({.event_id = "e-1", .customer_id = "cust-1", .created_at = "2026-11-20T09:00:00Z"})
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "daemon/core/event.h"
#include "tact/v1/event.pb.h"

namespace tact::testing {

struct EventFields {
  std::string event_id = "e1";
  std::string tenant = "acme";
  std::string customer_id = "c1";
  v1::Channel channel = v1::EMAIL;
  v1::MessageClass message_class = v1::PROACTIVE_SERVICE;
  std::string campaign_id;  // empty: none
  std::string created_at;   // RFC 3339; empty: unset
  std::string payload;      // base64, as the JSON mapping writes bytes; empty: none
};

inline Event MakeEvent(const EventFields& f) {
  Event e;
  e.event_id = f.event_id;
  e.tenant = f.tenant;
  e.customer_id = f.customer_id;
  e.channel = f.channel;
  e.message_class = f.message_class;
  e.campaign_id = f.campaign_id;
  if (!f.created_at.empty() && !absl::ParseTime(absl::RFC3339_full, f.created_at, &e.created_at, nullptr)) {
    e.created_at = absl::InfinitePast();
  }
  return e;
}

// The payload is not set (tests of the gRPC path never need one).
inline v1::OutboundEvent ProtoEvent(const EventFields& f) {
  v1::OutboundEvent ev;
  ev.set_event_id(f.event_id);
  ev.set_tenant(f.tenant);
  ev.set_customer_id(f.customer_id);
  ev.set_channel(f.channel);
  ev.set_message_class(f.message_class);
  if (!f.campaign_id.empty()) ev.set_campaign_id(f.campaign_id);
  if (!f.created_at.empty()) {
    absl::Time t;
    if (absl::ParseTime(absl::RFC3339_full, f.created_at, &t, nullptr)) {
      ev.mutable_created_at()->set_seconds(absl::ToUnixSeconds(t));
    }
  }
  return ev;
}

// camelCase keys in a fixed order (eventId, tenant, customerId, channel, messageClass, then campaignId, createdAt
// and payload when set), so a test can compare an output's bytes with the input's. Ids are written as given: tests
// use plain ASCII ids.
inline std::string JsonEvent(const EventFields& f) {
  std::string json = absl::StrCat(R"({"eventId":")", f.event_id, R"(","tenant":")", f.tenant, R"(","customerId":")",
                                  f.customer_id, R"(","channel":")", v1::Channel_Name(f.channel),
                                  R"(","messageClass":")", v1::MessageClass_Name(f.message_class), "\"");
  if (!f.campaign_id.empty()) absl::StrAppend(&json, R"(,"campaignId":")", f.campaign_id, "\"");
  if (!f.created_at.empty()) absl::StrAppend(&json, R"(,"createdAt":")", f.created_at, "\"");
  if (!f.payload.empty()) absl::StrAppend(&json, R"(,"payload":")", f.payload, "\"");
  return json + "}";
}

// The sample event of the Kafka-path tests: an email of the November outage campaign, created before the test's
// clock, with a payload (so a routed output's bytes can be compared with the input's).
inline EventFields OutageEvent(std::string event_id, std::string customer,
                               v1::MessageClass cls = v1::PROACTIVE_SERVICE) {
  return {.event_id = std::move(event_id), .customer_id = std::move(customer), .message_class = cls,
          .campaign_id = "outage-2026-11", .created_at = "2026-11-20T09:00:00Z", .payload = "aGVsbG8="};
}

}  // namespace tact::testing
