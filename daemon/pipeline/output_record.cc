#include "daemon/pipeline/output_record.h"

#include "absl/strings/str_cat.h"

namespace tact::pipeline {

const std::string* FindHeader(const HeaderList& headers, std::string_view key) {
  for (const auto& [k, v] : headers) {
    if (k == key) {
      return &v;
    }
  }
  return nullptr;
}

std::string Position(const TopicPartition& tp, int64_t offset) {
  return absl::StrCat(tp.topic, "[", tp.partition, "]@", offset);
}

void AddDeadLetterHeaders(HeaderList& headers, std::string_view reason, const TopicPartition& tp, int64_t offset) {
  headers.emplace_back("tact-dlq-reason", std::string(reason));
  headers.emplace_back("tact-source-topic", tp.topic);
  headers.emplace_back("tact-source-partition", absl::StrCat(tp.partition));
  headers.emplace_back("tact-source-offset", absl::StrCat(offset));
}

}  // namespace tact::pipeline
