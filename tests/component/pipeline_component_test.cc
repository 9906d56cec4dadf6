// The Pipeline in-process on librdkafka's mock cluster (as tact-devbroker runs it) with an in-memory store: the
// delivery engine, the router and the at-least-once commit without a broker process, Redis or tactd.
#include <librdkafka/rdkafka.h>
#include <prometheus/registry.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "daemon/decision/decision_service.h"
#include "daemon/pipeline/pipeline.h"
#include "daemon/pipeline/pipeline_stats.h"
#include "daemon/policy/parse.h"
#include "daemon/store/in_memory_counter_store.h"
#include "tests/support/mock_kafka.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact::pipeline {
namespace {

using ::tact::testing::Record;
using ::tact::testing::TestProducer;
using ::tact::testing::TopicReader;
using ::tact::testing::WaitFor;

constexpr char kPolicy[] = R"(
version: "v1"
rules:
  - id: proactive-2
    description: two proactive emails per week
    match: { message_class: [PROACTIVE_SERVICE] }
    limit: { count: 2, window: 7d }
)";

std::string EventJson(const std::string& id) {
  return R"({"event_id":")" + id + R"(","tenant":"acme","customer_id":"maria@example.com",)" +
         R"("channel":"EMAIL","message_class":"PROACTIVE_SERVICE"})";
}

// The group's committed offset of tact.outbound[0] (-1001: none).
int64_t Committed(const std::string& brokers, const std::string& group) {
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers, err);
  conf->set("group.id", group, err);
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  std::vector<RdKafka::TopicPartition*> parts{RdKafka::TopicPartition::create("tact.outbound", 0)};
  int64_t offset = -1;
  if (c->committed(parts, 10000) == RdKafka::ERR_NO_ERROR && parts[0]->err() == RdKafka::ERR_NO_ERROR) {
    offset = parts[0]->offset();
  }
  RdKafka::TopicPartition::destroy(parts);
  c->close();
  return offset;
}

class PipelineComponentTest : public ::testing::Test {
 protected:
  PipelineComponentTest() {
    absl::StatusOr<policy::Policy> p = policy::ParsePolicy({{"p.yaml", kPolicy}});
    EXPECT_TRUE(p.ok()) << p.status();
    if (p.ok()) policies_.Set(std::make_shared<const policy::Policy>(*p));
  }

  // What every test here starts its pipeline with: the mock cluster, consumer group `group`, a short drain.
  PipelineOptions Options(const std::string& group) {
    PipelineOptions options;
    options.brokers = cluster_.bootstrap();
    options.group_id = group;
    options.drain_budget = absl::Seconds(5);
    return options;
  }

  testing::MockKafkaCluster cluster_{"tact.outbound", "tact.released", "tact.deferred", "tact.suppressed",
                                    "tact.decisions", "tact.dlq"};
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  decision::PolicyHolder policies_;
  store::InMemoryCounterStore store_;
  CustomerHasher hasher_{"k"};
  decision::DecisionService decider_{policies_, store_, clock_, hasher_};
};

class PipelineGuaranteeTest : public PipelineComponentTest, public ::testing::WithParamInterface<Guarantee> {};

// Both commit strategies: stored offsets (at_least_once) and Kafka transactions (exactly_once; the mock cluster
// has a transaction coordinator).
TEST_P(PipelineGuaranteeTest, DecidesRoutesRecordsAndCommitsEachInputOnce) {
  const std::string brokers = cluster_.bootstrap();
  PipelineOptions options = Options("component");
  options.guarantee = GetParam();
  options.transactional_id = "component-1";
  prometheus::Registry registry;
  PipelineStats stats(registry);
  options.stats = &stats;
  absl::StatusOr<std::unique_ptr<Pipeline>> pipeline = Pipeline::Create(options, decider_);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  std::thread run([&] { (*pipeline)->Run(); });

  TopicReader released(brokers, "tact.released");
  TopicReader suppressed(brokers, "tact.suppressed");
  TopicReader decisions(brokers, "tact.decisions");
  TestProducer producer(brokers);
  for (const std::string id : {"a", "b", "c"}) {
    producer.Send("tact.outbound", EventJson(id), "acme:maria@example.com", {{"content-type", "application/json"}});
  }
  EXPECT_TRUE(WaitFor([&] { return released.Count() == 2 && suppressed.Count() == 1 && decisions.Count() == 3; },
                      absl::Seconds(60), "2 released, 1 suppressed, 3 decision records"));
  (*pipeline)->RequestStop();
  run.join();

  const std::vector<Record> s = suppressed.Records();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].key, "acme:maria@example.com");
  EXPECT_EQ(s[0].value, EventJson("c"));
  EXPECT_EQ(s[0].headers.at("tact-decision"), "SUPPRESS");
  EXPECT_EQ(s[0].headers.at("tact-rule"), "proactive-2");
  EXPECT_EQ(s[0].headers.at("tact-policy-version"), "v1");
  for (const Record& r : decisions.Records()) {
    EXPECT_EQ(r.key, hasher_.Hash("acme", "maria@example.com"));
    EXPECT_EQ(r.value.find("maria"), std::string::npos) << "no customer id in a decision record";
  }
  EXPECT_EQ(released.Count() + suppressed.Count() + decisions.Count(), 6u) << "nothing sent twice";
  // Every acknowledged output counted under its topic (the series are looked up once per topic).
  EXPECT_EQ(stats.kafka_produced_total.With({"tact.released"}).Value(), 2);
  EXPECT_EQ(stats.kafka_produced_total.With({"tact.suppressed"}).Value(), 1);
  EXPECT_EQ(stats.kafka_produced_total.With({"tact.decisions"}).Value(), 3);
  if (GetParam() == Guarantee::kAtLeastOnce) {
    // (The mock cluster acknowledges a transaction's offsets without storing them: exactly_once's committed
    // offsets are checked against a real broker, tests/kafka.)
    EXPECT_EQ(Committed(brokers, "component"), 3) << "every input acknowledged: the next offset is committed";
  }
}

// An event in protobuf (its content-type header says so) is decided, and its routed output carries the input's
// headers, then tactd's: the headers are read once from librdkafka's view of the message.
TEST_F(PipelineComponentTest, AProtobufEventIsDecidedAndItsHeadersTravelWithIt) {
  const std::string brokers = cluster_.bootstrap();
  absl::StatusOr<std::unique_ptr<Pipeline>> pipeline = Pipeline::Create(Options("component-protobuf"), decider_);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  std::thread run([&] { (*pipeline)->Run(); });

  TopicReader released(brokers, "tact.released");
  TopicReader dlq(brokers, "tact.dlq");
  v1::OutboundEvent event;
  event.set_event_id("p-1");
  event.set_tenant("acme");
  event.set_customer_id("maria@example.com");
  event.set_channel(v1::EMAIL);
  event.set_message_class(v1::PROACTIVE_SERVICE);
  const std::string bytes = event.SerializeAsString();
  TestProducer producer(brokers);
  // The first content-type header is the one that counts.
  producer.SendHeaders("tact.outbound", bytes, "acme:maria@example.com",
                       {{"trace-id", "t-1"}, {"content-type", "application/x-protobuf"}, {"content-type", "text/plain"}});
  EXPECT_TRUE(WaitFor([&] { return released.Count() == 1; }, absl::Seconds(60), "the event released"));
  (*pipeline)->RequestStop();
  run.join();

  EXPECT_EQ(dlq.Count(), 0u);
  const std::vector<Record> r = released.Records();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].value, bytes);
  EXPECT_EQ(r[0].headers.at("trace-id"), "t-1");
  EXPECT_EQ(r[0].headers.at("tact-decision"), "RELEASE");
}

INSTANTIATE_TEST_SUITE_P(Guarantees, PipelineGuaranteeTest,
                         ::testing::Values(Guarantee::kAtLeastOnce, Guarantee::kExactlyOnce),
                         [](const ::testing::TestParamInfo<Guarantee>& param) {
                           return param.param == Guarantee::kAtLeastOnce ? "AtLeastOnce" : "ExactlyOnce";
                         });

}  // namespace
}  // namespace tact::pipeline
