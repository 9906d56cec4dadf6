#pragma once

// The DecisionService's hooks into the campaign release gate (daemon/campaign/gate.h): for each event of a
// batch, ask the gate's enforcer before the customer-level store step and settle after it.
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "daemon/campaign/gate.h"
#include "daemon/core/event.h"
#include "daemon/policy/campaign_gates.h"
#include "daemon/policy/policy.h"
#include "tact/v1/decision.pb.h"

namespace tact::decision {

// The DecisionService's use of the gate for one batch of events (decision_service.cc keeps its hooks small).
class GateBatch {
 public:
  GateBatch(campaign::GateEnforcer* gate, size_t size, const std::set<MessageClass>& fail_open_classes)
      : gate_(gate), fail_open_(fail_open_classes), size_(size) {}
  // Before the store step. True when the gate decided the event: `*decision` is its DEFER, or `*error` is set
  // (store failure, fail closed).
  bool DecidedByGate(size_t i, const policy::Policy& policy, const Event& event, absl::Time now, bool dry_run,
             v1::Decision* decision, absl::Status* error);
  // After the customer-level decision (nullptr: it failed).
  void Settle(size_t i, const Event& event, bool dry_run, v1::Decision* decision);

 private:
  struct Slot {
    const policy::CampaignGate* gate = nullptr;
    campaign::GateAnswer answer;
  };
  campaign::GateEnforcer* gate_;
  const std::set<MessageClass>& fail_open_;
  const size_t size_;
  std::vector<Slot> answers_;  // allocated at the first gated event of the batch
};

}  // namespace tact::decision
