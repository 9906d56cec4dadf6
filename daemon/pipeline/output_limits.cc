#include "daemon/pipeline/output_limits.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <iterator>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/json_string.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"
#include "daemon/pipeline/output_record.h"

namespace tact::pipeline {
namespace {

using ops::Log;
using ops::LogLevel;

// Kafka record format v2 (KIP-98): a batch header of 61 bytes; per record a length, attributes (1), timestamp
// delta, offset delta, key length, value length and header count as varints; per header its name and value
// lengths as varints. Widest varints: 5 bytes for 32-bit values, 10 for 64-bit ones.
constexpr int64_t kBatchHeaderBytes = 61;
constexpr int64_t kVarint32 = 5;
constexpr int64_t kVarint64 = 10;
constexpr int64_t kRecordOverhead = kVarint32 /*length*/ + 1 /*attributes*/ + kVarint64 /*timestamp delta*/ +
                                    kVarint32 /*offset delta*/ + kVarint32 /*key length*/ +
                                    kVarint32 /*value length*/ + kVarint32 /*header count*/;
// A stub keeps the key and tact's own headers only when they are this short.
constexpr size_t kStubMaxKeyBytes = 256;
constexpr size_t kStubMaxHeaderBytes = 256;
// A request carries more than its batch (request and topic headers, the transactional id): message.max.bytes
// gets this much room above the largest limit.
constexpr int64_t kRequestFramingBytes = 4096;
constexpr int64_t kDefaultBatchSize = 1000000;  // librdkafka's batch.size default

constexpr std::string_view kDeadLetterHeaders[] = {"tact-dlq-reason", "tact-source-topic", "tact-source-partition",
                                                   "tact-source-offset", kDeadLetterStubHeader};

bool IsDeadLetterHeader(std::string_view key) {
  return std::find(std::begin(kDeadLetterHeaders), std::end(kDeadLetterHeaders), key) !=
         std::end(kDeadLetterHeaders);
}

// Empty when the cluster metadata names a controller among its brokers; else why not. tact-devbroker's mock
// cluster names none (and answers no DescribeConfigs).
std::string KnownController(rd_kafka_t* rk, absl::Duration timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, 0, nullptr, &md, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::StrCat("metadata: ", rd_kafka_err2str(err));
  }
  const int32_t controller = rd_kafka_controllerid(rk, 0);
  bool known = false;
  for (int i = 0; i < md->broker_cnt; ++i) {
    known |= md->brokers[i].id == controller;
  }
  rd_kafka_metadata_destroy(md);
  return known ? "" : "the cluster metadata names no controller";
}

}  // namespace

int64_t RecordWireSize(size_t key_bytes, size_t value_bytes, const HeaderList& headers) {
  int64_t size = kBatchHeaderBytes + kRecordOverhead + static_cast<int64_t>(key_bytes + value_bytes);
  for (const auto& [k, v] : headers) {
    size += 2 * kVarint32 + static_cast<int64_t>(k.size() + v.size());
  }
  return size;
}

int64_t TopicLimits::Limit(std::string_view topic) const {
  auto it = limits_.find(topic);
  return it != limits_.end() ? it->second : fallback_;
}

int64_t TopicLimits::Largest() const {
  int64_t largest = fallback_;
  for (const auto& [topic, limit] : limits_) {
    largest = std::max(largest, limit);
  }
  return largest;
}

int64_t TopicLimits::Smallest() const {
  int64_t smallest = fallback_;
  for (const auto& [topic, limit] : limits_) {
    smallest = std::min(smallest, limit);
  }
  return smallest;
}

KafkaSettings ProducerSizeSettings(const TopicLimits& limits) {
  // librdkafka's bounds: message.max.bytes 1000 … 1,000,000,000; batch.size ≥ 1.
  const int64_t max_bytes = std::clamp<int64_t>(limits.Largest() + kRequestFramingBytes, 1000, 1000000000);
  const int64_t batch = std::clamp<int64_t>(std::min(kDefaultBatchSize, limits.Smallest()), 1, kDefaultBatchSize);
  return {{"message.max.bytes", absl::StrCat(max_bytes)}, {"batch.size", absl::StrCat(batch)}};
}

bool IsTooLarge(RdKafka::ErrorCode err) {
  return err == RdKafka::ERR_MSG_SIZE_TOO_LARGE || err == RdKafka::ERR_RECORD_LIST_TOO_LARGE;
}

std::string TooLargeReason(int64_t bytes, std::string_view topic, int64_t limit) {
  if (limit <= 0) {
    return absl::StrCat("too large: ", bytes, " bytes (refused by ", AsAbsl(topic), ")");
  }
  return absl::StrCat("too large: ", bytes, " bytes (", AsAbsl(topic), " accepts at most ", limit, ")");
}

OutputRecord DeadLetterForm(OutputRecord record, std::string_view reason, const TopicPartition& source,
                            int64_t offset, const std::string& dlq_topic, const TopicLimits& limits,
                            bool stub_only) {
  const std::string original_topic = std::move(record.topic);
  std::erase_if(record.headers, [](const auto& kv) { return IsDeadLetterHeader(kv.first); });
  const int64_t original_bytes = RecordWireSize(record);
  OutputRecord out{.topic = dlq_topic, .key = std::move(record.key), .value = std::move(record.value),
                   .headers = std::move(record.headers)};
  AddDeadLetterHeaders(out.headers, reason, source, offset);
  if (!stub_only && limits.Fits(out)) {
    return out;
  }
  // The stub: the record itself does not fit tact.dlq.
  std::string stub_reason;
  if (absl::StartsWith(AsAbsl(reason), "too large: ")) {
    stub_reason = std::string(reason);
  } else {
    stub_reason = absl::StrCat(TooLargeReason(RecordWireSize(out), dlq_topic, limits.Limit(dlq_topic)), "; ",
                               AsAbsl(reason));
  }
  OutputRecord stub{.topic = dlq_topic};
  if (out.key.size() <= kStubMaxKeyBytes) {
    stub.key = std::move(out.key);
  }
  stub.value = "{\"tact_dlq_stub\":{\"source_topic\":";
  AppendJsonString(source.topic, &stub.value);
  absl::StrAppend(&stub.value, ",\"source_partition\":", source.partition, ",\"source_offset\":", offset,
                  ",\"topic\":");
  AppendJsonString(original_topic, &stub.value);
  absl::StrAppend(&stub.value, ",\"bytes\":", original_bytes, ",\"value_bytes\":", out.value.size(), "}}");
  for (auto& [k, v] : out.headers) {
    if (absl::StartsWith(k, "tact-") && !IsDeadLetterHeader(k) && k.size() + v.size() <= kStubMaxHeaderBytes) {
      stub.headers.emplace_back(std::move(k), std::move(v));
    }
  }
  stub.headers.emplace_back("content-type", "application/json");
  stub.headers.emplace_back(kDeadLetterStubHeader, "true");
  AddDeadLetterHeaders(stub.headers, stub_reason, source, offset);
  return stub;
}

bool IsDeadLetterStub(const OutputRecord& record) {
  return FindHeader(record.headers, kDeadLetterStubHeader) != nullptr;
}

std::optional<int64_t> RewriteTooLarge(OutputRecord& record, int64_t limit, const TopicPartition& source,
                                       int64_t offset, const std::string& dlq_topic, const TopicLimits& limits) {
  if (IsDeadLetterStub(record)) {
    return std::nullopt;
  }
  const int64_t bytes = RecordWireSize(record);
  const bool to_dlq_already = record.topic == dlq_topic;
  std::string reason = TooLargeReason(bytes, record.topic, limit);
  if (const std::string* before = FindHeader(record.headers, "tact-dlq-reason"); before != nullptr) {
    absl::StrAppend(&reason, "; ", *before);
  }
  record = DeadLetterForm(std::move(record), reason, source, offset, dlq_topic, limits, /*stub_only=*/to_dlq_already);
  return bytes;
}

int DrainWaitMs(std::optional<std::chrono::steady_clock::time_point> next_retry,
                std::chrono::steady_clock::time_point now, int cap_ms) {
  if (!next_retry) {
    return cap_ms;
  }
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(*next_retry - now).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, cap_ms));
}

void WaitForProducer(RdKafka::Producer& producer, std::optional<std::chrono::steady_clock::time_point> next_retry,
                     int cap_ms) {
  const int wait = DrainWaitMs(next_retry, std::chrono::steady_clock::now(), cap_ms);
  if (producer.outq_len() > 0) {
    producer.flush(wait);
  } else {
    producer.poll(wait);
  }
}

namespace {

struct Destroy {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};

// The admin client's configuration, or nullptr (with `errstr` set) when a setting is refused.
rd_kafka_conf_t* LimitsClientConf(const std::string& brokers, const ops::KafkaSecurity& security, char* errstr,
                                  size_t errstr_size) {
  const std::vector<std::pair<std::string, std::string>> security_conf = security.LibrdkafkaConf();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char* fac, const char* buf) {
    Log(LogLevel::kDebug, "kafka.log", {{"facility", fac}, {"message", RedactKafkaText(buf)}});
  });
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, errstr_size) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "client.id", "tactd-limits", errstr, errstr_size) != RD_KAFKA_CONF_OK ||
      !std::all_of(security_conf.begin(), security_conf.end(), [&](const auto& kv) {
        return rd_kafka_conf_set(conf, kv.first.c_str(), kv.second.c_str(), errstr, errstr_size) ==
               RD_KAFKA_CONF_OK;
      })) {
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  return conf;
}

// Whether DescribeConfigs may answer if asked again: a topic it does not know yet (created a moment ago), a request
// that timed out or lost its connection, a controller that moved. Not an authorization error or a bad request.
bool RetriableDescribeError(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
         err == RD_KAFKA_RESP_ERR_NOT_CONTROLLER;
}

// Each described topic's max.message.bytes into `limits`.
DescribeOutcome ReadMaxMessageBytes(const rd_kafka_DescribeConfigs_result_t* result, TopicLimits& limits) {
  DescribeOutcome out;
  size_t n = 0;
  const rd_kafka_ConfigResource_t** rs = rd_kafka_DescribeConfigs_result_resources(result, &n);
  for (size_t i = 0; i < n; ++i) {
    const std::string name = rd_kafka_ConfigResource_name(rs[i]);
    if (const rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(rs[i]); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* e = rd_kafka_ConfigResource_error_string(rs[i]);
      out.error = absl::StrCat(name, ": ", e != nullptr ? e : rd_kafka_err2str(err));
      out.retriable |= RetriableDescribeError(err);
      continue;
    }
    size_t m = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[i], &m);
    for (size_t j = 0; j < m; ++j) {
      const char* value = rd_kafka_ConfigEntry_value(entries[j]);
      int64_t bytes = 0;
      if (std::string_view(rd_kafka_ConfigEntry_name(entries[j])) == "max.message.bytes" && value != nullptr &&
          absl::SimpleAtoi(value, &bytes) && bytes > 0) {
        limits.Set(name, bytes);
      }
    }
  }
  return out;
}

// DescribeConfigs of `topics` (within `timeout`) into `limits`.
DescribeOutcome DescribeTopicLimits(rd_kafka_t* rk, const std::vector<std::string>& topics, absl::Duration timeout,
                                    TopicLimits& limits) {
  char errstr[512];
  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const std::string& t : topics) {
    resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.c_str()));
  }
  std::unique_ptr<rd_kafka_AdminOptions_t, Destroy> options(
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  (void)rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, errstr, sizeof errstr);
  std::unique_ptr<rd_kafka_queue_t, Destroy> queue(rd_kafka_queue_new(rk));
  rd_kafka_DescribeConfigs(rk, resources.data(), resources.size(), options.get(), queue.get());
  rd_kafka_ConfigResource_destroy_array(resources.data(), resources.size());
  std::unique_ptr<rd_kafka_event_t, Destroy> ev(rd_kafka_queue_poll(queue.get(), timeout_ms + 1000));
  if (ev == nullptr) {
    return {.error = "no answer in time", .retriable = true};
  }
  if (const rd_kafka_resp_err_t err = rd_kafka_event_error(ev.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return {.error = rd_kafka_event_error_string(ev.get()), .retriable = RetriableDescribeError(err)};
  }
  if (const rd_kafka_DescribeConfigs_result_t* result = rd_kafka_event_DescribeConfigs_result(ev.get())) {
    return ReadMaxMessageBytes(result, limits);
  }
  return {};
}

void LogTopicLimits(const std::vector<std::string>& topics, const TopicLimits& limits, const std::string& error) {
  std::string learnt;
  std::vector<std::string> unknown;
  for (const std::string& t : topics) {
    if (limits.Known(t)) {
      absl::StrAppend(&learnt, learnt.empty() ? "" : ",", t, "=", limits.Limit(t));
    } else {
      unknown.push_back(t);
    }
  }
  if (!learnt.empty()) {
    Log(LogLevel::kInfo, "kafka.topic_limits", {{"max_message_bytes", learnt}});
  }
  if (!unknown.empty()) {
    Log(LogLevel::kWarning, "kafka.topic_limits_unknown",
        {{"topics", absl::StrJoin(unknown, ",")}, {"error", error.empty() ? "not reported" : error},
         {"fallback_bytes", absl::StrCat(kFallbackMaxMessageBytes)}});
  }
}

}  // namespace

std::string AskUntilKnown(const std::vector<std::string>& topics, absl::Time deadline, const DescribeTopics& describe,
                          TopicLimits& limits, absl::Duration pause) {
  for (;;) {
    std::vector<std::string> unknown;
    std::copy_if(topics.begin(), topics.end(), std::back_inserter(unknown),
                 [&](const std::string& t) { return !limits.Known(t); });
    if (unknown.empty()) return "";
    const DescribeOutcome outcome =
        describe(unknown, std::max(deadline - absl::Now(), absl::Milliseconds(1)), limits);
    if (!outcome.retriable || absl::Now() + pause >= deadline) return outcome.error;
    absl::SleepFor(pause);
  }
}

TopicLimits LearnTopicLimits(const std::string& brokers, const ops::KafkaSecurity& security,
                             const std::vector<std::string>& topics,
                             absl::Duration timeout) {
  TopicLimits limits;
  char errstr[512];
  rd_kafka_conf_t* conf = LimitsClientConf(brokers, security, errstr, sizeof errstr);
  if (conf == nullptr) {
    Log(LogLevel::kWarning, "kafka.topic_limits_unknown",
        {{"error", errstr}, {"fallback_bytes", absl::StrCat(kFallbackMaxMessageBytes)}});
    return limits;
  }
  std::unique_ptr<rd_kafka_t, Destroy> rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr));
  std::string error;
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);  // not taken on failure
    error = errstr;
  } else if (std::string why = KnownController(rk.get(), timeout); !why.empty()) {
    error = std::move(why);  // DescribeConfigs goes to the controller: it would wait out the whole timeout
  } else {
    error = AskUntilKnown(
        topics, absl::Now() + timeout,
        [&](const std::vector<std::string>& unknown, absl::Duration left, TopicLimits& into) {
          return DescribeTopicLimits(rk.get(), unknown, left, into);
        },
        limits);
  }
  LogTopicLimits(topics, limits, error);
  return limits;
}

}  // namespace tact::pipeline
