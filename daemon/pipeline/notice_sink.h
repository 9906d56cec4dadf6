#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/campaign/notice_port.h"
#include "daemon/ops/kafka_security.h"

namespace tact::pipeline {

// Publishes campaign notices to Kafka (proto3 JSON with original field names, keyed "tenant:campaign_id") and
// waits for the broker's acknowledgement. Low traffic: one publish at a time.
// Thread-safety: any thread; delivery reports run inside Publish on the caller's thread, librdkafka's log
// lines on its own threads.
class KafkaNoticeSink final : public campaign::NoticePort, private RdKafka::DeliveryReportCb, private RdKafka::EventCb {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaNoticeSink>> Create(const std::string& brokers,
                                                                 const ops::KafkaSecurity& security,
                                                                 std::string topic);
  absl::Status Publish(const v1::CampaignNotice& notice) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  explicit KafkaNoticeSink(std::string topic) : topic_(std::move(topic)) {}
  void dr_cb(RdKafka::Message& message) override;
  void event_cb(RdKafka::Event& event) override;  // librdkafka's lines and errors through ops::Log

  const std::string topic_;
  absl::Mutex mu_;
  std::unique_ptr<RdKafka::Producer> producer_;  // declared after the callback it uses (this)
};

std::string EncodeNotice(const v1::CampaignNotice& notice);

}  // namespace tact::pipeline
