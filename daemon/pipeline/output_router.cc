#include "daemon/pipeline/output_router.h"

#include "daemon/core/proto_time.h"
#include "daemon/decision/decision_service.h"
#include "daemon/pipeline/deferred_scheduler.h"
#include "daemon/pipeline/event_codec.h"

namespace tact::pipeline {

const std::string& OutputRouter::TopicFor(v1::DecisionKind kind) const {
  switch (kind) {
    case v1::RELEASE: return topics_.released;
    case v1::DEFER: return topics_.deferred;
    default: return topics_.suppressed;
  }
}

std::vector<OutputRecord> OutputRouter::Route(const v1::Decision& decision, const v1::DecisionRecord& record,
                                              std::string key, std::string value, HeaderList headers) const {
  std::vector<OutputRecord> out(2);
  OutputRecord& routed = out[0];
  routed.topic = TopicFor(decision.decision());
  routed.key = std::move(key);
  routed.value = std::move(value);
  routed.headers = std::move(headers);
  routed.headers.emplace_back("tact-decision", std::string(decision::DecisionName(decision.decision())));
  routed.headers.emplace_back("tact-rule", decision.rule_id());
  routed.headers.emplace_back("tact-policy-version", decision.policy_version());
  if (decision.decision() == v1::DEFER) {  // the deferred scheduler's due time (docs/operations.md "Deferred delivery")
    AddDeferralHeaders(routed.headers, decision, TimeFromProto(record.decided_at()));
  }
  OutputRecord& rec = out[1];
  rec.topic = topics_.decisions;
  rec.key = record.customer_hash();
  rec.value = EncodeDecisionRecord(record);
  rec.headers.emplace_back("content-type", "application/json");
  return out;
}

}  // namespace tact::pipeline
