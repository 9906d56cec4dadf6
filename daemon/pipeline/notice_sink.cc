#include "daemon/pipeline/notice_sink.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace tact::pipeline {

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
  absl::StatusOr<std::unique_ptr<LowRateProducer>> producer = LowRateProducer::Create(brokers, security, "tactd-notices");
  if (!producer.ok()) {
    return absl::Status(producer.status().code(), absl::StrCat("kafka notice producer: ", producer.status().message()));
  }
  return std::unique_ptr<KafkaNoticeSink>(new KafkaNoticeSink(std::move(topic), *std::move(producer)));
}

absl::Status KafkaNoticeSink::Publish(const v1::CampaignNotice& notice) {
  return producer_->Publish(topic_, absl::StrCat(notice.tenant(), ":", notice.campaign_id()), EncodeNotice(notice));
}

}  // namespace tact::pipeline
