#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/core/event.h"
#include "daemon/policy/policy.h"
#include "daemon/policy/signals.h"
#include "tact/v1/decision.pb.h"

namespace tact::decision {

// Policy tests (policies/default/tests/*.yaml, format in policies/README.md): a customer, then a timed sequence of
// signals and messages with the decision each message must get. Run with an in-memory store through the same
// DecisionService tactd uses.

struct Expectation {
  v1::DecisionKind decision = v1::DECISION_UNSPECIFIED;
  std::optional<std::string> rule;               // "" = decided by no rule
  std::optional<absl::Time> defer_until;
  std::optional<std::vector<std::string>> shadow;  // rule ids with a shadow outcome
};

struct TestStep {
  int line = 0;
  absl::Time at;
  std::optional<Event> event;
  std::optional<policy::Signal> signal;
  std::optional<Expectation> expect;
};

struct PolicyTestCase {
  std::string file;
  int line = 0;
  std::string name;
  std::vector<TestStep> steps;
};

// Parses one test file. INVALID_ARGUMENT "file:line:col: message" (strict keys, like policies).
absl::StatusOr<std::vector<PolicyTestCase>> ParsePolicyTests(const std::string& path, const std::string& text);

inline constexpr size_t kMaxTestFileBytes = 16 << 20;  // 16 MiB per policy test file

// Every *.yaml / *.yml file in `dir`, sorted by name. NOT_FOUND when `dir` does not exist; FAILED_PRECONDITION
// "<path>: …" when an entry cannot be read (see decision/policy_files.h); INVALID_ARGUMENT "file:line:col: …".
absl::StatusOr<std::vector<PolicyTestCase>> LoadPolicyTests(const std::string& dir);

// Customer state for `tactctl explain --state` (format in policies/README.md): the customer and steps of a
// policy test, without expectations (signals, and earlier messages decided and counted as tactd would), plus
// `usage`: rule id → messages already counted by that rule's counter for the explained event.
struct CustomerState {
  std::vector<TestStep> steps;           // in file order; `expect` unset
  std::map<std::string, int64_t> usage;  // rule id → count
};

// The customer defaults to `tenant` / `customer_id` / `timezone` (the explained event's). YAML or JSON. INVALID_ARGUMENT
// "file:line:col: message".
absl::StatusOr<CustomerState> ParseCustomerState(const std::string& path, const std::string& text,
                                                 const std::string& tenant, const std::string& customer_id,
                                                 const std::string& timezone);

struct CaseResult {
  const PolicyTestCase* test = nullptr;
  bool passed = true;
  std::vector<std::string> failures;  // "file:line: expected …, got …"
};

// Runs every case against `policy`, each on a fresh in-memory store.
std::vector<CaseResult> RunPolicyTests(std::shared_ptr<const policy::Policy> policy,
                                       const std::vector<PolicyTestCase>& cases);

}  // namespace tact::decision
