#include "daemon/decision/marker.h"

#include "nlohmann/json.hpp"

namespace tact::decision {

std::string EncodeMarker(const Marker& m) {
  nlohmann::json j;
  j["v"] = m.policy_version;
  j["d"] = m.policy_digest;
  j["m"] = m.plan.matched_rules;
  nlohmann::json limits = nlohmann::json::array();
  for (const policy::LimitCheck& l : m.plan.limits) {
    limits.push_back({l.rule_id, l.counter, l.count, absl::ToInt64Seconds(l.window),
                      l.on_exceed == policy::OnExceed::kDefer ? 1 : 0, l.shadow ? 1 : 0});
  }
  j["l"] = std::move(limits);
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
    m.plan.matched_rules = j.at("m").get<std::vector<std::string>>();
    for (const auto& l : j.at("l")) {
      m.plan.limits.push_back(policy::LimitCheck{
          .rule_id = l.at(0).get<std::string>(),
          .counter = l.at(1).get<std::string>(),
          .count = l.at(2).get<int64_t>(),
          .window = absl::Seconds(l.at(3).get<int64_t>()),
          .on_exceed = l.at(4).get<int>() == 1 ? policy::OnExceed::kDefer : policy::OnExceed::kSuppress,
          .shadow = l.at(5).get<int>() == 1});
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(std::string("decision marker: ") + e.what());
  }
}

}  // namespace tact::decision
