#pragma once

// The policy history: one record per policy load attempt (tactd's start, SIGHUP, a changed file), activated or
// refused, with the set's version, digest and provenance, for auditors (`tactctl policy history`). tactd publishes
// them to tact.policy-history (compacted and retained: docs/operations.md), keyed "<instance>|<digest>|<result>".
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "daemon/policy/policy.h"

namespace tact::decision {

inline constexpr char kPolicyHistoryTopic[] = "tact.policy-history";

struct PolicyLoadAttempt {
  bool activated = false;
  std::string version;   // of the set attempted; "" when it did not parse
  std::string digest;    // its policy digest; the files' content digest when it did not parse
  policy::Provenance provenance;
  absl::Time at = absl::InfinitePast();
  std::string error;     // refused: why (file:line:col, the failing test, ...)
  int tests_passed = 0;
};

// {"version","digest","provenance":{author,approver,reason,ticket,commit,source},"activated_at"|"refused_at",
//  "at","instance","result":"activated"|"refused","error","tests_passed"}: one JSON object.
std::string EncodeHistoryRecord(const PolicyLoadAttempt& attempt, const std::string& instance);
std::string HistoryRecordKey(const PolicyLoadAttempt& attempt, const std::string& instance);

// Where tactd sends the records (pipeline::KafkaPolicyHistory; a test double in tests).
// Thread-safety: implementations are called from the reload thread and at start.
class PolicyHistoryPort {
 public:
  virtual ~PolicyHistoryPort() = default;
  virtual absl::Status Publish(const PolicyLoadAttempt& attempt) = 0;
};

}  // namespace tact::decision
