// The Kafka path under broker faults injected through tact-devbroker's control socket: nothing is lost.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "daemon/pipeline/event_codec.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::DevBroker;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::TopicReader;
using testing::WaitFor;

std::string Event(const std::string& id, int customer) {
  return absl::Substitute(R"({"eventId":"$0","tenant":"acme","customerId":"c$1","channel":"EMAIL",)"
                          R"("messageClass":"PROMOTION"})",
                          id, customer);
}

std::set<std::string> DecidedIds(const TopicReader& decisions) {
  std::set<std::string> ids;
  for (const testing::Record& r : decisions.Records()) {
    if (auto rec = pipeline::DecodeDecisionRecord(r.value); rec.ok()) ids.insert(rec->event_id());
  }
  return ids;
}

class KafkaFaultsTest : public ::testing::Test {
 protected:
  KafkaFaultsTest()
      : redis_(dir_.path()),
        broker_(dir_.path(), 2),
        tactd_(dir_.path(), broker_.bootstrap(), redis_.address()),
        decisions_(broker_.bootstrap(), "tact.decisions"),
        released_(broker_.bootstrap(), "tact.released"),
        producer_(broker_.bootstrap()) {}

  void TearDown() override {
    if (HasFailure()) std::cerr << tactd_.process().Log();
  }

  // Sends n events and waits until every one has a decision record and a routed output.
  // Customers first_customer .. first_customer+n-1 each get one promotion (so each is released).
  void SendAndExpectAll(const std::string& prefix, int n, int first_customer) {
    for (int i = 0; i < n; ++i) {
      producer_.Send("tact.outbound", Event(absl::StrCat(prefix, i), first_customer + i),
                     absl::StrCat("c", first_customer + i));
    }
    ASSERT_TRUE(WaitFor(
        [&] {
          const std::set<std::string> ids = DecidedIds(decisions_);
          for (int i = 0; i < n; ++i) {
            if (!ids.contains(absl::StrCat(prefix, i))) return false;
          }
          return true;
        },
        absl::Seconds(60), absl::StrCat("a decision for every ", prefix, "* event")));
  }

  TempDir dir_;
  RedisServer redis_;
  DevBroker broker_;
  Tactd tactd_;
  TopicReader decisions_;
  TopicReader released_;
  testing::TestProducer producer_;
};

TEST_F(KafkaFaultsTest, ProduceAndCommitErrorsLoseNothing) {
  SendAndExpectAll("warm-", 5, 0);
  ASSERT_EQ(broker_.Control("errors Produce 6 NOT_LEADER_FOR_PARTITION REQUEST_TIMED_OUT"), "ok");
  ASSERT_EQ(broker_.Control("errors OffsetCommit 4 REQUEST_TIMED_OUT"), "ok");
  SendAndExpectAll("faulty-", 40, 5);
  // Every event was also routed (released: each customer's first promotion of the day).
  ASSERT_TRUE(WaitFor([&] { return released_.Count() >= 45; }, absl::Seconds(30), "45 released outputs"));
}

TEST_F(KafkaFaultsTest, BrokerDownAndUpLosesNothing) {
  SendAndExpectAll("before-", 5, 0);
  ASSERT_EQ(broker_.Control("broker-down 1"), "ok");  // the dev broker's only broker
  ASSERT_EQ(broker_.Control("broker-down 9"), "error: Broker: Broker not available");
  ASSERT_EQ(broker_.Control("broker-down 1"), "ok");  // the dev broker's only broker
  // Produced while the cluster is down: the test producer queues and retries until it is back.
  std::thread during([&] {
    for (int i = 0; i < 10; ++i) {
      producer_.Send("tact.outbound", Event(absl::StrCat("during-", i), 100 + i), absl::StrCat("d", i));
    }
  });
  const bool noticed = WaitFor([&] { return tactd_.process().Log().find("brokers are down") != std::string::npos; },
                               absl::Seconds(30), "tactd sees the broker down");
  ASSERT_EQ(broker_.Control("broker-up 1"), "ok");
  during.join();
  ASSERT_TRUE(noticed);
  SendAndExpectAll("after-", 10, 200);
  const std::set<std::string> ids = DecidedIds(decisions_);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(ids.contains(absl::StrCat("during-", i))) << i;
}

TEST_F(KafkaFaultsTest, ControlChannelRejectsBadCommands) {
  EXPECT_EQ(broker_.Control("errors Nope 1 REQUEST_TIMED_OUT"), "error: unknown api 'Nope'");
  EXPECT_EQ(broker_.Control("errors Produce 1 NOT_AN_ERROR"), "error: unknown error name 'NOT_AN_ERROR'");
  EXPECT_EQ(broker_.Control("reboot"), "error: unknown command (see --help)");
}

}  // namespace
}  // namespace tact
