#include "daemon/decision/marker.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace tact::decision {

std::string EncodeMarker(const Marker& m) {
  nlohmann::json j;
  j["v"] = m.policy_version;
  j["d"] = m.policy_digest;
  j["p"] = policy::EncodePlan(m.plan);
  return j.dump();
}

absl::StatusOr<Marker> DecodeMarker(std::string_view text) {
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

}  // namespace tact::decision
