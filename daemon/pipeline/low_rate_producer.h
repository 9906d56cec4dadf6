#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/ops/kafka_security.h"

namespace tact::pipeline {

// A producer for low-traffic records (campaign notices, the policy history); the outbound path uses the
// DeliveryEngine. Publish waits for the broker's acknowledgement; Send queues the record (librdkafka retries it
// for up to the message timeout) and returns at once: a record it cannot deliver is logged (kafka.delivery_failed) and
// counted in send_failures().
// Thread-safety: any thread; delivery reports run inside Publish on the caller's thread, librdkafka's log lines
// on its own threads.
// For Publish: a delivery timeout shorter than its 5 s wait, so a report always comes within it. A producer for
// Send takes a longer one (kSendTimeoutMs). Use one producer per mode: Publish purges the queue when it times out.
inline constexpr int kPublishTimeoutMs = 4000;
inline constexpr int kSendTimeoutMs = 300000;

class LowRateProducer final : private RdKafka::DeliveryReportCb, private RdKafka::EventCb {
 public:
  static absl::StatusOr<std::unique_ptr<LowRateProducer>> Create(const std::string& brokers,
                                                               const ops::KafkaSecurity& security,
                                                               const std::string& client_id,
                                                               int message_timeout_ms = kPublishTimeoutMs);
  // UNAVAILABLE "kafka produce|deliver <topic>: <reason>" when the record was not acknowledged within ~5 s.
  absl::Status Publish(const std::string& topic, const std::string& key, const std::string& value)
      ABSL_LOCKS_EXCLUDED(mu_);
  // INVALID/UNAVAILABLE only when librdkafka refuses to queue it (queue full, record too large).
  absl::Status Send(const std::string& topic, const std::string& key, const std::string& value)
      ABSL_LOCKS_EXCLUDED(mu_);
  int64_t send_failures() const { return send_failures_.load(); }
  ~LowRateProducer() override;

 private:
  explicit LowRateProducer(std::string client_id) : client_id_(std::move(client_id)) {}
  void dr_cb(RdKafka::Message& message) override;
  void event_cb(RdKafka::Event& event) override;  // librdkafka's lines and errors through ops::Log

  const std::string client_id_;  // in its log lines
  std::atomic<int64_t> send_failures_{0};
  absl::Mutex mu_;
  std::unique_ptr<RdKafka::Producer> producer_;  // declared after the callback it uses (this)
};

}  // namespace tact::pipeline
