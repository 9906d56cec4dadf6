#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "daemon/core/clock.h"
#include "daemon/decision/decision_record_port.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/ops/log_limiter.h"
#include "daemon/pipeline/low_rate_producer.h"
#include "daemon/pipeline/pipeline_stats.h"

namespace tact::pipeline {

// Publishes the gRPC API's decision records to tact.decisions in the Kafka path's form (OutputRouter::Route): the
// JSON of EncodeDecisionRecord, keyed by the customer hash, header content-type: application/json. Its own
// idempotent producer (CreateProducer: acks=all, linger 5 ms, so records travel in batches) with a message timeout
// of `message_timeout_ms` (5 minutes by default): librdkafka retries a record that long, then it is lost (delivery
// reports for failures only: a delivered record costs no report event). Record
// never blocks: the record is serialized once and copied into librdkafka's queue; a record the queue refuses (full:
// 100,000 records waiting, or too large) or that is never acknowledged is counted in
// tact_kafka_errors_total{what="grpc_record"} and logged (kafka.produce_failed / kafka.delivery_failed, at most one
// line per error per 10 s, with a suppressed count). The destructor flushes for up to 5 s; what is still queued then
// is lost and counted the same way.
// Thread-safety: Record from any thread; delivery reports run on the sink's own poll thread.
class KafkaDecisionRecords final : public decision::DecisionRecordPort,
                                   private RdKafka::DeliveryReportCb,
                                   private RdKafka::EventCb {
 public:
  struct Options {
    std::string brokers;
    ops::KafkaSecurity security;
    std::string topic;  // kafka.topics.decisions
    int message_timeout_ms = kSendTimeoutMs;
    PipelineStats* stats = nullptr;  // borrowed; must outlive the sink
  };
  static absl::StatusOr<std::unique_ptr<KafkaDecisionRecords>> Create(Options options, const Clock& clock);
  ~KafkaDecisionRecords() override;
  KafkaDecisionRecords(const KafkaDecisionRecords&) = delete;
  KafkaDecisionRecords& operator=(const KafkaDecisionRecords&) = delete;

  void Record(const v1::DecisionRecord& record) override;
  // Records lost so far (what tact_kafka_errors_total{what="grpc_record"} counts).
  int64_t lost() const { return lost_.load(); }

 private:
  KafkaDecisionRecords(Options options, const Clock& clock);
  void dr_cb(RdKafka::Message& message) override;
  void event_cb(RdKafka::Event& event) override;
  void Lost(const char* event, RdKafka::ErrorCode err);
  void Poll();

  const Options options_;
  ops::LogLimiter log_limiter_;
  std::atomic<int64_t> lost_{0};
  std::atomic<bool> stop_{false};
  std::unique_ptr<RdKafka::Producer> producer_;  // declared after what its callbacks (this) use
  struct rd_kafka_topic_s* topic_ = nullptr;     // options_.topic's handle on producer_, destroyed before it
  std::thread poller_;                           // started last, joined first
};

}  // namespace tact::pipeline
