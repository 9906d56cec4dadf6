#include "daemon/pipeline/notice_sink.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace tact::pipeline {
namespace {

constexpr int kFlushMs = 5000;

}  // namespace

std::string EncodeNotice(const v1::CampaignNotice& notice) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(notice, &out, opts);  // cannot fail for a valid message
  return out;
}

absl::StatusOr<std::unique_ptr<KafkaNoticeSink>> KafkaNoticeSink::Create(const std::string& brokers,
                                                                         std::string topic) {
  std::unique_ptr<KafkaNoticeSink> sink(new KafkaNoticeSink(std::move(topic)));
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string>>{
           {"bootstrap.servers", brokers},
           {"client.id", "tactd-notices"},
           {"enable.idempotence", "true"},
           {"message.timeout.ms", "4000"}}) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka ", k, ": ", err));
    }
  }
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(sink.get()), err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(absl::StrCat("kafka dr_cb: ", err));
  }
  sink->producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!sink->producer_) {
    return absl::InternalError(absl::StrCat("kafka notice producer: ", err));
  }
  return sink;
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
