#include "daemon/pipeline/notice_sink.h"

#include <google/protobuf/util/json_util.h>

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

std::string EncodeNotice(const v1::CampaignNotice& notice) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(notice, &out, opts);  // cannot fail for a valid message
  return out;
}

absl::StatusOr<std::unique_ptr<KafkaNoticeSink>> KafkaNoticeSink::Create(const std::string& brokers,
                                                                         const ops::KafkaSecurity& security,
                                                                         std::string topic) {
  std::unique_ptr<KafkaNoticeSink> sink(new KafkaNoticeSink(std::move(topic)));
  // A delivery timeout shorter than Publish's flush, so a report always comes within it.
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> producer =
      CreateProducer(brokers, "tactd-notices", security, sink.get(), sink.get(), {{"message.timeout.ms", "4000"}});
  if (!producer.ok()) {
    return absl::Status(producer.status().code(), absl::StrCat("kafka notice producer: ", producer.status().message()));
  }
  sink->producer_ = *std::move(producer);
  return sink;
}

void KafkaNoticeSink::event_cb(RdKafka::Event& event) {
  if (event.type() == RdKafka::Event::EVENT_LOG) {
    LogKafkaLine(event);
  } else if (event.type() == RdKafka::Event::EVENT_ERROR) {
    if (LogKafkaSecurityFailure(event.err(), event.str())) return;
    ErrorLog().Log(event.fatal() ? ops::LogLevel::kError : ops::LogLevel::kWarning, "kafka.error",
                   absl::StrCat(topic_, " ", RdKafka::err2str(event.err())),
                   {{"topic", topic_}, {"code", RdKafka::err2str(event.err())}, {"error", event.str()}});
  }
}

void KafkaNoticeSink::dr_cb(RdKafka::Message& message) {
  *static_cast<RdKafka::ErrorCode*>(message.msg_opaque()) = message.err();
}

absl::Status KafkaNoticeSink::Publish(const v1::CampaignNotice& notice) {
  absl::MutexLock lock(&mu_);
  const std::string value = EncodeNotice(notice);
  const std::string key = absl::StrCat(notice.tenant(), ":", notice.campaign_id());
  RdKafka::ErrorCode result = RdKafka::ERR__IN_PROGRESS;  // set by dr_cb, inside flush() below
  const RdKafka::ErrorCode err = producer_->produce(
      topic_, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
      value.size(), key.data(), key.size(), 0, nullptr, &result);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka produce ", topic_, ": ", RdKafka::err2str(err)));
  }
  producer_->flush(kFlushMs);
  if (result == RdKafka::ERR__IN_PROGRESS) {
    // Not delivered in time: purge it so its report (and the pointer to `result`) cannot outlive this call.
    producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    producer_->flush(kFlushMs);
  }
  if (result != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("kafka deliver ", topic_, ": ", RdKafka::err2str(result)));
  }
  return absl::OkStatus();
}

}  // namespace tact::pipeline
