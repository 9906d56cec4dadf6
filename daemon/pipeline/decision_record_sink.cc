#include "daemon/pipeline/decision_record_sink.h"

#include <librdkafka/rdkafka.h>

#include "absl/strings/str_cat.h"
#include "daemon/ops/log.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/pipeline/kafka_clients.h"

namespace tact::pipeline {
namespace {

constexpr char kClientId[] = "tactd-grpc-records";
constexpr int kFlushMs = 5000;
constexpr int kPollMs = 100;

}  // namespace

KafkaDecisionRecords::KafkaDecisionRecords(Options options, const Clock& clock)
    : options_(std::move(options)), log_limiter_(clock, absl::Seconds(10)) {}

absl::StatusOr<std::unique_ptr<KafkaDecisionRecords>> KafkaDecisionRecords::Create(Options options,
                                                                                   const Clock& clock) {
  std::unique_ptr<KafkaDecisionRecords> sink(new KafkaDecisionRecords(std::move(options), clock));
  const Options& o = sink->options_;
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> producer =
      CreateProducer(o.brokers, kClientId, o.security, sink.get(), sink.get(),
                     {{"message.timeout.ms", absl::StrCat(o.message_timeout_ms)},
                      // dr_cb acts on failures only: no report (an event per record, polled) for a delivered one.
                      {"delivery.report.only.error", "true"}});
  if (!producer.ok()) {
    return absl::Status(producer.status().code(),
                        absl::StrCat("kafka grpc-records producer: ", producer.status().message()));
  }
  sink->producer_ = *std::move(producer);
  sink->topic_ = rd_kafka_topic_new(sink->producer_->c_ptr(), o.topic.c_str(), nullptr);
  if (sink->topic_ == nullptr) {
    return absl::InternalError(absl::StrCat("kafka grpc-records producer: topic ", o.topic, ": ",
                                            rd_kafka_err2str(rd_kafka_last_error())));
  }
  sink->poller_ = std::thread([s = sink.get()] { s->Poll(); });
  return sink;
}

KafkaDecisionRecords::~KafkaDecisionRecords() {
  stop_ = true;
  if (poller_.joinable()) poller_.join();
  if (producer_ == nullptr) return;
  producer_->flush(kFlushMs);
  if (producer_->outq_len() > 0) {  // not delivered in time: their reports (ERR__PURGE_*) count them as lost
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer_->flush(kFlushMs);
  }
  if (topic_ != nullptr) rd_kafka_topic_destroy(topic_);  // before the producer (its handle) is destroyed
}

void KafkaDecisionRecords::Poll() {
  while (!stop_.load()) producer_->poll(kPollMs);
}

void KafkaDecisionRecords::Record(const v1::DecisionRecord& record) {
  const std::string value = EncodeDecisionRecord(record);
  const std::string& key = record.customer_hash();
  // librdkafka's C call with the topic handle made once and the header given inline: the C++ produce() by topic
  // name copies the name, looks the topic up and allocates a Headers object, for every record.
  // No RD_KAFKA_MSG_F_BLOCK: a full queue is refused at once, never waited for.
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_->c_ptr(), RD_KAFKA_V_RKT(topic_), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_HEADER("content-type", "application/json", -1),
      RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) Lost("kafka.produce_failed", static_cast<RdKafka::ErrorCode>(err));
}

void KafkaDecisionRecords::dr_cb(RdKafka::Message& message) {
  if (message.err() != RdKafka::ERR_NO_ERROR) Lost("kafka.delivery_failed", message.err());
}

void KafkaDecisionRecords::Lost(const char* event, RdKafka::ErrorCode err) {
  ++lost_;
  if (options_.stats != nullptr) options_.stats->kafka_errors_total.Inc({"grpc_record"});
  const std::string error = RdKafka::err2str(err);
  log_limiter_.Log(ops::LogLevel::kError, event, absl::StrCat(options_.topic, " ", error),
                   {{"client", kClientId}, {"topic", options_.topic}, {"error", error},
                    {"detail", "a gRPC decision's record is lost: auditors will not see it on the topic"}});
}

void KafkaDecisionRecords::event_cb(RdKafka::Event& event) {
  if (event.type() == RdKafka::Event::EVENT_LOG) {
    LogKafkaLine(event);
  } else if (event.type() == RdKafka::Event::EVENT_ERROR) {
    if (LogKafkaSecurityFailure(event.err(), event.str())) return;
    log_limiter_.Log(event.fatal() ? ops::LogLevel::kError : ops::LogLevel::kWarning, "kafka.error",
                     absl::StrCat(kClientId, " ", RdKafka::err2str(event.err())),
                     {{"client", kClientId}, {"code", RdKafka::err2str(event.err())}, {"error", event.str()}});
  }
}

}  // namespace tact::pipeline
