// KafkaDecisionRecords (the gRPC API's decision records) on librdkafka's mock cluster: a record reaches
// tact.decisions in the Kafka path's form (OutputRouter: JSON, keyed by the customer hash, content-type header);
// with the broker down past the message timeout it is lost, counted in tact_kafka_errors_total{what="grpc_record"},
// and Record never blocked.
#include <librdkafka/rdkafka.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "daemon/pipeline/decision_record_sink.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/pipeline/output_router.h"
#include "tests/support/mock_kafka.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact::pipeline {
namespace {

using ::tact::testing::TopicReader;
using ::tact::testing::WaitFor;

v1::DecisionRecord GrpcRecord(const std::string& event_id) {
  v1::DecisionRecord r;
  r.set_event_id(event_id);
  r.set_tenant("acme");
  r.set_customer_hash("0123456789abcdef");
  r.set_source("grpc");
  r.set_client("crm-a");
  r.mutable_decision()->set_decision(v1::SUPPRESS);
  r.mutable_decision()->set_rule_id("promo-daily");
  r.mutable_decision()->set_policy_version("2026.11.2");
  return r;
}

class DecisionRecordSinkTest : public ::testing::Test {
 protected:
  std::unique_ptr<KafkaDecisionRecords> Sink(int message_timeout_ms) {
    absl::StatusOr<std::unique_ptr<KafkaDecisionRecords>> sink = KafkaDecisionRecords::Create(
        {.brokers = broker_.bootstrap(), .topic = "tact.decisions", .message_timeout_ms = message_timeout_ms,
         .stats = &stats_},
        clock_);
    EXPECT_TRUE(sink.ok()) << sink.status();
    return sink.ok() ? *std::move(sink) : nullptr;
  }
  double Lost() { return stats_.kafka_errors_total.With({"grpc_record"}).Value(); }

  SystemClock clock_;
  prometheus::Registry registry_;
  PipelineStats stats_{registry_};
  testing::MockKafkaCluster broker_{"tact.decisions"};
};

TEST_F(DecisionRecordSinkTest, ARecordGoesToTheTopicInTheKafkaPathsForm) {
  std::unique_ptr<KafkaDecisionRecords> sink = Sink(kSendTimeoutMs);
  ASSERT_NE(sink, nullptr);
  const v1::DecisionRecord record = GrpcRecord("g-1");
  sink->Record(record);
  TopicReader decisions(broker_.bootstrap(), "tact.decisions");
  ASSERT_TRUE(WaitFor([&] { return decisions.Count() == 1; }, absl::Seconds(20), "the record on tact.decisions"));
  // What the Kafka path's router writes for the same record.
  const OutputRecord expected = OutputRouter(Topics{}).Route(record.decision(), record, "k", "v", {})[1];
  const testing::Record got = decisions.Records()[0];
  EXPECT_EQ(got.key, expected.key);
  EXPECT_EQ(got.value, expected.value);
  EXPECT_EQ(got.headers.at("content-type"), "application/json");
  EXPECT_EQ(Lost(), 0);
}

TEST_F(DecisionRecordSinkTest, ARecordNotDeliveredInTimeIsCountedAsLost) {
  std::unique_ptr<KafkaDecisionRecords> sink = Sink(/*message_timeout_ms=*/300);
  ASSERT_NE(sink, nullptr);
  broker_.SetDown();
  for (int i = 0; i < 3; ++i) sink->Record(GrpcRecord("lost-" + std::to_string(i)));
  EXPECT_TRUE(WaitFor([&] { return Lost() == 3; }, absl::Seconds(20), "3 records counted as lost"));
  EXPECT_EQ(sink->lost(), 3);
}

}  // namespace
}  // namespace tact::pipeline
