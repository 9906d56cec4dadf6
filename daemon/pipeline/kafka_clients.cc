#include "daemon/pipeline/kafka_clients.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/ops/log.h"

namespace tact::pipeline {
namespace {

absl::Status Set(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
  std::string err;
  if (conf.set(key, value, err) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat("kafka config ", key, ": ", err));
  }
  return absl::OkStatus();
}

template <typename Cb>
absl::Status SetCb(RdKafka::Conf& conf, const std::string& key, Cb* cb) {
  std::string err;
  if (conf.set(key, cb, err) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat("kafka config ", key, ": ", err));
  }
  return absl::OkStatus();
}

absl::Status SetAll(RdKafka::Conf& conf, const KafkaSettings& settings) {
  for (const auto& [k, v] : settings) {
    if (absl::Status s = Set(conf, k, v); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

void LogKafkaLine(RdKafka::Event& event) {
  // syslog severities: 0-3 error, 4 warning, 5-6 notice/info, 7 debug.
  const int sev = static_cast<int>(event.severity());
  const ops::LogLevel level = sev <= 3   ? ops::LogLevel::kError
                              : sev == 4 ? ops::LogLevel::kWarning
                              : sev <= 6 ? ops::LogLevel::kInfo
                                         : ops::LogLevel::kDebug;
  ops::Log(level, "kafka.log", {{"facility", event.fac()}, {"message", event.str()}});
}

absl::StatusOr<std::unique_ptr<RdKafka::Producer>> CreateProducer(const std::string& brokers,
                                                                  const std::string& client_id,
                                                                  RdKafka::DeliveryReportCb* delivery,
                                                                  RdKafka::EventCb* events,
                                                                  const KafkaSettings& extra) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  const KafkaSettings base = {
      {"bootstrap.servers", brokers},
      {"client.id", client_id},
      {"enable.idempotence", "true"},  // implies acks=all and ordered retries
      {"linger.ms", "5"},
      {"message.timeout.ms", "30000"}};
  if (absl::Status s = SetAll(*conf, base); !s.ok()) return s;
  if (absl::Status s = SetAll(*conf, extra); !s.ok()) return s;
  if (absl::Status s = SetCb(*conf, "dr_cb", delivery); !s.ok()) return s;
  if (absl::Status s = SetCb(*conf, "event_cb", events); !s.ok()) return s;
  std::string err;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) return absl::InternalError(absl::StrCat("kafka producer: ", err));
  return producer;
}

absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> CreateConsumer(const ConsumerSettings& o,
                                                                       RdKafka::RebalanceCb* rebalance,
                                                                       RdKafka::EventCb* events) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  const KafkaSettings base = {
      {"bootstrap.servers", o.brokers},
      {"client.id", o.client_id},
      {"group.id", o.group_id},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"enable.auto.commit", o.auto_commit ? "true" : "false"},
      {"isolation.level", "read_committed"},  // inputs written in transactions: committed ones only
      {"enable.auto.offset.store", "false"},
      {"auto.commit.interval.ms", "1000"},
      {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", absl::StrCat(o.session_timeout_ms)},
      {"heartbeat.interval.ms", absl::StrCat(std::max(100, o.session_timeout_ms / 3))}};
  if (absl::Status s = SetAll(*conf, base); !s.ok()) return s;
  if (absl::Status s = SetAll(*conf, o.extra); !s.ok()) return s;
  if (absl::Status s = SetCb(*conf, "rebalance_cb", rebalance); !s.ok()) return s;
  if (absl::Status s = SetCb(*conf, "event_cb", events); !s.ok()) return s;
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return absl::InternalError(absl::StrCat("kafka consumer: ", err));
  return consumer;
}

RdKafka::ErrorCode ProduceCopy(RdKafka::Producer& producer, const std::string& topic, const std::string& key,
                               const std::string& value,
                               const std::vector<std::pair<std::string, std::string>>& headers, void* opaque) {
  for (;;) {
    RdKafka::Headers* h = RdKafka::Headers::create();
    for (const auto& [k, v] : headers) {
      h->add(k, v);
    }
    const RdKafka::ErrorCode err =
        producer.produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                         const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, h, opaque);
    if (err == RdKafka::ERR_NO_ERROR) {
      return err;  // librdkafka owns `h` now
    }
    delete h;  // not taken on failure
    if (err != RdKafka::ERR__QUEUE_FULL) {
      return err;
    }
    producer.poll(100);
  }
}

}  // namespace tact::pipeline
