#include "daemon/decision/marker.h"

#include "absl/strings/str_cat.h"
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

// "m2;" version digest, then the plan (policy::EncodePlan). Built once per final decision on the hot path.
std::string EncodeMarker(const Marker& m) {
  TokenWriter w;
  w.Raw("m2;");
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
  std::string_view version;
  std::string_view digest;
  if (!r.Literal("m2;") || !r.Str(&version) || !r.Str(&digest)) {
    return absl::InternalError("decision marker: malformed");
  }
  absl::StatusOr<policy::Plan> plan = policy::DecodePlan(r.rest());
  if (!plan.ok()) {
    return absl::InternalError(absl::StrCat("decision marker: ", plan.status().message()));
  }
  return Marker{.policy_version = std::string(version), .policy_digest = std::string(digest),
                .plan = *std::move(plan)};
}

}  // namespace tact::decision
