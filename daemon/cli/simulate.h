#pragma once

// tactctl simulate: replay events offline against an in-memory store and summarise the decisions per rule and
// class; with --compare, which decisions a second policy would change.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/cli/cli.h"
#include "daemon/core/event.h"
#include "daemon/policy/policy.h"
#include "daemon/policy/signals.h"
#include "tact/v1/decision.pb.h"

namespace tact::cli {

struct SimulateArgs {
  std::string policy_dir;
  std::string events;  // JSON lines file; - for stdin
  std::string compare_dir;
  bool json = false;
};

// Exit 0, or 2 on unreadable or invalid input.
int Simulate(const SimulateArgs& args, const Streams& io);

// One input line: an event decided at `at`, or a signal stored at `at`.
struct SimInput {
  int line = 0;
  absl::Time at;
  std::optional<Event> event;
  std::optional<policy::Signal> signal;
};

// `text`: one JSON object per line: an OutboundEvent (proto3 JSON; createdAt is when it is decided), or
// {"signal": {"tenant","customerId","kind","value","ref","channel","at","expires"}}; blank lines are skipped.
// Sorted by time (stable). INVALID_ARGUMENT names "<path>:<line>: " and the field.
absl::StatusOr<std::vector<SimInput>> ParseSimInputs(const std::string& path, const std::string& text);

using DecisionTable = std::map<std::string, std::map<std::string, int>>;  // row → decision → count
struct SimRun {
  std::map<std::string, v1::Decision> by_line;  // "<line>" → decision
  DecisionTable per_rule;   // deciding rule (or "-") → decision → n
  DecisionTable per_class;  // class → decision → n
  DecisionTable shadow;     // shadow rule → would-have decision → n
  std::map<std::string, int> totals;
};
absl::StatusOr<SimRun> Replay(std::shared_ptr<const policy::Policy> policy, const std::vector<SimInput>& inputs);

// Same input line, different decision or deciding rule.
struct Change {
  int line = 0;
  std::string event_id;
  std::string before;  // "SUPPRESS by promotion-1-per-day", "RELEASE"
  std::string after;
};
std::vector<Change> Changes(const std::vector<SimInput>& inputs, const SimRun& before, const SimRun& after);

}  // namespace tact::cli
