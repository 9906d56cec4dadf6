#include "daemon/decision/policy_history.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace tact::decision {

std::string EncodeHistoryRecord(const PolicyLoadAttempt& a, const std::string& instance) {
  const policy::Provenance& p = a.provenance;
  const std::string at = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", a.at, absl::UTCTimeZone());
  nlohmann::json record = {
      {"version", a.version},
      {"digest", a.digest},
      {"provenance",
       {{"author", p.author}, {"approver", p.approver}, {"reason", p.reason}, {"ticket", p.ticket},
        {"commit", p.commit}, {"source", p.source}}},
      {"at", at},
      {a.activated ? "activated_at" : "refused_at", at},
      {"instance", instance},
      {"result", a.activated ? "activated" : "refused"},
      {"tests_passed", a.tests_passed},
  };
  if (!a.error.empty()) record["error"] = a.error;
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string HistoryRecordKey(const PolicyLoadAttempt& a, const std::string& instance) {
  return absl::StrCat(instance, "|", a.digest, "|", a.activated ? "activated" : "refused");
}

}  // namespace tact::decision
