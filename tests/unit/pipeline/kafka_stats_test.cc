#include "daemon/pipeline/kafka_stats.h"

#include <gtest/gtest.h>

namespace tact::pipeline {
namespace {

// Abridged from a librdkafka 2.0.2 consumer's statistics (STATISTICS.md).
constexpr char kStats[] = R"({
  "name": "tactd#consumer-2", "type": "consumer",
  "cgrp": {"state": "up", "join_state": "steady", "assignment_size": 2},
  "topics": {
    "tact.outbound": {"topic": "tact.outbound", "partitions": {
      "0": {"partition": 0, "fetch_state": "active", "consumer_lag": 7, "hi_offset": 10, "committed_offset": 3},
      "1": {"partition": 1, "fetch_state": "active", "consumer_lag": -1},
      "3": {"partition": 3, "fetch_state": "active", "consumer_lag": -1, "hi_offset": 4, "lo_offset": 1,
            "committed_offset": -1001},
      "2": {"partition": 2, "fetch_state": "none", "consumer_lag": 5},
      "-1": {"partition": -1, "fetch_state": "none", "consumer_lag": -1}}},
    "tact.signals": {"partitions": {"0": {"fetch_state": "offset-query", "consumer_lag": 0}}}
  }})";

TEST(ParseConsumerStatsTest, AssignedPartitionsWithKnownLag) {
  absl::StatusOr<ConsumerStats> s = ParseConsumerStats(kStats);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->lags.size(), 3u);
  EXPECT_EQ(s->lags[0].topic, "tact.outbound");
  EXPECT_EQ(s->lags[0].partition, 0);
  EXPECT_EQ(s->lags[0].lag, 7);
  EXPECT_EQ(s->lags[1].partition, 3);  // nothing committed yet: hi − lo
  EXPECT_EQ(s->lags[1].lag, 3);
  EXPECT_EQ(s->lags[2].topic, "tact.signals");
  EXPECT_EQ(s->lags[2].lag, 0);
  EXPECT_TRUE(s->Joined());
  EXPECT_EQ(s->assignment_size, 2);
}

TEST(ParseConsumerStatsTest, JoiningGroupAndProducerStats) {
  absl::StatusOr<ConsumerStats> s =
      ParseConsumerStats(R"({"cgrp": {"state": "up", "join_state": "wait-join", "assignment_size": 0}})");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->Joined());
  s = ParseConsumerStats(R"({"name": "tactd#producer-1", "type": "producer", "topics": {}})");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->Joined());
  EXPECT_TRUE(s->lags.empty());
}

TEST(ParseConsumerStatsTest, RejectsNonJson) {
  EXPECT_EQ(ParseConsumerStats("{not json").status().message(), "kafka statistics: not a JSON object");
  EXPECT_FALSE(ParseConsumerStats("[1,2]").ok());
}

}  // namespace
}  // namespace tact::pipeline
