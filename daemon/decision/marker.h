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
// even after a policy reload and on another tactd instance.
// Formats (DecodeMarker reads them all; EncodeMarker writes "m4;" when `decided_at_ms` is set):
//   "m4;" (since 2026-12)  the fingerprint, version, digest, decided_at_ms and plan_hash, ~130 bytes: no plan. The
//                           plan is a pure function of (policy, event, time), so it is planned again from the policy
//                           with that digest (the current one, or decision::PolicyArchive) and used only when its
//                           PlanHash is plan_hash (decision/earlier_decision.h).
//   "m3;" / "m2;" / JSON   the whole plan (EncodePlan), ~760 bytes under the default policy: `plan` is set.
struct Marker {
  std::string policy_version;
  std::string policy_digest;
  // The plan of the decision: the marker's own (m2/m3/JSON). For EncodeMarker of an m4 marker: the plan whose
  // PlanHash is stored. Empty after DecodeMarker of an m4 marker (EarlierPlan plans it again).
  policy::Plan plan;
  // Absent in markers stored by versions before the fingerprint ("m2;"): such a marker matches any event.
  std::optional<Fingerprint> fingerprint;
  // m4: the time the plan was made from (the batch's decision time, in Unix ms: PlanEvent at its ms truncation
  // makes the same plan, as every time boundary of a plan is a whole millisecond).
  std::optional<int64_t> decided_at_ms;
  // m4: PlanHash(plan) as stored (set by DecodeMarker). EncodeMarker writes it when set (a PlanHashMemo's), else
  // computes it.
  int64_t plan_hash = 0;
};

// The plan as compact text and back (core/token_codec.h): what a marker persists, so a redelivered event is decided
// from it even after the policy changed. The decoded plan owns its text (Plan::storage). DecodePlan also reads
// the JSON that versions before 2026-12 stored; INTERNAL "plan: …" when the text is neither.
std::string EncodePlan(const policy::Plan& plan);
absl::StatusOr<policy::Plan> DecodePlan(std::string_view text);

// 64-bit FNV-1a of EncodePlan(plan), as a non-negative int64 (the top bit cleared), computed without building
// the text. Stable across processes and versions as long as EncodePlan's "p2;" format is.
int64_t PlanHash(const policy::Plan& plan);

// PlanHash of the plans of one batch, one after another: a plan whose tokens are the last one's (a campaign's events
// in one zone) is compared with them, not hashed again (bench/marker_bench.cc: a compare costs a fraction of the
// hash, which formats every number and multiplies per byte). Not thread-safe: one per batch.
class PlanHashMemo {
 public:
  int64_t Hash(const policy::Plan& plan);

 private:
  std::string last_;  // the last plan hashed, its tokens in binary (marker.cc, PlanRecord)
  int64_t hash_ = 0;  // its PlanHash
};

// "m4;" when marker.fingerprint and marker.decided_at_ms are set (tactd's markers; built once per final decision on
// the hot path), else "m3;" with a fingerprint, else "m2;" (the formats of earlier versions, for tests and tools).
std::string EncodeMarker(const Marker& marker);
absl::StatusOr<Marker> DecodeMarker(std::string_view text);

// OK when `event` is the message `earlier` was stored for (or `earlier` has no fingerprint); else
// INVALID_ARGUMENT "<prefix>event_id: already used for a different message (message_class, channel differ)",
// naming the fields that differ, never their values.
absl::Status CheckSameMessage(const Marker& earlier, const Event& event, std::string_view field_prefix);

}  // namespace tact::decision
