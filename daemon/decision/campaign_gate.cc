#include "daemon/decision/campaign_gate.h"

#include "daemon/core/proto_time.h"

namespace tact::decision {

bool GateBatch::DecidedByGate(size_t i, const policy::Policy& policy, const Event& event, absl::Time now, bool dry_run,
                      v1::Decision* decision, absl::Status* error) {
  if (gate_ == nullptr) return false;
  const policy::CampaignGate* gate = policy::FindCampaignGate(policy, event);
  if (gate == nullptr) return false;
  absl::StatusOr<campaign::GateAnswer> a = gate_->Admit(*gate, event, now, dry_run);
  if (!a.ok()) {
    if (fail_open_.contains(event.message_class)) return false;  // decided without the gate, like the store
    *error = a.status();
    return true;
  }
  if (answers_.empty()) answers_.resize(size_);
  answers_[i] = Slot{gate, *a};
  if (a->release) return false;
  decision->set_decision(v1::DEFER);
  decision->set_reason(a->reason);
  decision->set_rule_id(gate->RuleId());
  decision->add_matched_rules(gate->RuleId());
  decision->set_policy_version(policy.version);
  decision->set_policy_digest(policy.digest);
  *decision->mutable_defer_until() = TimeToProto(a->defer_until);
  return true;
}

void GateBatch::Settle(size_t i, const Event& event, bool dry_run, v1::Decision* decision) {
  if (answers_.empty() || answers_[i].gate == nullptr || !answers_[i].answer.release) return;
  const bool released = decision != nullptr && decision->decision() == v1::RELEASE;
  if (decision != nullptr) decision->add_matched_rules(answers_[i].gate->RuleId());
  if (dry_run) return;
  gate_->Settle(event, answers_[i].answer, released);
}

}  // namespace tact::decision
