#include "daemon/pipeline/policy_history_sink.h"

#include "absl/strings/str_cat.h"

namespace tact::pipeline {

absl::StatusOr<std::unique_ptr<KafkaPolicyHistory>> KafkaPolicyHistory::Create(const std::string& brokers,
                                                                               const ops::KafkaSecurity& security,
                                                                               std::string instance) {
  absl::StatusOr<std::unique_ptr<LowRateProducer>> producer =
      LowRateProducer::Create(brokers, security, "tactd-policy-history", kSendTimeoutMs);
  if (!producer.ok()) {
    return absl::Status(producer.status().code(),
                        absl::StrCat("kafka policy-history producer: ", producer.status().message()));
  }
  return std::unique_ptr<KafkaPolicyHistory>(new KafkaPolicyHistory(std::move(instance), *std::move(producer)));
}

absl::Status KafkaPolicyHistory::Publish(const decision::PolicyLoadAttempt& attempt) {
  return producer_->Send(decision::kPolicyHistoryTopic, decision::HistoryRecordKey(attempt, instance_),
                         decision::EncodeHistoryRecord(attempt, instance_));
}

}  // namespace tact::pipeline
