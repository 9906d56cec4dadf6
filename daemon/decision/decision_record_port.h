#pragma once

// Where the gRPC API's decision records go: tact.decisions, beside the Kafka path's (tactd wires
// pipeline::KafkaDecisionRecords; tests a fake). The Kafka path produces its records itself, with its routed outputs.
#include "daemon/decision/decision_steps.h"
#include "tact/v1/decision.pb.h"

namespace tact::decision {

// Thread-safety: implementations are called from any thread (the DecisionExecutor's, after the call is answered)
// and never block: Record queues the record and returns. A record that cannot be queued or delivered is counted
// and logged by the implementation; the caller is never told (its call is already answered).
class DecisionRecordPort {
 public:
  virtual ~DecisionRecordPort() = default;
  virtual void Record(const v1::DecisionRecord& record) = 0;
};

// Whether a decision answered to a gRPC caller has its record published: every decision made, but not a dry run
// (it decides nothing) and not a duplicate (a replayed event id: its first decision published the record when it
// was made, and a second one would differ from it in decided_at and evidence).
inline bool PublishesRecord(bool dry_run, const v1::Decision& decision) { return !dry_run && !decision.duplicate(); }

}  // namespace tact::decision
