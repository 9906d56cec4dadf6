#pragma once

// What every tact producer (the pipeline, the signals consumer, the deferred scheduler) does with a record that
// cannot be produced as is, and how long a drain waits: one copy of the rules, so the three cannot
// drift apart.
//  * Size: each output topic accepts records up to its max.message.bytes (learnt from the brokers at start,
//    LearnTopicLimits; a fallback when they cannot say). A record estimated larger (RecordWireSize), or refused by
//    librdkafka or the broker as too large, is replaced by its tact.dlq form (DeadLetterForm): the record with the
//    dead-letter headers when that fits tact.dlq, else a small stub naming where it came from and its size.
//  * Retries: any other failure is retried with exponential backoff per output (RetryQueue, delivery_ledger.h).
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "daemon/pipeline/kafka_clients.h"
#include "daemon/pipeline/delivery_ledger.h"

namespace tact::pipeline {

// max.message.bytes assumed for a topic whose limit the brokers did not report (the mock cluster of
// tact-devbroker answers no DescribeConfigs): librdkafka's default message.max.bytes, below Kafka's default
// topic limit (1,048,588), so a record that fits it fits a default topic too.
inline constexpr int64_t kFallbackMaxMessageBytes = 1000000;
// Room kept for the headers the pipeline adds to a routed output once it is decided (tact-decision, tact-rule
// ≤ 64, tact-policy-version, tact-defer-until, tact-decided-at): checked before deciding, so an event whose
// output could not be produced is never decided (docs/operations.md "Outputs too large for their topic").
inline constexpr int64_t kDecisionHeadersAllowance = 1024;
// Dead-letter header marking a stub body (the record itself was too large for tact.dlq).
inline constexpr char kDeadLetterStubHeader[] = "tact-dlq-stub";

// The size the broker compares with max.message.bytes for a record batch holding only this record (Kafka record
// format v2: the 61-byte batch header, then the record), every varint counted at its widest. Never below
// librdkafka's own message.max.bytes check of the record. Pure.
int64_t RecordWireSize(size_t key_bytes, size_t value_bytes, const HeaderList& headers);
inline int64_t RecordWireSize(const OutputRecord& r) { return RecordWireSize(r.key.size(), r.value.size(), r.headers); }

// max.message.bytes per topic. Not thread-safe; copied into each producer's owner at start.
class TopicLimits {
 public:
  explicit TopicLimits(int64_t fallback = kFallbackMaxMessageBytes) : fallback_(fallback) {}
  void Set(const std::string& topic, int64_t max_bytes) { limits_[topic] = max_bytes; }
  int64_t Limit(std::string_view topic) const;
  bool Known(std::string_view topic) const { return limits_.find(std::string(topic)) != limits_.end(); }
  bool Fits(const OutputRecord& r) const { return RecordWireSize(r) <= Limit(r.topic); }
  // The largest and smallest limit over the known topics and the fallback.
  int64_t Largest() const;
  int64_t Smallest() const;

 private:
  int64_t fallback_;
  std::map<std::string, int64_t, std::less<>> limits_;
};

// Producer settings for these limits: message.max.bytes = the largest limit (so librdkafka itself refuses no
// record a topic accepts) and batch.size = min(1,000,000, the smallest limit) (so no batch of small records is
// larger than a topic accepts).
KafkaSettings ProducerSizeSettings(const TopicLimits& limits);

// What one DescribeConfigs request left unsaid: its last error, if any, and whether asking again may help (a
// topic the broker does not know yet, a request that timed out or lost its connection; not a refusal).
struct DescribeOutcome {
  std::string error;
  bool retriable = false;
};

// One DescribeConfigs of `topics` within `timeout`, each answered limit set in `limits`.
using DescribeTopics =
    std::function<DescribeOutcome(const std::vector<std::string>& topics, absl::Duration timeout, TopicLimits& limits)>;

// `describe` for the topics `limits` does not know yet, again after `pause` while its error is retriable, until
// every topic is known or `deadline`. Empty, or the last error.
std::string AskUntilKnown(const std::vector<std::string>& topics, absl::Time deadline, const DescribeTopics& describe,
                          TopicLimits& limits, absl::Duration pause = absl::Milliseconds(200));

// Asks the brokers (DescribeConfigs, within `timeout`) for each topic's max.message.bytes: again for a topic the
// broker does not know yet or a request that timed out (AskUntilKnown); not when the cluster cannot be reached or
// names no controller (tact-devbroker), so tactd starts without waiting for it. Topics they do not report keep the
// fallback; that is logged once (kafka.topic_limits_unknown). Blocks; call at start.
TopicLimits LearnTopicLimits(const std::string& brokers, const ops::KafkaSecurity& security,
                             const std::vector<std::string>& topics,
                             absl::Duration timeout);

// librdkafka's or the broker's "record too large" (produce() or a delivery report): retrying cannot help.
bool IsTooLarge(RdKafka::ErrorCode err);

// "too large: N bytes (TOPIC accepts at most LIMIT)", or "(refused by TOPIC)" when limit ≤ 0.
std::string TooLargeReason(int64_t bytes, std::string_view topic, int64_t limit);

// The tact.dlq form of `record`, which could not be produced as is, from input `source`@`offset`: the record
// (key, value, headers) on `dlq_topic` with the dead-letter headers (reason, source topic/partition/offset) if that
// fits tact.dlq's limit; otherwise a stub: a JSON body naming the source topic, partition, offset, the record's
// topic and size, `content-type: application/json` and `tact-dlq-stub: true`, the key only when at most 256 bytes,
// and of the record's headers only tact's own short ones (tact-decision, tact-rule, …). A stub's reason starts
// with "too large: N bytes" (`reason` appended when it said something else). Dead-letter headers the record
// already had are replaced. `stub_only`: the stub whatever the limits say (tact.dlq refused the record). Pure.
OutputRecord DeadLetterForm(OutputRecord record, std::string_view reason, const TopicPartition& source,
                            int64_t offset, const std::string& dlq_topic, const TopicLimits& limits,
                            bool stub_only = false);
bool IsDeadLetterStub(const OutputRecord& record);

// What a producer does with an output too large for its topic (`limit`: the topic's known limit; 0 when librdkafka
// or the broker refused it): rewrites `record` into its tact.dlq form (a stub when it was bound for tact.dlq
// already), the reason naming its size and topic plus any dead-letter reason it carried. Returns the size it had,
// or nullopt when it is a stub already (nothing smaller to send: the caller retries it). Pure.
std::optional<int64_t> RewriteTooLarge(OutputRecord& record, int64_t limit, const TopicPartition& source,
                                       int64_t offset, const std::string& dlq_topic, const TopicLimits& limits);

// How long a drain loop may wait in poll()/flush() before its next retry round: until the earliest retry is due,
// at most `cap`, at least 0. Pure.
int DrainWaitMs(std::optional<std::chrono::steady_clock::time_point> next_retry,
                std::chrono::steady_clock::time_point now, int cap_ms);

// Serves `producer`'s delivery reports until the earliest retry is due (DrainWaitMs), at most `cap_ms`: flush()
// while records are queued, poll() otherwise (flush() on an empty queue returns at once: a hot drain loop).
// On the producer's owning thread only.
void WaitForProducer(RdKafka::Producer& producer, std::optional<std::chrono::steady_clock::time_point> next_retry,
                     int cap_ms);

}  // namespace tact::pipeline
