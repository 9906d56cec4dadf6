#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/decision/policy_history.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/pipeline/low_rate_producer.h"

namespace tact::pipeline {

// Sends policy-history records to tact.policy-history without waiting (a reload never blocks on Kafka);
// librdkafka retries a record for 5 minutes, then it is logged (kafka.delivery_failed) and counted.
// Thread-safety: any thread (LowRateProducer).
class KafkaPolicyHistory final : public decision::PolicyHistoryPort {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaPolicyHistory>> Create(const std::string& brokers,
                                                                    const ops::KafkaSecurity& security,
                                                                    std::string instance);
  absl::Status Publish(const decision::PolicyLoadAttempt& attempt) override;

 private:
  KafkaPolicyHistory(std::string instance, std::unique_ptr<LowRateProducer> producer)
      : instance_(std::move(instance)), producer_(std::move(producer)) {}

  const std::string instance_;
  const std::unique_ptr<LowRateProducer> producer_;
};

}  // namespace tact::pipeline
