#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/campaign/notice_port.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/pipeline/low_rate_producer.h"

namespace tact::pipeline {

// Publishes campaign notices to Kafka (proto3 JSON with original field names, keyed "tenant:campaign_id") and
// waits for the broker's acknowledgement. Low traffic: one publish at a time.
// Thread-safety: any thread (LowRateProducer).
class KafkaNoticeSink final : public campaign::NoticePort {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaNoticeSink>> Create(const std::string& brokers,
                                                                 const ops::KafkaSecurity& security,
                                                                 std::string topic);
  absl::Status Publish(const v1::CampaignNotice& notice) override;

 private:
  KafkaNoticeSink(std::string topic, std::unique_ptr<LowRateProducer> producer)
      : topic_(std::move(topic)), producer_(std::move(producer)) {}

  const std::string topic_;
  const std::unique_ptr<LowRateProducer> producer_;
};

std::string EncodeNotice(const v1::CampaignNotice& notice);

}  // namespace tact::pipeline
