// kill -9 of tactd at random points while events flow, over 10 rounds (dev broker, real redis-server):
// afterwards every input event has a decision and a routed output, decisions agree across redeliveries,
// caps hold, and Redis counted every released event exactly once.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/substitute.h"
#include "daemon/store/keys.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/store/redis_counter_store.h"
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

constexpr int kCustomers = 40;
constexpr int kPerCustomer = 5;  // 2 released (cap 2 per 7 days), 3 suppressed
constexpr int kRounds = 10;
constexpr char kRule[] = "proactive-service-2-per-7d";

TEST(KillRestartTest, KillNineAtRandomPointsLosesNothingAndCountsNothingTwice) {
  TempDir dir;
  RedisServer redis(dir.path());
  DevBroker broker(dir.path(), 3);
  TopicReader decisions(broker.bootstrap(), "tact.decisions");
  TopicReader released(broker.bootstrap(), "tact.released");
  TopicReader suppressed(broker.bootstrap(), "tact.suppressed");

  // Each round starts tactd, feeds a chunk of events and kills tactd -9 once it has made a random number of new
  // decisions: mid-batch, between produce and commit, wherever it happens to be.
  testing::TestProducer producer(broker.bootstrap());
  std::mt19937 rng(20261123);
  int sent = 0;
  const int per_round = kCustomers * kPerCustomer / kRounds;
  for (int round = 0; round < kRounds; ++round) {
    Tactd tactd(dir.path(), broker.bootstrap(), redis.address());
    const size_t before = decisions.Count();
    for (int k = 0; k < per_round; ++k, ++sent) {
      const int c = sent % kCustomers;
      const int n = sent / kCustomers;
      producer.Send("tact.outbound",
                    absl::Substitute(R"({"eventId":"k-$0-$1","tenant":"acme","customerId":"kc$0","channel":"EMAIL",)"
                                     R"("messageClass":"PROACTIVE_SERVICE"})",
                                     c, n),
                    absl::StrCat("acme:kc", c));
    }
    const size_t more = std::uniform_int_distribution<size_t>(1, per_round)(rng);
    ASSERT_TRUE(WaitFor([&] { return decisions.Count() >= before + more; }, absl::Seconds(60),
                        "decisions in this round"))
        << tactd.process().Log();
    tactd.process().Signal(SIGKILL);
    ASSERT_TRUE(tactd.process().Wait(absl::Seconds(10)).has_value());
  }

  // A last instance finishes the stream.
  Tactd last(dir.path(), broker.bootstrap(), redis.address());
  std::map<std::string, std::set<int>> verdicts;  // event id → decisions seen
  size_t records = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        verdicts.clear();
        records = 0;
        for (const testing::Record& r : decisions.Records()) {
          if (auto rec = pipeline::DecodeDecisionRecord(r.value); rec.ok()) {
            verdicts[rec->event_id()].insert(rec->decision().decision());
            ++records;
          }
        }
        return verdicts.size() == size_t{kCustomers * kPerCustomer};
      },
      absl::Seconds(90), "a decision for every event"))
      << last.process().Log();

  // Every input has a routed output too.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::set<std::string> routed;
        for (const TopicReader* t : {&released, &suppressed}) {
          for (const testing::Record& r : t->Records()) {
            auto start = r.value.find("k-");
            routed.insert(r.value.substr(start, r.value.find('"', start) - start));
          }
        }
        return routed.size() == size_t{kCustomers * kPerCustomer};
      },
      absl::Seconds(30), "a routed output for every event"));

  // Redeliveries got the decision already made; caps held; Redis counted each released event once.
  std::map<int, int> released_per_customer;
  for (const auto& [id, set] : verdicts) {
    EXPECT_EQ(set.size(), 1u) << id << " was decided differently on redelivery";
    if (set.contains(v1::RELEASE)) {
      released_per_customer[std::stoi(id.substr(2, id.find('-', 2) - 2))]++;
    }
  }
  for (int cust = 0; cust < kCustomers; ++cust) {
    EXPECT_EQ(released_per_customer[cust], 2) << "customer kc" << cust;
    EXPECT_EQ(testing::Counted(redis.port(), "acme", absl::StrCat("kc", cust), absl::StrCat("r:", kRule)), 2)
        << "customer kc" << cust;
  }
  EXPECT_GT(records, verdicts.size()) << "no redelivery at all: the kills did not land between decide and commit";
  std::cout << "kill -9 rounds: " << kRounds << ", events: " << verdicts.size() << ", decision records: " << records
            << " (" << records - verdicts.size() << " redelivered, all with the earlier decision)\n";
}

}  // namespace
}  // namespace tact
