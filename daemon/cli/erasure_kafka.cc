// tactctl customer forget's writer of the erasure topic: one librdkafka produce, acks=all, waited for.
#include <librdkafka/rdkafkacpp.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "daemon/cli/customer_verbs.h"

namespace tact::cli {
namespace {

// Keeps the delivery report of the one message produced.
class Delivery : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    done_ = true;
    err_ = m.err();
    errstr_ = m.errstr();
  }
  bool done() const { return done_; }
  RdKafka::ErrorCode err() const { return err_; }
  const std::string& errstr() const { return errstr_; }

 private:
  bool done_ = false;
  RdKafka::ErrorCode err_ = RdKafka::ERR_NO_ERROR;
  std::string errstr_;
};

absl::Status Write(const ForgetArgs& args, const ops::KafkaSecurity& security, const std::string& key,
                   const std::string& payload) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : security.LibrdkafkaConf()) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat(k, ": ", ops::RedactSecrets(err, security.Secrets())));
    }
  }
  Delivery delivery;
  for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string>>{
           {"bootstrap.servers", args.brokers},
           {"acks", "all"},
           {"message.timeout.ms", std::to_string(args.timeout_s * 1000)},
           {"log_level", "3"}}) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) return absl::InvalidArgumentError(absl::StrCat(k, ": ", err));
  }
  if (conf->set("dr_cb", &delivery, err) != RdKafka::Conf::CONF_OK) return absl::InternalError(err);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) return absl::InvalidArgumentError(err);
  const RdKafka::ErrorCode produced =
      producer->produce(args.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                        const_cast<char*>(payload.data()), payload.size(), key.data(), key.size(), 0, nullptr);
  if (produced != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(RdKafka::err2str(produced));
  producer->flush(args.timeout_s * 1000 + 1000);
  if (!delivery.done()) return absl::UnavailableError(absl::StrCat("no acknowledgement from ", args.brokers));
  if (delivery.err() != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("topic ", args.topic, ": ", delivery.errstr()));
  }
  return absl::OkStatus();
}

}  // namespace

ErasureWriter KafkaErasureWriter() { return Write; }

}  // namespace tact::cli
