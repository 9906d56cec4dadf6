#include "daemon/pipeline/kafka_stats.h"

#include "absl/strings/numbers.h"
#include "nlohmann/json.hpp"

namespace tact::pipeline {

absl::StatusOr<ConsumerStats> ParseConsumerStats(std::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("kafka statistics: not a JSON object");
  }
  ConsumerStats out;
  if (auto cg = doc.find("cgrp"); cg != doc.end() && cg->is_object()) {
    out.group_state = cg->value("state", "");
    out.join_state = cg->value("join_state", "");
    out.assignment_size = cg->value("assignment_size", 0);
  }
  auto topics = doc.find("topics");
  if (topics == doc.end() || !topics->is_object()) {
    return out;
  }
  for (const auto& [topic, t] : topics->items()) {
    auto parts = t.find("partitions");
    if (parts == t.end() || !parts->is_object()) {
      continue;
    }
    for (const auto& [key, p] : parts->items()) {
      int32_t partition = -1;
      if (!absl::SimpleAtoi(key, &partition) || partition < 0 || !p.is_object()) {
        continue;
      }
      const std::string fetch_state = p.value("fetch_state", "none");
      int64_t lag = p.value("consumer_lag", int64_t{-1});
      const int64_t hi = p.value("hi_offset", int64_t{-1});
      const int64_t lo = p.value("lo_offset", int64_t{-1});
      if (lag < 0 && hi >= 0 && lo >= 0 && p.value("committed_offset", int64_t{-1001}) < 0) {
        lag = hi - lo;  // nothing committed yet: everything retained is still to be read (auto.offset.reset=earliest)
      }
      if (fetch_state == "none" || lag < 0) {
        continue;
      }
      out.lags.push_back({topic, partition, lag});
    }
  }
  return out;
}

}  // namespace tact::pipeline
