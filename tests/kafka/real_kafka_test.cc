// The Kafka scenarios against Apache Kafka itself (tests/kafka/broker.sh: KRaft, one node), with tactd and
// redis-server as processes on free loopback ports. One broker serves the whole run; each test has its own topics
// and consumer group (Lane) and its own redis-server, so the tests are independent and can run side by side.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "daemon/pipeline/event_codec.h"
#include "tests/kafka/real_kafka.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"
#include "tests/support/events.h"

namespace tact {
namespace {

using testing::JsonEvent;
using testing::Lane;
using testing::OutageEvent;
using testing::RealKafkaEnvironment;
using testing::Record;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::TopicReader;
using testing::WaitFor;

[[maybe_unused]] ::testing::Environment* const kRealKafka =
    ::testing::AddGlobalTestEnvironment(new RealKafkaEnvironment);

constexpr char kProactiveRule[] = "proactive-service-2-per-7d";
constexpr int kPartitions = 3;

// The eventId of a routed output (the input's JSON passed through unchanged).
std::string EventIdOf(const std::string& json) {
  const std::string tag = "\"eventId\":\"";
  const size_t from = json.find(tag);
  if (from == std::string::npos) return "";
  const size_t begin = from + tag.size();
  return json.substr(begin, json.find('"', begin) - begin);
}

std::map<std::string, std::vector<v1::DecisionRecord>> RecordsByEvent(const std::vector<Record>& records) {
  std::map<std::string, std::vector<v1::DecisionRecord>> out;
  for (const Record& r : records) {
    absl::StatusOr<v1::DecisionRecord> rec = pipeline::DecodeDecisionRecord(r.value);
    if (rec.ok()) out[rec->event_id()].push_back(*rec);
  }
  return out;
}

// Everything committed on `topic` up to its end: a read_committed consumer (partition EOF at the last stable
// offset) assigned every partition from the beginning. For final counts, once no transaction is open.
std::vector<Record> ReadAllCommitted(const std::string& brokers, const std::string& topic, int partitions) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : std::map<std::string, std::string>{{"bootstrap.servers", brokers},
                                                               {"group.id", "read-all-" + topic},
                                                               {"enable.auto.commit", "false"},
                                                               {"enable.partition.eof", "true"},
                                                               {"isolation.level", "read_committed"}}) {
    conf->set(k, v, err);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  std::vector<RdKafka::TopicPartition*> parts;
  for (int p = 0; p < partitions; ++p) {
    parts.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  consumer->assign(parts);
  RdKafka::TopicPartition::destroy(parts);
  std::vector<Record> out;
  std::set<int> at_end;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (static_cast<int>(at_end.size()) < partitions && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      at_end.insert(m->partition());
    } else if (m->err() == RdKafka::ERR_NO_ERROR) {
      Record r;
      if (m->key() != nullptr) r.key = *m->key();
      r.value.assign(static_cast<const char*>(m->payload()), m->len());
      out.push_back(std::move(r));
    }
  }
  EXPECT_EQ(static_cast<int>(at_end.size()), partitions) << "did not reach the end of " << topic;
  consumer->close();
  return out;
}

class RealKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lane_ = std::make_unique<Lane>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    brokers_ = RealKafkaEnvironment::Bootstrap();
    testing::CreateTopics(brokers_, lane_->Topics(), kPartitions);
    redis_ = std::make_unique<RedisServer>(dir_.path());
    producer_ = std::make_unique<testing::TestProducer>(brokers_);
  }

  void TearDown() override {
    if (HasFailure()) {
      for (const std::string& log : logs_) {
        const std::string text = testing::ReadFile(log);
        std::cerr << "---- " << log << " (last 4000 bytes) ----\n"
                  << text.substr(text.size() > 4000 ? text.size() - 4000 : 0) << "\n";
      }
    }
  }

  Tactd& StartTactd(const std::vector<std::string>& flags = {}) {
    std::vector<std::string> all = lane_->TactdFlags();
    all.insert(all.end(), flags.begin(), flags.end());
    tactds_.push_back(std::make_unique<Tactd>(dir_.path(), brokers_, redis_->address(), all));
    logs_.push_back(tactds_.back()->process().log_path());
    return *tactds_.back();
  }

  void Send(const std::string& event_id, const std::string& customer, v1::MessageClass cls) {
    producer_->Send(lane_->outbound, JsonEvent(OutageEvent(event_id, customer, cls)), "acme:" + customer);
  }

  // Every routed output (released, deferred, suppressed) committed so far, by event id.
  std::map<std::string, int> RoutedByEvent() {
    std::map<std::string, int> n;
    for (const std::string& topic : {lane_->released, lane_->deferred, lane_->suppressed}) {
      for (const Record& r : ReadAllCommitted(brokers_, topic, kPartitions)) ++n[EventIdOf(r.value)];
    }
    return n;
  }

  TempDir dir_;  // first: outlives every process below
  std::unique_ptr<Lane> lane_;
  std::string brokers_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<testing::TestProducer> producer_;
  std::vector<std::unique_ptr<Tactd>> tactds_;
  std::vector<std::string> logs_;
};

TEST_F(RealKafkaTest, ThirdProactiveEmailInSevenDaysIsSuppressedNamingTheRule) {
  StartTactd();
  TopicReader decisions(brokers_, lane_->decisions);
  for (const char* id : {"sorry-1", "sorry-2", "sorry-3"}) {
    Send(id, "cust-real-1", v1::PROACTIVE_SERVICE);
    ASSERT_TRUE(WaitFor([&] { return RecordsByEvent(decisions.Records()).count(id) > 0; }, absl::Seconds(60),
                        absl::StrCat("decision record for ", id)));
  }
  auto records = RecordsByEvent(decisions.Records());
  EXPECT_EQ(records["sorry-1"][0].decision().decision(), v1::RELEASE);
  EXPECT_EQ(records["sorry-2"][0].decision().decision(), v1::RELEASE);
  const v1::DecisionRecord& third = records["sorry-3"][0];
  EXPECT_EQ(third.decision().decision(), v1::SUPPRESS);
  EXPECT_EQ(third.decision().rule_id(), kProactiveRule);
  EXPECT_TRUE(third.source_position().starts_with(lane_->outbound + "[")) << third.source_position();

  TopicReader released(brokers_, lane_->released);
  TopicReader suppressed(brokers_, lane_->suppressed);
  ASSERT_TRUE(WaitFor([&] { return released.Count() >= 2 && suppressed.Count() >= 1; }, absl::Seconds(30),
                      "2 released, 1 suppressed"));
  EXPECT_EQ(released.Count(), 2u);
  ASSERT_EQ(suppressed.Count(), 1u);
  const Record out = suppressed.Records()[0];
  EXPECT_EQ(out.value, JsonEvent(OutageEvent("sorry-3", "cust-real-1", v1::PROACTIVE_SERVICE)));
  EXPECT_EQ(out.headers.at("tact-decision"), "SUPPRESS");
  EXPECT_EQ(out.headers.at("tact-rule"), kProactiveRule);
  EXPECT_EQ(out.key, "acme:cust-real-1");
}

TEST_F(RealKafkaTest, RedeliveredEventIsNotCountedTwice) {
  StartTactd();
  TopicReader decisions(brokers_, lane_->decisions);
  auto wait_records = [&](const std::string& id, size_t n) {
    return WaitFor([&] { return RecordsByEvent(decisions.Records())[id].size() >= n; }, absl::Seconds(60),
                   absl::StrCat(n, " decision record(s) for ", id));
  };
  Send("redo-1", "cust-real-2", v1::PROACTIVE_SERVICE);
  ASSERT_TRUE(wait_records("redo-1", 1));
  Send("redo-1", "cust-real-2", v1::PROACTIVE_SERVICE);  // the producer sends it again
  ASSERT_TRUE(wait_records("redo-1", 2));
  Send("redo-2", "cust-real-2", v1::PROACTIVE_SERVICE);
  ASSERT_TRUE(wait_records("redo-2", 1));
  Send("redo-3", "cust-real-2", v1::PROACTIVE_SERVICE);
  ASSERT_TRUE(wait_records("redo-3", 1));
  auto records = RecordsByEvent(decisions.Records());
  EXPECT_FALSE(records["redo-1"][0].decision().duplicate());
  EXPECT_TRUE(records["redo-1"][1].decision().duplicate());
  EXPECT_EQ(records["redo-1"][1].decision().decision(), v1::RELEASE);
  EXPECT_EQ(records["redo-2"][0].decision().decision(), v1::RELEASE);  // counted once: still within the cap
  EXPECT_EQ(records["redo-3"][0].decision().decision(), v1::SUPPRESS);
}

TEST_F(RealKafkaTest, MalformedEventGoesToDlqAndTheNextOneFlows) {
  StartTactd();
  TopicReader decisions(brokers_, lane_->decisions);
  TopicReader dlq(brokers_, lane_->dlq);
  producer_->Send(lane_->outbound, "{\"eventId\": \"broken-1\", \"tenant\": ", "k1");  // truncated JSON
  producer_->Send(lane_->outbound, JsonEvent(OutageEvent("after-broken", "cust-real-3", v1::PROMOTION)), "k1");
  ASSERT_TRUE(WaitFor([&] { return RecordsByEvent(decisions.Records()).count("after-broken") > 0; },
                      absl::Seconds(60), "decision for after-broken"));
  ASSERT_TRUE(WaitFor([&] { return dlq.Count() >= 1; }, absl::Seconds(30), "DLQ record"));
  const Record dead = dlq.Records()[0];
  EXPECT_EQ(dead.value, "{\"eventId\": \"broken-1\", \"tenant\": ");
  EXPECT_TRUE(dead.headers.at("tact-dlq-reason").starts_with("invalid JSON event")) << dead.headers.at("tact-dlq-reason");
  EXPECT_EQ(dead.headers.at("tact-source-topic"), lane_->outbound);
  EXPECT_EQ(dead.key, "k1");
}

// The broker's own limit: tactd learns the output topics' max.message.bytes at start (DescribeConfigs) and sends
// an event whose routed output would not fit the released topic to the DLQ, whole (the DLQ takes it), without
// deciding it; a smaller event flows.
TEST_F(RealKafkaTest, EventTooLargeForTheReleasedTopicGoesToTheDlqUndecided) {
  // Created before the lane's other topics exist with defaults; an existing topic keeps its config.
  lane_ = std::make_unique<Lane>("small-released");
  testing::CreateTopics(brokers_, {lane_->released}, kPartitions, {{"max.message.bytes", "20000"}});
  testing::CreateTopics(brokers_, lane_->Topics(), kPartitions);
  Tactd& tactd = StartTactd();
  EXPECT_TRUE(testing::ReadFile(tactd.process().log_path()).find(lane_->released + "=20000") != std::string::npos);
  TopicReader decisions(brokers_, lane_->decisions);
  TopicReader dlq(brokers_, lane_->dlq);
  TopicReader released(brokers_, lane_->released);
  const std::string big = JsonEvent({.event_id = "big-1", .customer_id = "cust-big", .message_class = v1::PROMOTION,
                                     .payload = std::string(30000, 'A')});
  producer_->Send(lane_->outbound, big, "acme:cust-big");
  Send("small-1", "cust-small", v1::PROMOTION);
  ASSERT_TRUE(WaitFor([&] { return released.Count() >= 1 && dlq.Count() >= 1; }, absl::Seconds(60),
                      "the small event released, the big one on the DLQ"));
  const Record dead = dlq.Records()[0];
  EXPECT_EQ(dead.value, big);  // the DLQ's default limit takes it whole
  EXPECT_TRUE(dead.headers.at("tact-dlq-reason").starts_with("too large: ")) << dead.headers.at("tact-dlq-reason");
  EXPECT_NE(dead.headers.at("tact-dlq-reason").find(lane_->released + " accepts at most 20000"), std::string::npos);
  EXPECT_EQ(dead.headers.count("tact-dlq-stub"), 0u);
  EXPECT_EQ(EventIdOf(released.Records()[0].value), "small-1");
  ASSERT_TRUE(WaitFor([&] { return RecordsByEvent(decisions.Records()).count("small-1") > 0; }, absl::Seconds(30),
                      "decision for small-1"));
  EXPECT_EQ(RecordsByEvent(decisions.Records()).count("big-1"), 0u);
}

// Two instances in one group, a third joins, one leaves (SIGTERM): every input event gets exactly one decision
// record and one routed output, whatever instance decided it.
class RealKafkaRebalanceTest : public RealKafkaTest {
 protected:
  void Run(const std::vector<std::string>& flags_for_instance_0, const std::vector<std::string>& flags_1,
           const std::vector<std::string>& flags_2) {
    constexpr int kPerPhase = 60;
    TopicReader decisions(brokers_, lane_->decisions);
    int sent = 0;
    auto send_phase = [&] {
      for (int i = 0; i < kPerPhase; ++i, ++sent) {
        Send(absl::StrCat("rb-", sent), absl::StrCat("c", sent), v1::PROMOTION);
      }
    };
    auto wait_decided = [&](int n) {
      return WaitFor([&] { return RecordsByEvent(decisions.Records()).size() >= static_cast<size_t>(n); },
                     absl::Seconds(120), absl::StrCat(n, " events decided"));
    };
    Tactd& a = StartTactd(flags_for_instance_0);
    StartTactd(flags_1);
    send_phase();
    ASSERT_TRUE(wait_decided(sent));
    Tactd& c = StartTactd(flags_2);  // a third joins: partitions move to it while events flow
    send_phase();
    ASSERT_TRUE(wait_decided(sent));
    ASSERT_TRUE(WaitFor([&] { return c.process().Log().find("\"kafka.assigned\"") != std::string::npos; },
                        absl::Seconds(60), "the third instance has partitions"));
    a.process().Signal(SIGTERM);  // one leaves: its partitions move to the other two
    EXPECT_EQ(a.process().Wait(absl::Seconds(60)), std::optional<int>(0));
    send_phase();
    ASSERT_TRUE(wait_decided(sent));
    for (size_t i = 1; i < tactds_.size(); ++i) {  // stop the rest cleanly so everything is committed
      tactds_[i]->process().Signal(SIGTERM);
      EXPECT_EQ(tactds_[i]->process().Wait(absl::Seconds(60)), std::optional<int>(0));
    }
    auto records = RecordsByEvent(ReadAllCommitted(brokers_, lane_->decisions, kPartitions));
    const std::map<std::string, int> routed = RoutedByEvent();
    ASSERT_EQ(records.size(), static_cast<size_t>(sent));
    for (int i = 0; i < sent; ++i) {
      const std::string id = absl::StrCat("rb-", i);
      EXPECT_EQ(records[id].size(), 1u) << id;
      auto it = routed.find(id);
      EXPECT_EQ(it == routed.end() ? 0 : it->second, 1) << id;
    }
  }
};

TEST_F(RealKafkaRebalanceTest, AtLeastOnceThreeInstancesJoinAndLeaveEachEventDecidedOnce) { Run({}, {}, {}); }

TEST_F(RealKafkaRebalanceTest, ExactlyOnceThreeInstancesJoinAndLeaveEachEventDecidedOnce) {
  auto eos = [&](int i) {
    return std::vector<std::string>{"--processing-guarantee", "exactly_once", "--processing-transactional-id",
                                    absl::StrCat(lane_->group, "-", i)};
  };
  Run(eos(0), eos(1), eos(2));
}

// kill -9 of tactd in at-least-once mode: after a restart every event has its outputs, and a redelivered
// event is counted once (the repeat is marked duplicate and carries the same decision).
TEST_F(RealKafkaTest, KillNineAndRestartLosesNoEventAndCountsNoneTwice) {
  TopicReader decisions(brokers_, lane_->decisions);
  Tactd& first = StartTactd();
  for (int i = 0; i < 100; ++i) Send(absl::StrCat("k9-", i), absl::StrCat("c", i), v1::PROMOTION);
  ASSERT_TRUE(WaitFor([&] { return decisions.Count() >= 30; }, absl::Seconds(60), "some decisions"));
  first.process().Signal(SIGKILL);
  first.process().Wait(absl::Seconds(10));
  StartTactd();
  for (int i = 100; i < 150; ++i) Send(absl::StrCat("k9-", i), absl::StrCat("c", i), v1::PROMOTION);
  ASSERT_TRUE(WaitFor([&] { return RecordsByEvent(decisions.Records()).size() >= 150; }, absl::Seconds(120),
                      "150 events decided"));
  tactds_.back()->process().Signal(SIGTERM);
  EXPECT_EQ(tactds_.back()->process().Wait(absl::Seconds(60)), std::optional<int>(0));
  auto records = RecordsByEvent(ReadAllCommitted(brokers_, lane_->decisions, kPartitions));
  const std::map<std::string, int> routed = RoutedByEvent();
  for (int i = 0; i < 150; ++i) {
    const std::string id = absl::StrCat("k9-", i);
    ASSERT_FALSE(records[id].empty()) << id;
    int firsts = 0;
    for (const v1::DecisionRecord& r : records[id]) {
      firsts += !r.decision().duplicate();
      EXPECT_EQ(r.decision().decision(), v1::RELEASE) << id;
    }
    // Counted once: at most one record is not a repeat (none when the kill fell between the store and the
    // output: the redelivery then finds the decision already made and writes it, marked duplicate).
    EXPECT_LE(firsts, 1) << id << ": repeats must be marked duplicate";
    auto it = routed.find(id);
    EXPECT_GE(it == routed.end() ? 0 : it->second, 1) << id;
  }
}

// Exactly-once: across 10 rounds of kill -9 at arbitrary points, a read_committed consumer of the outputs sees
// every input event exactly once (one decision record, one routed output).
TEST_F(RealKafkaTest, ExactlyOnceAcrossTenKillNineRounds) {
  constexpr int kRounds = 10;
  constexpr int kPerRound = 40;
  const std::vector<std::string> eos{"--processing-guarantee", "exactly_once", "--processing-transactional-id",
                                     lane_->group + "-0", "--processing-transaction-max-events", "7"};
  TopicReader decisions(brokers_, lane_->decisions);  // read_committed (librdkafka's default)
  int sent = 0;
  for (int round = 0; round < kRounds; ++round) {
    Tactd& t = StartTactd(eos);
    const size_t before = decisions.Count();
    for (int i = 0; i < kPerRound; ++i, ++sent) {
      Send(absl::StrCat("eos-", sent), absl::StrCat("c", sent), v1::PROMOTION);
    }
    // Kill once this instance has committed something, while it is still working through the round.
    ASSERT_TRUE(WaitFor([&] { return decisions.Count() > before; }, absl::Seconds(60),
                        absl::StrCat("round ", round, " progress")));
    t.process().Signal(SIGKILL);
    ASSERT_TRUE(t.process().Wait(absl::Seconds(10)).has_value());
  }
  Tactd& last = StartTactd(eos);
  ASSERT_TRUE(WaitFor([&] { return RecordsByEvent(decisions.Records()).size() >= static_cast<size_t>(sent); },
                      absl::Seconds(120), absl::StrCat(sent, " events decided")));
  last.process().Signal(SIGTERM);
  EXPECT_EQ(last.process().Wait(absl::Seconds(60)), std::optional<int>(0));

  auto records = RecordsByEvent(ReadAllCommitted(brokers_, lane_->decisions, kPartitions));
  const std::map<std::string, int> routed = RoutedByEvent();
  int duplicates = 0;
  for (int i = 0; i < sent; ++i) {
    const std::string id = absl::StrCat("eos-", i);
    EXPECT_EQ(records[id].size(), 1u) << id;
    auto it = routed.find(id);
    const int n = it == routed.end() ? 0 : it->second;
    EXPECT_EQ(n, 1) << id;
    duplicates += std::max<int>(0, static_cast<int>(records[id].size()) - 1) + std::max(0, n - 1);
  }
  EXPECT_EQ(records.size(), static_cast<size_t>(sent));
  std::cerr << "exactly_once: " << kRounds << " kill -9 rounds, " << sent << " events, " << duplicates
            << " duplicates seen by read_committed consumers\n";
}

}  // namespace
}  // namespace tact
