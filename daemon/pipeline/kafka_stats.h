#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tact::pipeline {

struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t lag = 0;  // consumer_lag: high watermark (or last stable offset) − committed offset; before the
                    // first commit: hi_offset − lo_offset (everything retained is unread)
};

// What tactd reads from a consumer's librdkafka statistics (statistics.interval.ms, STATISTICS.md).
struct ConsumerStats {
  std::vector<PartitionLag> lags;  // assigned partitions whose lag is known
  std::string group_state;         // cgrp.state: "up" once the group coordinator is known and joined
  std::string join_state;          // cgrp.join_state: "steady" between rebalances
  int assignment_size = 0;         // cgrp.assignment_size
  bool Joined() const { return group_state == "up" && join_state == "steady"; }
};

// Pure: parses the statistics JSON. Partitions that are not fetched (fetch_state "none"), the internal
// partition -1, and unknown lags (-1) are left out.
absl::StatusOr<ConsumerStats> ParseConsumerStats(std::string_view json);

}  // namespace tact::pipeline
