#include "daemon/pipeline/low_rate_producer.h"

#include "absl/strings/str_cat.h"
#include "daemon/ops/log.h"
#include "daemon/ops/log_limiter.h"
#include "daemon/pipeline/kafka_clients.h"

namespace tact::pipeline {
namespace {

constexpr int kFlushMs = 5000;

// librdkafka repeats its errors while a broker stays down: one line per error per 10 s.
ops::LogLimiter& ErrorLog() {
  static const SystemClock clock;
  static ops::LogLimiter limiter(clock, absl::Seconds(10));
  return limiter;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LowRateProducer>> LowRateProducer::Create(const std::string& brokers,
                                                                     const ops::KafkaSecurity& security,
                                                                     const std::string& client_id,
                                                                     int message_timeout_ms) {
  std::unique_ptr<LowRateProducer> p(new LowRateProducer(client_id));
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> producer =
      CreateProducer(brokers, client_id, security, p.get(), p.get(), {{"message.timeout.ms", absl::StrCat(message_timeout_ms)}});
  if (!producer.ok()) return producer.status();
  p->producer_ = *std::move(producer);
  return p;
}

void LowRateProducer::event_cb(RdKafka::Event& event) {
  if (event.type() == RdKafka::Event::EVENT_LOG) {
    LogKafkaLine(event);
  } else if (event.type() == RdKafka::Event::EVENT_ERROR) {
    if (LogKafkaSecurityFailure(event.err(), event.str())) return;
    ErrorLog().Log(event.fatal() ? ops::LogLevel::kError : ops::LogLevel::kWarning, "kafka.error",
                   absl::StrCat(client_id_, " ", RdKafka::err2str(event.err())),
                   {{"client", client_id_}, {"code", RdKafka::err2str(event.err())}, {"error", event.str()}});
  }
}

void LowRateProducer::dr_cb(RdKafka::Message& message) {
  if (message.msg_opaque() != nullptr) {  // Publish: it waits for this
    *static_cast<RdKafka::ErrorCode*>(message.msg_opaque()) = message.err();
  } else if (message.err() != RdKafka::ERR_NO_ERROR) {  // Send
    send_failures_++;
    ops::Log(ops::LogLevel::kError, "kafka.delivery_failed",
             {{"client", client_id_}, {"topic", message.topic_name()}, {"error", RdKafka::err2str(message.err())}});
  }
}

LowRateProducer::~LowRateProducer() {
  if (producer_ != nullptr) producer_->flush(kFlushMs);  // what Send queued, within a bound
}

absl::Status LowRateProducer::Send(const std::string& topic, const std::string& key, const std::string& value) {
  absl::MutexLock lock(&mu_);
  const RdKafka::ErrorCode err = producer_->produce(
      topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
      value.size(), key.data(), key.size(), 0, nullptr, nullptr);
  producer_->poll(0);  // reports of earlier sends
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka produce ", topic, ": ", RdKafka::err2str(err)));
  }
  return absl::OkStatus();
}

absl::Status LowRateProducer::Publish(const std::string& topic, const std::string& key, const std::string& value) {
  absl::MutexLock lock(&mu_);
  RdKafka::ErrorCode result = RdKafka::ERR__IN_PROGRESS;  // set by dr_cb, inside flush() below
  const RdKafka::ErrorCode err = producer_->produce(
      topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
      value.size(), key.data(), key.size(), 0, nullptr, &result);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka produce ", topic, ": ", RdKafka::err2str(err)));
  }
  producer_->flush(kFlushMs);
  if (result == RdKafka::ERR__IN_PROGRESS) {
    // Not delivered in time: purge it so its report (and the pointer to `result`) cannot outlive this call.
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer_->flush(kFlushMs);
  }
  if (result != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka deliver ", topic, ": ", RdKafka::err2str(result)));
  }
  return absl::OkStatus();
}

}  // namespace tact::pipeline
