#pragma once

// The reliability invariants (tests/reliability, docs/RELIABILITY.md), checked after a scenario from what tact
// wrote: every output topic and the Redis counters.
//   I1 every input has a final decision (RELEASE, SUPPRESS, EXPIRED, or its bytes on tact.dlq) — none lost.
//      At-least-once delivery may repeat a final record; the repeats must agree (see I4). DEFER is not final.
//      Every routed output (released/suppressed) agrees with the input's final decision.
//   I2 no cap counted twice: each Redis limit counter equals the distinct released events it covers (rolling:
//      the sorted set's members are exactly those event ids, or with store v2 its window holds as many messages;
//      calendar: the counter equals their number), and no
//      counter holds an event that was not released.
//   I3 caps hold: per customer (rule scope) and window, the distinct events on tact.released never exceed the
//      enforcing limit (rolling: any window of that length; calendar: the period in the customer's zone).
//   I4 determinism: every decision record of one event says the same (decision kind and deciding rule).
//   I5 suppression holds: no PROMOTION released to a customer with an active at-risk signal.
// Check() is pure (unit-tested on synthetic data in tests/unit/reliability); Observer collects the data.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "daemon/core/event.h"
#include "daemon/policy/policy.h"
#include "tact/v1/decision.pb.h"

namespace tact::testing {

// One message a scenario produced to tact.outbound.
struct SentInput {
  Event event;        // what it says (event.event_id empty for a poison message)
  std::string bytes;  // the produced value: poison messages are recognised on tact.dlq by these bytes
  bool poison = false;
  absl::Time sent_at = absl::InfinitePast();  // when it was produced (latency figures)
};

// A customer with a signal that must keep promotions away (an open complaint, an opt-out, a bad CSAT): between
// `from` and `until`, in decision time.
struct AtRisk {
  std::string tenant;
  std::string customer_id;
  absl::Time from = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
};

// One message of an output topic (as read by TopicReader).
struct TopicRecord {
  std::string value;
  std::map<std::string, std::string> headers;
};

struct Observed {
  std::vector<TopicRecord> decisions;  // tact.decisions (DecisionRecord JSON, incl. EXPIRED records)
  std::vector<TopicRecord> released;
  std::vector<TopicRecord> suppressed;
  std::vector<TopicRecord> deferred;
  std::vector<TopicRecord> dlq;
  // Redis limit counters under tact:{…}: rolling sets (key → members) and calendar counters (key → value).
  std::map<std::string, std::set<std::string>> rolling;
  std::map<std::string, int64_t> calendar;
  // Store v2 (one key per customer) keeps the times of a rolling window's messages, not their ids: key → count.
  std::map<std::string, int64_t> rolling_count;
};

struct CheckOptions {
  // The Redis counters are known to be incomplete (a scenario that loses Redis data on purpose): I2 is reported
  // but does not fail the check.
  bool redis_data_lost = false;
  // A valid input may end on tact.dlq (its decision failed for good). Off: a valid input dead-lettered is an I1
  // violation, since no scenario's fault should make a well-formed event undecidable.
  bool valid_may_dead_letter = false;
  size_t max_examples = 5;  // violations listed per invariant
};

struct InvariantResult {
  std::string id;    // "I1"
  std::string name;  // "no input lost"
  bool pass = true;
  bool enforced = true;  // false: reported only (CheckOptions::redis_data_lost for I2)
  int64_t checked = 0;   // items examined
  int64_t violations = 0;
  std::vector<std::string> examples;  // the first violations, for people
};

struct CheckReport {
  std::vector<InvariantResult> invariants;  // I1..I5 in order
  int64_t inputs = 0;
  int64_t final_inputs = 0;       // inputs with a final decision
  int64_t decision_records = 0;   // records of the scenario's inputs on tact.decisions
  int64_t repeated_records = 0;   // final records beyond the first per input (at-least-once redelivery)
  int64_t released = 0;           // distinct released inputs
  int64_t suppressed = 0;
  int64_t expired = 0;
  int64_t dead_lettered = 0;
  int64_t deferred_pending = 0;   // inputs whose only records are DEFER

  bool ok() const;  // every enforced invariant passes
  const InvariantResult& Get(const std::string& id) const;
  std::string Summary() const;      // one paragraph, for test failure output
  std::string PassedList() const;   // "I1 I2 I3 I4 I5" of the passing ones (docs table)
};

// Pure: the invariants over `observed`, given what was sent, the policy in force and the at-risk customers.
CheckReport Check(const std::vector<SentInput>& sent, const policy::Policy& policy, const std::vector<AtRisk>& at_risk,
                  const Observed& observed, const CheckOptions& options = {});

// Reads every output topic from the beginning (from construction on, in the background) and snapshots Redis.
class Observer {
 public:
  Observer(const std::string& brokers);
  ~Observer();
  // The topics as read so far plus Redis' limit counters now (SCAN over tact:{*}).
  Observed Snapshot(int redis_port) const;
  // Inputs of `sent` without a final record yet (cheap: topics only; use to wait before Check).
  size_t Undecided(const std::vector<SentInput>& sent) const;
  // The decision records read so far (decodable ones), in topic order.
  std::vector<v1::DecisionRecord> DecisionRecords() const;

 private:
  struct Readers;
  std::unique_ptr<Readers> readers_;
};

}  // namespace tact::testing
