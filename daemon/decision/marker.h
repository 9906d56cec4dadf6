#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/core/event.h"
#include "daemon/policy/plan.h"

namespace tact::decision {

// What identifies the message an event_id was first decided for (README "Event ids"): an event_id names one
// message of one (tenant, customer); its redelivery has the same class, channel and campaign.
struct Fingerprint {
  MessageClass message_class = v1::MESSAGE_CLASS_UNSPECIFIED;
  Channel channel = v1::CHANNEL_UNSPECIFIED;
  int64_t campaign_hash = 0;  // FNV-1a (63 bits) of campaign_id: the id itself is not stored twice

  bool operator==(const Fingerprint&) const = default;
};
Fingerprint FingerprintOf(const Event& event);

// What is stored with a final decision so a redelivered event gets exactly the earlier decision back,
// even after a policy reload.
struct Marker {
  std::string policy_version;
  std::string policy_digest;
  policy::Plan plan;
  // Absent in markers stored by versions before the fingerprint ("m2;"): such a marker matches any event.
  std::optional<Fingerprint> fingerprint;
};

// The plan as compact text and back (core/token_codec.h): what a marker persists, so a redelivered event is decided
// from it even after the policy changed. The decoded plan owns its text (Plan::storage). DecodePlan also reads
// the JSON that versions before 2026-12 stored; INTERNAL "plan: …" when the text is neither.
std::string EncodePlan(const policy::Plan& plan);
absl::StatusOr<policy::Plan> DecodePlan(std::string_view text);

std::string EncodeMarker(const Marker& marker);
absl::StatusOr<Marker> DecodeMarker(std::string_view text);

// OK when `event` is the message `earlier` was stored for (or `earlier` has no fingerprint); else
// INVALID_ARGUMENT "<prefix>event_id: already used for a different message (message_class, channel differ)",
// naming the fields that differ, never their values.
absl::Status CheckSameMessage(const Marker& earlier, const Event& event, std::string_view field_prefix);

}  // namespace tact::decision
