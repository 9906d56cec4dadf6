#pragma once

// Where a decided event goes: one routing for the pipeline (every decision of tact.outbound) and the deferred
// scheduler (a deferred event ended as EXPIRED), so the routed headers and decision records cannot drift apart.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "daemon/core/topics.h"
#include "daemon/pipeline/output_record.h"
#include "tact/v1/decision.pb.h"

namespace tact::pipeline {

using Topics = KafkaTopics;  // daemon/core/topics.h

// Pure; thread-compatible.
class OutputRouter {
 public:
  explicit OutputRouter(Topics topics) : topics_(std::move(topics)) {}

  // RELEASE → released, DEFER → deferred, anything else (SUPPRESS, EXPIRED) → suppressed.
  const std::string& TopicFor(v1::DecisionKind kind) const;
  // The two outputs of a decided event, in this order:
  //  * the routed one: the event's `value` and `headers` on TopicFor(decision), keyed `key`, plus tact-decision,
  //    tact-rule, tact-policy-version and, for DEFER, the deferred scheduler's tact-defer-until and tact-decided-at
  //    (docs/operations.md "Deferred delivery", AddDeferralHeaders);
  //  * its decision record on tact.decisions: JSON, keyed by the customer hash.
  std::vector<OutputRecord> Route(const v1::Decision& decision, const v1::DecisionRecord& record, std::string key,
                                  std::string value, HeaderList headers) const;

 private:
  const Topics topics_;
};

}  // namespace tact::pipeline
