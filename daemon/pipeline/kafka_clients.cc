#include "daemon/pipeline/kafka_clients.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "daemon/core/clock.h"
#include "daemon/ops/log.h"
#include "daemon/ops/log_limiter.h"

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

// Secrets of the clients created so far, redacted from what librdkafka reports. Few and fixed after start.
struct SecretRegistry {
  absl::Mutex mu;
  std::vector<std::string> secrets ABSL_GUARDED_BY(mu);
};
SecretRegistry& Registry() {
  static SecretRegistry* r = new SecretRegistry;
  return *r;
}
void RegisterSecrets(const ops::KafkaSecurity& security) {
  SecretRegistry& r = Registry();
  absl::MutexLock lock(&r.mu);
  for (std::string& s : security.Secrets()) {
    if (std::find(r.secrets.begin(), r.secrets.end(), s) == r.secrets.end()) r.secrets.push_back(std::move(s));
  }
}

// A security property's error names the property only: librdkafka's message may quote the value.
absl::Status SetSecurity(RdKafka::Conf& conf, const ops::KafkaSecurity& security) {
  for (const auto& [k, v] : security.LibrdkafkaConf()) {
    std::string err;
    if (conf.set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka config ", k, ": ", RedactKafkaText(err)));
    }
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

std::string RedactKafkaText(std::string text) {
  SecretRegistry& r = Registry();
  absl::MutexLock lock(&r.mu);
  return ops::RedactSecrets(std::move(text), r.secrets);
}

bool LogKafkaSecurityFailure(RdKafka::ErrorCode code, const std::string& message) {
  const bool auth = code == RdKafka::ERR__AUTHENTICATION || code == RdKafka::ERR_SASL_AUTHENTICATION_FAILED ||
                    message.find("SASL authentication error") != std::string::npos ||
                    message.find("SASL SCRAM") != std::string::npos;
  const bool tls = !auth && (code == RdKafka::ERR__SSL || message.find("SSL handshake failed") != std::string::npos ||
                             message.find("certificate verify failed") != std::string::npos);
  if (!auth && !tls) return false;
  static const SystemClock clock;
  static ops::LogLimiter* limiter = new ops::LogLimiter(clock, absl::Minutes(1));
  limiter->Log(ops::LogLevel::kError, "kafka.security_failed", auth ? "authentication" : "tls",
               {{"kind", auth ? "authentication" : "tls"},
                {"error", RedactKafkaText(message)},
                {"check", auth ? "kafka.sasl_mechanism, kafka.sasl_username and the password "
                                 "(kafka.sasl_password_file or TACT_KAFKA_SASL_PASSWORD)"
                               : "kafka.ssl_ca_location (the CA the brokers' certificates chain to), the broker "
                                 "host name in its certificate, kafka.ssl_certificate_location/ssl_key_location"},
                {"retrying", "true"}});
  return true;
}

void LogKafkaLine(RdKafka::Event& event) {
  // syslog severities: 0-3 error, 4 warning, 5-6 notice/info, 7 debug.
  const int sev = static_cast<int>(event.severity());
  ops::LogLevel level = sev <= 3   ? ops::LogLevel::kError
                        : sev == 4 ? ops::LogLevel::kWarning
                        : sev <= 6 ? ops::LogLevel::kInfo
                                   : ops::LogLevel::kDebug;
  std::string message = RedactKafkaText(event.str());
  if (level >= ops::LogLevel::kWarning && LogKafkaSecurityFailure(RdKafka::ERR_NO_ERROR, message)) {
    level = ops::LogLevel::kDebug;  // said once by kafka.security_failed
  }
  ops::Log(level, "kafka.log", {{"facility", event.fac()}, {"message", message}});
}

absl::StatusOr<std::unique_ptr<RdKafka::Producer>> CreateProducer(const std::string& brokers,
                                                                  const std::string& client_id,
                                                                  const ops::KafkaSecurity& security,
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
  RegisterSecrets(security);
  if (absl::Status s = SetAll(*conf, base); !s.ok()) return s;
  if (absl::Status s = SetSecurity(*conf, security); !s.ok()) return s;
  if (absl::Status s = SetAll(*conf, extra); !s.ok()) return s;
  if (absl::Status s = SetCb(*conf, "dr_cb", delivery); !s.ok()) return s;
  if (absl::Status s = SetCb(*conf, "event_cb", events); !s.ok()) return s;
  std::string err;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) return absl::InternalError(absl::StrCat("kafka producer: ", RedactKafkaText(err)));
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
  RegisterSecrets(o.security);
  if (absl::Status s = SetAll(*conf, base); !s.ok()) return s;
  if (absl::Status s = SetSecurity(*conf, o.security); !s.ok()) return s;
  if (absl::Status s = SetAll(*conf, o.extra); !s.ok()) return s;
  if (absl::Status s = SetCb(*conf, "rebalance_cb", rebalance); !s.ok()) return s;
  if (absl::Status s = SetCb(*conf, "event_cb", events); !s.ok()) return s;
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return absl::InternalError(absl::StrCat("kafka consumer: ", RedactKafkaText(err)));
  return consumer;
}

TopicHandles::~TopicHandles() {
  for (const auto& [name, topic] : topics_) rd_kafka_topic_destroy(topic);
}

rd_kafka_topic_t* TopicHandles::Get(const std::string& topic) {
  if (auto it = topics_.find(topic); it != topics_.end()) return it->second;
  rd_kafka_topic_t* made = rd_kafka_topic_new(producer_, topic.c_str(), nullptr);
  if (made != nullptr) topics_.emplace(topic, made);
  return made;
}

RdKafka::ErrorCode ProduceCopy(RdKafka::Producer& producer, rd_kafka_topic_t* topic, const std::string& key,
                               const std::string& value,
                               const std::vector<std::pair<std::string, std::string>>& headers, void* opaque) {
  for (;;) {
    // librdkafka's C call: the C++ one allocates a Headers object around the same C list.
    rd_kafka_headers_t* h = rd_kafka_headers_new(headers.size());
    for (const auto& [k, v] : headers) {
      rd_kafka_header_add(h, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
    }
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        producer.c_ptr(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      return RdKafka::ERR_NO_ERROR;  // librdkafka owns `h` now
    }
    rd_kafka_headers_destroy(h);  // not taken on failure
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return static_cast<RdKafka::ErrorCode>(err);
    }
    producer.poll(100);
  }
}

}  // namespace tact::pipeline
