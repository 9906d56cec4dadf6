#pragma once

// The Kafka clients every tact consumer/producer pair starts from (the pipeline on tact.outbound, the signals
// consumer, the deferred scheduler), so their delivery settings cannot drift apart.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "daemon/ops/kafka_security.h"

namespace tact::pipeline {

using KafkaSettings = std::vector<std::pair<std::string, std::string>>;

// An idempotent producer (acks=all, ordered retries), linger 5 ms, 30 s delivery timeout, with `security`
// (security.protocol, SASL, TLS, kafka.properties.*), plus `extra` (e.g. transactional.id). Errors name the
// setting, never a secret's value.
absl::StatusOr<std::unique_ptr<RdKafka::Producer>> CreateProducer(const std::string& brokers,
                                                                  const std::string& client_id,
                                                                  const ops::KafkaSecurity& security,
                                                                  RdKafka::DeliveryReportCb* delivery,
                                                                  RdKafka::EventCb* events,
                                                                  const KafkaSettings& extra = {});

struct ConsumerSettings {
  std::string brokers;
  std::string client_id;
  std::string group_id;
  int session_timeout_ms = 10000;
  // false: offsets are committed by the caller (exactly_once: inside the producer's transactions).
  bool auto_commit = true;
  KafkaSettings extra;  // e.g. statistics.interval.ms, group.instance.id
  ops::KafkaSecurity security;  // how it connects: the same for every client of the process
};

// A group consumer with cooperative-sticky assignment, read_committed, offsets stored by the application only
// (enable.auto.offset.store=false) and auto-committed every second when `auto_commit`, from the earliest offset
// when the group has none.
absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> CreateConsumer(const ConsumerSettings& settings,
                                                                       RdKafka::RebalanceCb* rebalance,
                                                                       RdKafka::EventCb* events);

// Forwards one librdkafka log line (an EVENT_LOG event) to ops::Log as "kafka.log" at the level its syslog
// severity maps to, so every client's lines are JSON like the daemon's own. Secrets of the clients created so far
// are replaced by "***". A connection refused for authentication or TLS reasons goes to LogKafkaSecurityFailure
// instead (and is logged at debug level here).
void LogKafkaLine(RdKafka::Event& event);

// A failed authentication (ERR__AUTHENTICATION, SASL) or TLS handshake (ERR__SSL: untrusted CA, bad client
// certificate): one "kafka.security_failed" error line per kind and minute for the whole process (every client
// retries, each with its own backoff), naming the settings to check. Returns false, logging nothing, for any other
// error. Thread-safety: any thread (librdkafka's callbacks call it from its own).
bool LogKafkaSecurityFailure(RdKafka::ErrorCode code, const std::string& message);

// `text` with the secrets of every client created so far replaced by "***" (for anything librdkafka reports).
// Thread-safety: any thread.
std::string RedactKafkaText(std::string text);

// A producer's topic handles by name, each made on first use and kept until this is destroyed, which must happen
// before the producer is. librdkafka's produce by topic name looks the topic up under the client's lock on every
// message (and the C++ call copies the name). Thread-safety: one thread.
class TopicHandles {
 public:
  explicit TopicHandles(rd_kafka_t* producer) : producer_(producer) {}
  ~TopicHandles();
  TopicHandles(const TopicHandles&) = delete;
  TopicHandles& operator=(const TopicHandles&) = delete;

  // nullptr when librdkafka refuses the name (rd_kafka_last_error() says why).
  rd_kafka_topic_t* Get(const std::string& topic);

 private:
  rd_kafka_t* const producer_;
  absl::flat_hash_map<std::string, rd_kafka_topic_t*> topics_;
};

// Produces one message (value copied, keyed, headers attached) on `topic` (a handle of `producer`'s) with `opaque`
// for its delivery report, waiting on a full local queue (polling the producer for delivery reports meanwhile).
// Returns ERR_NO_ERROR when queued, else the produce error (never ERR__QUEUE_FULL).
RdKafka::ErrorCode ProduceCopy(RdKafka::Producer& producer, rd_kafka_topic_t* topic, const std::string& key,
                               const std::string& value,
                               const std::vector<std::pair<std::string, std::string>>& headers, void* opaque);

}  // namespace tact::pipeline
