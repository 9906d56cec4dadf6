// Batching on the Kafka path (real redis-server, tact-devbroker and tactd): events preloaded on one partition are
// decided in a few DecideBatch calls, yet each customer's events are decided and written in input order, and the
// same event_id twice in one batch is counted once.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <map>
#include <optional>
#include <tuple>
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

constexpr int kCustomers = 20;
constexpr int kPerCustomer = 5;  // PROACTIVE_SERVICE, 2 per 7 days: the first two released, three suppressed
constexpr char kRule[] = "proactive-service-2-per-7d";

std::string Event(const std::string& id, const std::string& customer) {
  return absl::Substitute(R"({"eventId":"$0","tenant":"acme","customerId":"$1","channel":"EMAIL",)"
                          R"("messageClass":"PROACTIVE_SERVICE"})",
                          id, customer);
}

std::string EventIdOf(const std::string& value) {
  const size_t at = value.find("\"eventId\":\"") + 11;
  return value.substr(at, value.find('"', at) - at);
}

TEST(PipelineBatchingTest, KeepsPerCustomerOrderAndDecidesADuplicateOnce) {
  TempDir dir;
  RedisServer redis(dir.path());
  DevBroker broker(dir.path(), 1);  // every input on one partition, customers interleaved
  TopicReader decisions(broker.bootstrap(), "tact.decisions");
  TopicReader released(broker.bootstrap(), "tact.released");
  TopicReader suppressed(broker.bootstrap(), "tact.suppressed");
  testing::TestProducer producer(broker.bootstrap());

  // Preloaded before tactd starts, so they are fetched together: o-<c>-<n> for n-th event of customer oc<c>,
  // interleaved across customers; "dup-1" (customer od0) twice in a row in the middle.
  int sent = 0;
  for (int n = 0; n < kPerCustomer; ++n) {
    for (int c = 0; c < kCustomers; ++c, ++sent) {
      producer.Send("tact.outbound", Event(absl::StrCat("o-", c, "-", n), absl::StrCat("oc", c)), "one-key");
    }
    if (n == 2) {
      producer.Send("tact.outbound", Event("dup-1", "od0"), "one-key");
      producer.Send("tact.outbound", Event("dup-1", "od0"), "one-key");
      sent += 2;
    }
  }
  Tactd tactd(dir.path(), broker.bootstrap(), redis.address(), {"--processing-batch-max-events", "500"});
  ASSERT_TRUE(WaitFor([&] { return decisions.Count() >= size_t(sent); }, absl::Seconds(60), "every decision"))
      << tactd.process().Log();
  ASSERT_TRUE(WaitFor([&] { return released.Count() + suppressed.Count() >= size_t(sent); }, absl::Seconds(30),
                      "every routed output"));

  // Batched: far fewer decide calls than events.
  const std::string metrics = testing::HttpGet(tactd.admin_port(), "/metrics").body;
  const double batches = testing::MetricSample(metrics, "tact_kafka_batches_total").value_or(-1);
  EXPECT_GT(batches, 0);
  EXPECT_LE(batches, sent / 4) << "events were not decided in batches";

  // Per customer, in topic order: decisions r0, r1 RELEASE then SUPPRESS; outputs in input order on each topic.
  std::map<std::string, std::vector<std::pair<std::string, v1::DecisionKind>>> decided;  // customer → (id, kind)
  std::vector<v1::DecisionRecord> dup;
  for (const testing::Record& r : decisions.Records()) {
    auto rec = pipeline::DecodeDecisionRecord(r.value);
    ASSERT_TRUE(rec.ok());
    if (rec->event_id() == "dup-1") {
      dup.push_back(*rec);
      continue;
    }
    const std::string c = rec->event_id().substr(2, rec->event_id().rfind('-') - 2);
    decided[c].emplace_back(rec->event_id(), rec->decision().decision());
  }
  ASSERT_EQ(decided.size(), size_t{kCustomers});
  for (const auto& [c, list] : decided) {
    ASSERT_EQ(list.size(), size_t{kPerCustomer}) << "customer " << c;
    for (int n = 0; n < kPerCustomer; ++n) {
      EXPECT_EQ(list[n].first, absl::StrCat("o-", c, "-", n)) << "customer " << c << " decided out of order";
      EXPECT_EQ(list[n].second, n < 2 ? v1::RELEASE : v1::SUPPRESS) << list[n].first;
    }
  }
  using Routed = std::tuple<std::string, TopicReader*, int>;  // topic, reader, first n routed there
  for (const auto& [topic, reader, first] : std::vector<Routed>{{"released", &released, 0}, {"suppressed", &suppressed, 2}}) {
    std::map<std::string, std::vector<std::string>> routed;  // customer → event ids in topic order
    for (const testing::Record& r : reader->Records()) {
      const std::string id = EventIdOf(r.value);
      if (id == "dup-1") continue;
      routed[id.substr(2, id.rfind('-') - 2)].push_back(id);
    }
    for (const auto& [c, ids] : routed) {
      std::vector<std::string> want;
      for (int n = first; n < (first == 0 ? 2 : kPerCustomer); ++n) want.push_back(absl::StrCat("o-", c, "-", n));
      EXPECT_EQ(ids, want) << topic << ", customer " << c;
    }
    EXPECT_EQ(routed.size(), size_t{kCustomers}) << topic;
  }

  // The same event_id twice in one batch: decided once (the second is the stored decision, marked duplicate),
  // counted once.
  ASSERT_EQ(dup.size(), 2u);
  EXPECT_FALSE(dup[0].decision().duplicate());
  EXPECT_TRUE(dup[1].decision().duplicate());
  EXPECT_EQ(dup[0].decision().decision(), v1::RELEASE);
  EXPECT_EQ(dup[1].decision().decision(), v1::RELEASE);
  EXPECT_EQ(testing::Counted(redis.port(), "acme", "od0", absl::StrCat("r:", kRule)), 1)
      << "the duplicate was counted twice";
  for (int c = 0; c < kCustomers; ++c) {
    EXPECT_EQ(testing::Counted(redis.port(), "acme", absl::StrCat("oc", c), absl::StrCat("r:", kRule)), 2)
        << "customer oc" << c;
  }
}

}  // namespace
}  // namespace tact
