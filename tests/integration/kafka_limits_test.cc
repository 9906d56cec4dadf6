// Records too large for their topic, and outputs that keep failing (real redis-server, tact-devbroker and tactd
// processes). A too-large event goes to tact.dlq (stubbed when tact.dlq cannot take it whole) without being
// decided, and its partition moves on; an output the broker refuses as too large after the decision is replaced by
// its tact.dlq form; an output that keeps failing is retried with backoff and logged a bounded number of times, and
// SIGTERM still exits 0 within the drain budget.
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "daemon/pipeline/event_codec.h"
#include "tests/support/admin.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::DevBroker;
using testing::Metric;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::TopicReader;
using testing::WaitFor;

std::string SmallEvent(const std::string& id, const std::string& customer) {
  return absl::Substitute(R"({"eventId":"$0","tenant":"acme","customerId":"$1","channel":"EMAIL",)"
                          R"("messageClass":"PROMOTION"})",
                          id, customer);
}

// A valid event of `total` bytes (±3): the payload (base64 in JSON) fills it up.
std::string BigEvent(const std::string& id, const std::string& customer, size_t total) {
  const std::string head = absl::Substitute(
      R"({"eventId":"$0","tenant":"acme","customerId":"$1","channel":"EMAIL","messageClass":"PROMOTION","payload":")",
      id, customer);
  const std::string tail = R"("})";
  const size_t b64 = (total - head.size() - tail.size()) / 4 * 4;
  return head + std::string(b64, 'A') + tail;
}

std::multiset<std::string> DecidedIds(const TopicReader& decisions) {
  std::multiset<std::string> ids;
  for (const testing::Record& r : decisions.Records()) {
    if (auto rec = pipeline::DecodeDecisionRecord(r.value); rec.ok()) ids.insert(rec->event_id());
  }
  return ids;
}

const testing::Record* DeadLetterFrom(const std::vector<testing::Record>& dlq, int64_t offset,
                                      const std::string& topic = "tact.outbound") {
  for (const testing::Record& r : dlq) {
    auto it = r.headers.find("tact-source-offset");
    auto t = r.headers.find("tact-source-topic");
    if (it != r.headers.end() && it->second == absl::StrCat(offset) && t != r.headers.end() && t->second == topic) {
      return &r;
    }
  }
  return nullptr;
}

size_t CountLines(const std::string& log, std::string_view needle) {
  size_t n = 0;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    n += line.find(needle) != std::string::npos;
  }
  return n;
}

// A producer that can send records of a few MB (the test's own; the dev broker takes them).
class BigProducer {
 public:
  explicit BigProducer(const std::string& brokers) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    conf->set("bootstrap.servers", brokers, err);
    conf->set("message.max.bytes", "4000000", err);
    conf->set("linger.ms", "0", err);
    producer_.reset(RdKafka::Producer::create(conf.get(), err));
    if (!producer_) throw std::runtime_error("producer: " + err);
  }
  void Send(const std::string& topic, const std::string& value, const std::string& key) {
    const RdKafka::ErrorCode err = producer_->produce(
        topic, 0, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()), value.size(), key.data(),
        key.size(), 0, nullptr, nullptr);
    if (err != RdKafka::ERR_NO_ERROR) throw std::runtime_error("produce: " + RdKafka::err2str(err));
    if (producer_->flush(30000) != RdKafka::ERR_NO_ERROR) throw std::runtime_error("produce: not acknowledged");
  }

 private:
  std::unique_ptr<RdKafka::Producer> producer_;
};

class KafkaLimitsTest : public ::testing::Test {
 protected:
  KafkaLimitsTest()
      : redis_(dir_.path()),
        broker_(dir_.path(), /*partitions=*/1),
        decisions_(broker_.bootstrap(), "tact.decisions"),
        dlq_(broker_.bootstrap(), "tact.dlq"),
        producer_(broker_.bootstrap()) {}

  void TearDown() override {
    if (HasFailure() && tactd_) std::cerr << tactd_->process().Log().substr(0, 200000);
  }

  void StartTactd(const std::vector<std::string>& flags = {}) {
    tactd_.emplace(dir_.path(), broker_.bootstrap(), redis_.address(), flags);
  }
  void LateTooLarge(const std::vector<std::string>& flags);
  void StopTactd() {
    tactd_->process().Signal(SIGTERM);
    ASSERT_EQ(tactd_->process().Wait(absl::Seconds(60)), 0);
  }

  TempDir dir_;
  RedisServer redis_;
  DevBroker broker_;
  TopicReader decisions_;
  TopicReader dlq_;
  BigProducer producer_;
  std::optional<Tactd> tactd_;
};

// The issue's case: a valid event of 999,880 bytes (a default producer sends it) whose routed output, with tact's
// headers, no longer fits; and an event with a 1 MiB customer id, invalid and too large for tact.dlq as is.
TEST_F(KafkaLimitsTest, TooLargeEventsGoToTheDlqAndThePartitionMovesOn) {
  StartTactd();
  producer_.Send("tact.outbound", BigEvent("big-1", "c1", 999880), "acme:c1");       // offset 0
  producer_.Send("tact.outbound", SmallEvent("huge-id", std::string(1 << 20, 'x')), "acme:x");  // offset 1
  producer_.Send("tact.outbound", SmallEvent("after-1", "c2"), "acme:c2");         // offset 2, same partition
  // The signals consumer's dead letters go the same way: 1.1 MB that is not a signal.
  producer_.Send("tact.signals", std::string(1100000, '{'), "acme:c1");
  ASSERT_TRUE(WaitFor([&] { return DecidedIds(decisions_).contains("after-1"); }, absl::Seconds(30),
                      "the event after them decided"));
  ASSERT_TRUE(WaitFor([&] { return dlq_.Count() >= 3; }, absl::Seconds(30), "all three on tact.dlq"));

  const std::vector<testing::Record> dead = dlq_.Records();
  const testing::Record* big = DeadLetterFrom(dead, 0);
  ASSERT_NE(big, nullptr);
  EXPECT_TRUE(absl::StartsWith(big->headers.at("tact-dlq-reason"), "too large: ")) << big->headers.at("tact-dlq-reason");
  EXPECT_TRUE(absl::StrContains(big->headers.at("tact-dlq-reason"), "accepts at most 1000000"));
  EXPECT_EQ(big->headers.at("tact-dlq-stub"), "true");  // the DLQ cannot take it whole either
  EXPECT_TRUE(absl::StrContains(big->value, R"("source_topic":"tact.outbound")")) << big->value;
  EXPECT_TRUE(absl::StrContains(big->value, R"("source_offset":0)")) << big->value;
  EXPECT_EQ(big->headers.count("tact-decision"), 0u);  // never decided

  const testing::Record* huge = DeadLetterFrom(dead, 1);
  ASSERT_NE(huge, nullptr);
  EXPECT_TRUE(absl::StartsWith(huge->headers.at("tact-dlq-reason"), "too large: "));
  EXPECT_TRUE(absl::StrContains(huge->headers.at("tact-dlq-reason"), "customer_id: longer than 256 bytes"));
  EXPECT_EQ(huge->headers.at("tact-dlq-stub"), "true");
  EXPECT_LT(huge->value.size(), 1000u);
  EXPECT_EQ(huge->value.find("xxxxxxxx"), std::string::npos);  // no customer id in the stub

  const testing::Record* signal = DeadLetterFrom(dead, 0, "tact.signals");
  ASSERT_NE(signal, nullptr);
  EXPECT_TRUE(absl::StartsWith(signal->headers.at("tact-dlq-reason"), "too large: "))
      << signal->headers.at("tact-dlq-reason");
  EXPECT_EQ(signal->headers.at("tact-dlq-stub"), "true");
  EXPECT_GE(Metric(tactd_->admin_port(), "tact_signals_kafka_errors_total", {{"what", "too_large"}}), 1);

  const std::multiset<std::string> decided = DecidedIds(decisions_);
  EXPECT_EQ(decided.count("big-1"), 0u);  // refused before deciding: nothing reserved, nothing recorded
  EXPECT_EQ(Metric(tactd_->admin_port(), "tact_dlq_total", {{"reason", "too_large"}}), 1);
  EXPECT_EQ(Metric(tactd_->admin_port(), "tact_dlq_total", {{"reason", "invalid"}}), 1);

  // The committed offset moved past them: a restarted tactd decides only what came after.
  StopTactd();
  StartTactd();
  producer_.Send("tact.outbound", SmallEvent("after-2", "c3"), "acme:c3");
  ASSERT_TRUE(WaitFor([&] { return DecidedIds(decisions_).contains("after-2"); }, absl::Seconds(30),
                      "the event after the restart decided"));
  EXPECT_EQ(dlq_.Count(), 3u);
  EXPECT_EQ(DecidedIds(decisions_).count("after-1"), 1u);
}

// An output the broker refuses as too large once it is decided (its topic's limit shrank): its tact.dlq form goes
// out instead, the error is counted, and the partition moves on. exactly_once: the transaction is aborted and its
// redo sends the DLQ form.
void KafkaLimitsTest::LateTooLarge(const std::vector<std::string>& flags) {
  producer_.Send("tact.outbound", SmallEvent("late-1", "c1"), "acme:c1");  // offset 0
  // tactd's first Produce request is its policy-history record, sent at start (long before its consumer has joined
  // the group and decided anything); the one after it (an output of late-1) is refused.
  ASSERT_EQ(broker_.Control("errors Produce 2 NO_ERROR MSG_SIZE_TOO_LARGE"), "ok");
  testing::TopicReader history(broker_.bootstrap(), "tact.policy-history");
  StartTactd(flags);
  ASSERT_TRUE(WaitFor([&] { return history.Count() >= 1; }, absl::Seconds(30), "tactd's policy-history record"));
  ASSERT_TRUE(WaitFor([&] { return DeadLetterFrom(dlq_.Records(), 0) != nullptr; }, absl::Seconds(30),
                      "the refused output on tact.dlq"));
  const std::vector<testing::Record> records = dlq_.Records();
  const testing::Record* dead = DeadLetterFrom(records, 0);
  ASSERT_NE(dead, nullptr);
  EXPECT_TRUE(absl::StartsWith(dead->headers.at("tact-dlq-reason"), "too large: ")) << dead->headers.at("tact-dlq-reason");
  EXPECT_TRUE(absl::StrContains(dead->headers.at("tact-dlq-reason"), "refused by tact."));
  EXPECT_EQ(dead->headers.count("tact-dlq-stub"), 0u);  // small enough to keep whole
  EXPECT_GE(Metric(tactd_->admin_port(), "tact_kafka_errors_total", {{"what", "delivery"}}), 1);
  EXPECT_EQ(Metric(tactd_->admin_port(), "tact_dlq_total", {{"reason", "too_large"}}), 1);

  producer_.Send("tact.outbound", SmallEvent("late-2", "c2"), "acme:c2");
  ASSERT_TRUE(WaitFor([&] { return DecidedIds(decisions_).contains("late-2"); }, absl::Seconds(30),
                      "the next event decided"));
  StopTactd();
  StartTactd(flags);
  producer_.Send("tact.outbound", SmallEvent("late-3", "c3"), "acme:c3");
  ASSERT_TRUE(WaitFor([&] { return DecidedIds(decisions_).contains("late-3"); }, absl::Seconds(30),
                      "the event after the restart decided"));
  EXPECT_EQ(dlq_.Count(), 1u);  // late-1 was not handled again
}

TEST_F(KafkaLimitsTest, OutputRefusedAsTooLargeAfterDecidingGoesToTheDlq) { LateTooLarge({}); }

TEST_F(KafkaLimitsTest, ExactlyOnceOutputRefusedAsTooLargeIsRedoneAsItsDlqForm) {
  LateTooLarge({"--processing-guarantee", "exactly_once", "--processing-transactional-id", "tactd-limits-test"});
}

// An output that keeps failing (the broker refuses every produce): retried with backoff, its failures logged a
// bounded number of times, and SIGTERM exits 0 after the drain budget. Before, the retry loop produced and logged
// ten times a second while running and without pause while draining (millions of lines).
TEST_F(KafkaLimitsTest, OutputThatKeepsFailingIsRetriedWithBackoffAndBoundedLogs) {
  producer_.Send("tact.outbound", SmallEvent("stuck-1", "c1"), "acme:c1");
  // From now on every Produce request is refused (tactd's are the only ones).
  ASSERT_EQ(broker_.Control("errors Produce 1000000 TOPIC_AUTHORIZATION_FAILED"), "ok");
  StartTactd();
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string log = tactd_->process().Log();
        return absl::StrContains(log, "\"kafka.produce_failed\"") || absl::StrContains(log, "\"kafka.delivery_failed\"");
      },
      absl::Seconds(30), "the routed output failing"));
  ASSERT_TRUE(WaitFor(
      [&] { return Metric(tactd_->admin_port(), "tact_kafka_delivery_failures_total", {{"topic", "tact.released"}}) >= 3; },
      absl::Seconds(30), "three failed attempts"));
  EXPECT_GE(Metric(tactd_->admin_port(), "tact_kafka_errors_total", {{"what", "delivery"}}), 3);
  StopTactd();
  const std::string log = tactd_->process().Log();
  EXPECT_TRUE(absl::StrContains(log, "\"pipeline.drain_incomplete\""));
  const size_t failures = CountLines(log, "\"kafka.produce_failed\"") + CountLines(log, "\"kafka.delivery_failed\"");
  EXPECT_GE(failures, 1u);
  EXPECT_LE(failures, 10u) << "failure lines: " << failures;
}

}  // namespace
}  // namespace tact
