#pragma once

// tactctl explain: the full rule trace for one event, offline. The decision and the trace come from
// DecisionService::Explain (the code behind Policies.Explain over gRPC) against an in-memory store holding the
// customer's state from --state; nothing is recorded.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/cli/cli.h"
#include "daemon/core/clock.h"
#include "daemon/core/event.h"
#include "daemon/policy/policy.h"
#include "daemon/store/in_memory_counter_store.h"
#include "tact/v1/throttle.pb.h"

namespace tact::cli {

struct ExplainArgs {
  std::string policy_dir;
  std::string event;  // the event as JSON (starts with '{'), a file with it, or - for stdin
  std::string at;     // RFC 3339; empty: the event's createdAt, else now
  std::string state;  // customer state file (YAML or JSON); empty = no history
  bool json = false;
};

// What --state put into the store, for the header line and the JSON "state" object.
struct StateSummary {
  std::string source = "empty";
  int signals = 0;
  int messages = 0;
  std::map<std::string, int64_t> usage;
  std::string Text() const;  // "empty", or "<file>: 1 signal(s), 0 earlier message(s), usage given for 0 rule(s)"
};

// `clock` gives "now" when neither --at nor the event's createdAt says when. Exit 0, or 2 on bad input.
int Explain(const ExplainArgs& args, const Clock& clock, const Streams& io);

// An OutboundEvent as proto3 JSON → the event and its createdAt (InfinitePast when absent). Errors start with
// `where` ("--event: ", "events.jsonl:3: ").
absl::StatusOr<std::pair<Event, absl::Time>> EventFromJson(const std::string& text, const std::string& where);

// Loads a customer state file's text into `store`: replays its steps (signals; earlier messages decided and
// counted as tactd would) up to `at`, then sets the counters it gives per rule. INVALID_ARGUMENT on a bad file,
// naming `path` (and the line).
absl::StatusOr<StateSummary> LoadState(const std::string& path, const std::string& text,
                                       std::shared_ptr<const policy::Policy> policy, const Event& event,
                                       absl::Time at, store::InMemoryCounterStore& store);

// The trace as tactctl prints it: text, or the JSON object (keys: event_id, at, timezone, policy_version,
// policy_digest, decision, rule, reason, matched_rules, shadow, state, rules, defer_until when DEFER).
void PrintExplainText(const policy::Policy& policy, const Event& event, absl::Time at, const StateSummary& state,
                      const v1::ExplainResponse& explained, std::ostream& out);
void PrintExplainJson(const policy::Policy& policy, const Event& event, absl::Time at, const StateSummary& state,
                      const v1::ExplainResponse& explained, std::ostream& out);

}  // namespace tact::cli
