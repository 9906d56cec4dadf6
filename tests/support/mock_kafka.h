#pragma once

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>  // Needs rdkafka.h first.

#include <initializer_list>
#include <string>

namespace tact::testing {

// A one-broker librdkafka mock cluster in this process with `topics`, one partition each (the component tier's
// Kafka; the integration tier uses tact-devbroker as a process). Not copyable.
class MockKafkaCluster {
 public:
  explicit MockKafkaCluster(std::initializer_list<const char*> topics) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);
      ADD_FAILURE() << errstr;
      return;
    }
    cluster_ = rd_kafka_mock_cluster_new(rk_, 1);
    for (const char* topic : topics) {
      EXPECT_EQ(rd_kafka_mock_topic_create(cluster_, topic, 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR) << topic;
    }
  }
  ~MockKafkaCluster() {
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }
  MockKafkaCluster(const MockKafkaCluster&) = delete;
  MockKafkaCluster& operator=(const MockKafkaCluster&) = delete;

  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  // The broker stops answering (connections refused) until the cluster is destroyed.
  void SetDown() { EXPECT_EQ(rd_kafka_mock_broker_set_down(cluster_, 1), RD_KAFKA_RESP_ERR_NO_ERROR); }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace tact::testing
