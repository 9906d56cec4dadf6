#pragma once

// What every tact producer writes: records with headers, and where they came from. Pure.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tact::pipeline {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// Kafka message headers in order, values as bytes.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One record to produce.
struct OutputRecord {
  std::string topic;
  std::string key;
  std::string value;
  HeaderList headers;
};

// The first value of `key`, or nullptr.
const std::string* FindHeader(const HeaderList& headers, std::string_view key);
// "topic[partition]@offset": where an input came from, in logs, DLQ reasons and decision records.
std::string Position(const TopicPartition& tp, int64_t offset);

// A dead letter keeps the input's bytes, key and headers and adds why and where from: `tact-dlq-reason`,
// `tact-source-topic`, `tact-source-partition`, `tact-source-offset`. Every consumer that dead-letters (the
// pipeline, the signals consumer, the deferred scheduler) uses this, so tact.dlq has one header contract.
void AddDeadLetterHeaders(HeaderList& headers, std::string_view reason, const TopicPartition& tp, int64_t offset);

}  // namespace tact::pipeline
