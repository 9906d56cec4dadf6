// Back-pressure on a Redis outage (real redis-server, tact-devbroker and tactd processes): with the store down,
// tactd pauses its partitions and holds the undecided events (no output, no committed offset past them); when
// Redis is back it resumes and every event gets exactly one decision, caps holding. SIGTERM during the outage
// exits 0 promptly and a new instance finishes the rest.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "daemon/store/keys.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/admin.h"
#include "tests/support/observe.h"
#include "tests/support/stack.h"
#include "tests/support/store_state.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::DevBroker;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::TopicReader;
using testing::WaitFor;

constexpr int kCustomers = 10;
constexpr int kPartitions = 2;
constexpr char kRule[] = "proactive-service-2-per-7d";  // PROACTIVE_SERVICE: 2 per customer per 7 days

std::string EventId(int customer, int n) { return absl::StrCat("bp-", customer, "-", n); }

// event id → its decision records, in topic order.
std::map<std::string, std::vector<v1::DecisionRecord>> RecordsById(const TopicReader& decisions) {
  std::map<std::string, std::vector<v1::DecisionRecord>> out;
  for (const testing::Record& r : decisions.Records()) {
    if (auto rec = pipeline::DecodeDecisionRecord(r.value); rec.ok()) out[rec->event_id()].push_back(*rec);
  }
  return out;
}

class PipelineBackpressureTest : public ::testing::Test {
 protected:
  PipelineBackpressureTest()
      : broker_(dir_.path(), kPartitions),
        decisions_(broker_.bootstrap(), "tact.decisions"),
        routed_(broker_.bootstrap(), "tact.released"),
        producer_(broker_.bootstrap()) {
    redis_.emplace(dir_.path(), 0, /*aof=*/true);  // restarted on the same port with its data
    redis_port_ = redis_->port();
  }
  void TearDown() override {
    if (HasFailure() && tactd_) std::cerr << tactd_->process().Log();
  }

  void StartTactd(std::vector<std::string> flags = {}) {
    tactd_.emplace(dir_.path(), broker_.bootstrap(), redis_address(), std::move(flags));
  }
  std::string redis_address() const { return absl::StrCat("127.0.0.1:", redis_port_); }
  void StopRedis() {
    redis_->process().Signal(SIGTERM);
    ASSERT_TRUE(redis_->process().Wait(absl::Seconds(20)).has_value());
    redis_.reset();
  }
  void StartRedis() { redis_.emplace(dir_.path(), redis_port_, /*aof=*/true); }

  // Event n of every customer, customers interleaved, keyed by customer (so one customer, one partition).
  void SendRound(int n) {
    for (int c = 0; c < kCustomers; ++c) {
      producer_.Send("tact.outbound",
                     absl::Substitute(R"({"eventId":"$0","tenant":"acme","customerId":"bpc$1","channel":"EMAIL",)"
                                      R"("messageClass":"PROACTIVE_SERVICE"})",
                                      EventId(c, n), c),
                     absl::StrCat("acme:bpc", c));
    }
  }
  ::testing::AssertionResult WaitDecided(int rounds, absl::Duration timeout) {
    return WaitFor([&] { return RecordsById(decisions_).size() == size_t{kCustomers} * rounds; }, timeout,
                   absl::StrCat("decisions for ", rounds, " rounds"));
  }
  double Metric(const std::string& name) {
    return testing::MetricSample(testing::HttpGet(tactd_->admin_port(), "/metrics").body, name).value_or(-1);
  }
  // Sum of the committed offsets of tactd's group on tact.outbound (-1 when the broker did not answer).
  int64_t Committed() {
    const std::vector<int64_t> offsets =
        testing::CommittedOffsets(broker_.bootstrap(), "tactd", "tact.outbound", kPartitions);
    if (offsets.size() != kPartitions) return -1;
    int64_t sum = 0;
    for (int64_t o : offsets) sum += std::max<int64_t>(o, 0);
    return sum;
  }
  ::testing::AssertionResult WaitPaused() {
    return WaitFor(
        [&] {
          return tactd_->process().Log().find("\"pipeline.paused\"") != std::string::npos &&
                 Metric("tact_kafka_paused_partitions") == kPartitions && Metric("tact_pipeline_held_events") > 0;
        },
        absl::Seconds(60), "tactd paused with held events");
  }

  // Every event of `rounds` rounds has exactly one decision record; per customer the first two are released and
  // the rest suppressed, in input order; Redis counted two per customer.
  void ExpectDecidedOnceWithCaps(int rounds) {
    const auto records = RecordsById(decisions_);
    for (int c = 0; c < kCustomers; ++c) {
      for (int n = 0; n < rounds; ++n) {
        const auto it = records.find(EventId(c, n));
        ASSERT_NE(it, records.end()) << EventId(c, n);
        ASSERT_EQ(it->second.size(), 1u) << EventId(c, n) << " has more than one decision record";
        EXPECT_EQ(it->second[0].decision().decision(), n < 2 ? v1::RELEASE : v1::SUPPRESS) << EventId(c, n);
      }
    }
    for (int c = 0; c < kCustomers; ++c) {
      EXPECT_EQ(testing::Counted(redis_port_, "acme", absl::StrCat("bpc", c), absl::StrCat("r:", kRule)), 2)
          << "customer bpc" << c;
    }
  }

  TempDir dir_;
  std::optional<RedisServer> redis_;
  int redis_port_ = 0;
  DevBroker broker_;
  TopicReader decisions_;
  TopicReader routed_;
  testing::TestProducer producer_;
  std::optional<Tactd> tactd_;
};

TEST_F(PipelineBackpressureTest, RedisOutagePausesHoldsAndResumes) {
  StartTactd();
  SendRound(0);
  ASSERT_TRUE(WaitDecided(1, absl::Seconds(60)));
  ASSERT_TRUE(WaitFor([&] { return Committed() == kCustomers; }, absl::Seconds(30), "round 0 committed"));

  StopRedis();
  for (int n = 1; n <= 3; ++n) SendRound(n);
  ASSERT_TRUE(WaitPaused());
  // The held events are retried while Redis is down (the probe), and nothing of them gets out meanwhile.
  const double retries = Metric("tact_store_retries_total");
  ASSERT_TRUE(WaitFor([&] { return Metric("tact_store_retries_total") >= retries + 3; }, absl::Seconds(60),
                      "three more store retries while paused"));
  EXPECT_EQ(RecordsById(decisions_).size(), size_t{kCustomers}) << "a decision for an undecided event";
  EXPECT_EQ(routed_.Count(), size_t{kCustomers}) << "an output for an undecided event";
  EXPECT_EQ(Committed(), kCustomers) << "the committed offset passed an undecided event";
  EXPECT_GE(Metric("tact_pipeline_pauses_total"), 1);
  EXPECT_EQ(Metric("tact_pipeline_store_waiting"), 1);

  StartRedis();
  ASSERT_TRUE(WaitFor([&] { return tactd_->process().Log().find("\"pipeline.resumed\"") != std::string::npos; },
                      absl::Seconds(60), "pipeline.resumed"));
  ASSERT_TRUE(WaitDecided(4, absl::Seconds(60)));
  ExpectDecidedOnceWithCaps(4);
  EXPECT_EQ(Metric("tact_kafka_paused_partitions"), 0);
  EXPECT_TRUE(WaitFor([&] { return Committed() == 4 * kCustomers; }, absl::Seconds(30), "everything committed"));
}

// tactd decides two batches at once (the next one is prepared while the store call of the one before runs). A store
// outage that hits while both are in flight must not let a later batch's event of a customer be decided before
// an earlier batch's held one, nor lose the later batch: tactd starts on a backlog of small batches with Redis
// paused past the store deadline, and afterwards every customer's events are decided once each, in input order
// (the first two released, the rest suppressed).
TEST_F(PipelineBackpressureTest, StorePauseWithTwoBatchesInFlightKeepsEachCustomersOrder) {
  constexpr int kRounds = 40;
  for (int n = 0; n < kRounds; ++n) SendRound(n);  // a backlog: the first fetch brings many batches
  store::RedisContextPtr ctx(redisConnect("127.0.0.1", redis_port_));
  ASSERT_TRUE(ctx && !ctx->err);
  // Past tactd's start and first fetch; CLIENT UNPAUSE would wait for the pause like any other command.
  store::RedisReplyPtr paused(static_cast<redisReply*>(redisCommand(ctx.get(), "CLIENT PAUSE 8000 ALL")));
  ASSERT_NE(paused, nullptr);
  StartTactd({"--processing-batch-max-events", "20"});  // two rounds per batch
  ASSERT_TRUE(WaitPaused());
  EXPECT_EQ(RecordsById(decisions_).size(), 0u) << "decided while Redis was paused";
  ASSERT_TRUE(WaitDecided(kRounds, absl::Seconds(60)));
  ExpectDecidedOnceWithCaps(kRounds);
}

TEST_F(PipelineBackpressureTest, SigtermDuringOutageExitsAndARestartFinishes) {
  StartTactd();
  SendRound(0);
  ASSERT_TRUE(WaitDecided(1, absl::Seconds(60)));
  StopRedis();
  for (int n = 1; n <= 3; ++n) SendRound(n);
  ASSERT_TRUE(WaitPaused());

  tactd_->process().Signal(SIGTERM);
  EXPECT_EQ(tactd_->process().Wait(absl::Seconds(30)), std::optional<int>(0)) << "SIGTERM while paused";
  EXPECT_EQ(RecordsById(decisions_).size(), size_t{kCustomers});
  tactd_.reset();

  StartRedis();
  StartTactd();
  ASSERT_TRUE(WaitDecided(4, absl::Seconds(90)));
  ExpectDecidedOnceWithCaps(4);
}

// A second instance joins while the first is paused: the first drops the held events of the partition it gives
// up, the second starts that partition paused too (the store is still down); after Redis returns, every event
// is decided, no decision disagrees with another, and the caps hold.
TEST_F(PipelineBackpressureTest, RebalanceWhilePausedLosesNothing) {
  StartTactd();
  SendRound(0);
  ASSERT_TRUE(WaitDecided(1, absl::Seconds(60)));
  ASSERT_TRUE(WaitFor([&] { return Committed() == kCustomers; }, absl::Seconds(30), "round 0 committed"));
  StopRedis();
  for (int n = 1; n <= 3; ++n) SendRound(n);
  ASSERT_TRUE(WaitPaused());

  Tactd second(dir_.path(), broker_.bootstrap(), redis_address());
  auto admin_metric = [](int port, const std::string& name) {
    return testing::MetricSample(testing::HttpGet(port, "/metrics").body, name).value_or(-1);
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        return admin_metric(tactd_->admin_port(), "tact_kafka_assigned_partitions") == 1 &&
               admin_metric(second.admin_port(), "tact_kafka_assigned_partitions") == 1 &&
               admin_metric(second.admin_port(), "tact_kafka_paused_partitions") == 1 &&
               admin_metric(tactd_->admin_port(), "tact_kafka_paused_partitions") == 1;
      },
      absl::Seconds(60), "one partition each, both paused"))
      << second.process().Log();
  EXPECT_EQ(RecordsById(decisions_).size(), size_t{kCustomers}) << "a decision for an undecided event";
  EXPECT_EQ(Committed(), kCustomers) << "the committed offset passed an undecided event";

  StartRedis();
  ASSERT_TRUE(WaitDecided(4, absl::Seconds(90))) << second.process().Log();
  const auto records = RecordsById(decisions_);
  size_t total = 0;
  for (int c = 0; c < kCustomers; ++c) {
    for (int n = 0; n < 4; ++n) {
      const auto& list = records.at(EventId(c, n));
      total += list.size();
      for (const v1::DecisionRecord& r : list) {
        EXPECT_EQ(r.decision().decision(), n < 2 ? v1::RELEASE : v1::SUPPRESS) << EventId(c, n);
      }
    }
  }
  for (int c = 0; c < kCustomers; ++c) {
    EXPECT_EQ(testing::Counted(redis_port_, "acme", absl::StrCat("bpc", c), absl::StrCat("r:", kRule)), 2)
        << "customer bpc" << c;
  }
  std::cout << "rebalance while paused: " << records.size() << " events, " << total << " decision records\n";
}

}  // namespace
}  // namespace tact
