#include "daemon/decision/marker.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/strings.h"
#include "daemon/core/token_codec.h"
#include "nlohmann/json.hpp"

namespace tact::decision {
namespace {

// A marker stored as JSON ({"v","d","p": plan JSON}) by versions before the token encoding: still read, so an
// event redelivered across an upgrade gets its earlier decision.
absl::StatusOr<Marker> DecodeJsonMarker(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InternalError("decision marker: not JSON");
  }
  try {
    Marker m;
    m.policy_version = j.at("v").get<std::string>();
    m.policy_digest = j.at("d").get<std::string>();
    absl::StatusOr<policy::Plan> plan = policy::DecodePlan(j.at("p").get<std::string>());
    if (!plan.ok()) {
      return absl::InternalError(absl::StrCat("decision marker: ", plan.status().message()));
    }
    m.plan = *std::move(plan);
    return m;
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(std::string("decision marker: ") + e.what());
  }
}

}  // namespace

Fingerprint FingerprintOf(const Event& event) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64: stable across processes and versions
  for (const char c : event.campaign_id) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return Fingerprint{.message_class = event.message_class,
                     .channel = event.channel,
                     .campaign_hash = static_cast<int64_t>(h & static_cast<uint64_t>(INT64_MAX))};
}

// "m3;" message_class; channel; campaign_hash; then as "m2;": version digest, then the plan (policy::EncodePlan).
// Built once per final decision on the hot path. Versions before the fingerprint wrote (and read only) "m2;".
std::string EncodeMarker(const Marker& m) {
  TokenWriter w;
  if (m.fingerprint) {
    w.Raw("m3;");
    w.Int(m.fingerprint->message_class);
    w.Int(m.fingerprint->channel);
    w.Int(m.fingerprint->campaign_hash);
  } else {
    w.Raw("m2;");
  }
  w.Str(m.policy_version);
  w.Str(m.policy_digest);
  w.Raw(policy::EncodePlan(m.plan));
  return w.Take();
}

absl::StatusOr<Marker> DecodeMarker(std::string_view text) {
  if (text.starts_with("{")) {
    return DecodeJsonMarker(text);
  }
  TokenReader r(text);
  std::optional<Fingerprint> fingerprint;
  if (r.Literal("m3;")) {
    int64_t cls = 0;
    int64_t channel = 0;
    int64_t campaign = 0;
    if (!r.Int(&cls) || !r.Int(&channel) || !r.Int(&campaign) || !v1::MessageClass_IsValid(static_cast<int>(cls)) ||
        !v1::Channel_IsValid(static_cast<int>(channel))) {
      return absl::InternalError("decision marker: malformed");
    }
    fingerprint = Fingerprint{.message_class = static_cast<MessageClass>(cls),
                              .channel = static_cast<Channel>(channel),
                              .campaign_hash = campaign};
  } else if (!r.Literal("m2;")) {
    return absl::InternalError("decision marker: malformed");
  }
  std::string_view version;
  std::string_view digest;
  if (!r.Str(&version) || !r.Str(&digest)) {
    return absl::InternalError("decision marker: malformed");
  }
  absl::StatusOr<policy::Plan> plan = policy::DecodePlan(r.rest());
  if (!plan.ok()) {
    return absl::InternalError(absl::StrCat("decision marker: ", plan.status().message()));
  }
  return Marker{.policy_version = std::string(version), .policy_digest = std::string(digest),
                .plan = *std::move(plan), .fingerprint = fingerprint};
}

absl::Status CheckSameMessage(const Marker& earlier, const Event& event, std::string_view field_prefix) {
  if (!earlier.fingerprint) {
    return absl::OkStatus();  // stored by a version without fingerprints: taken as the same message
  }
  const Fingerprint now = FingerprintOf(event);
  if (now == *earlier.fingerprint) {
    return absl::OkStatus();
  }
  std::vector<absl::string_view> differ;
  if (now.message_class != earlier.fingerprint->message_class) differ.push_back("message_class");
  if (now.channel != earlier.fingerprint->channel) differ.push_back("channel");
  if (now.campaign_hash != earlier.fingerprint->campaign_hash) differ.push_back("campaign_id");
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(field_prefix),
                                                 "event_id: already used for a different message (",
                                                 absl::StrJoin(differ, ", "), differ.size() == 1 ? " differs)" : " differ)"));
}

}  // namespace tact::decision
