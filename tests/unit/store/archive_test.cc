// The archive beside the counters (CounterStore::PutArchived / GetArchived): its key is outside every customer's
// prefix (an erasure never matches it) and carries the name as its own hash tag; the in-memory store expires a text
// by its clock as redis-server does; InstrumentedCounterStore counts the archive's calls per op.
#include <gtest/gtest.h>

#include <string>

#include "daemon/core/clock.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/in_memory_counter_store.h"
#include "daemon/store/instrumented_counter_store.h"
#include "daemon/store/keys.h"
#include "prometheus/registry.h"

namespace tact::store {
namespace {

TEST(ArchiveTest, KeyIsOutsideEveryCustomersPrefixAndTaggedByTheName) {
  EXPECT_EQ(ArchiveKey("policy.3f2a-x_1"), "tact:archive:{policy.3f2a-x_1}");
  EXPECT_EQ(KeySlot(ArchiveKey("policy.1")), KeySlot("{policy.1}"));
  const std::string key = ArchiveKey("archive");
  for (const std::string secret : {"", "s3cret"}) {
    const KeySchema keys(secret);
    // Ids that spell the archive's key in the old layout ("tact:{<tenant>:<customer>}:") as far as they can.
    for (const auto& [tenant, customer] : std::vector<std::pair<std::string, std::string>>{
             {"acme", "ana"}, {"archive", "x"}, {"", ""}, {"tact", "archive:{archive}"}, {"a", "rchive:{archive"}}) {
      for (const std::string& prefix : CustomerPrefixes(keys, tenant, customer)) {
        EXPECT_FALSE(key.starts_with(prefix)) << prefix;
        EXPECT_TRUE(prefix.starts_with("tact:{")) << prefix;
      }
    }
  }
  EXPECT_FALSE(key.starts_with("tact:{"));
}

TEST(ArchiveTest, InMemoryTextExpiresByTheStoresClockAsRedisDoes) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  InMemoryCounterStore store(clock);
  const absl::Time no_deadline = absl::InfiniteFuture();
  ASSERT_TRUE(store.PutArchived("p.1", "files", absl::Milliseconds(250), no_deadline).ok());
  ASSERT_TRUE(store.PutArchived("p.2", "other", absl::Hours(1), no_deadline).ok());
  clock.Advance(absl::Milliseconds(250));
  EXPECT_EQ(store.GetArchived("p.1", no_deadline).value_or("error"), "files");  // at its expiry time: still there
  clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(store.GetArchived("p.1", no_deadline).value_or("error"), std::nullopt);
  // A put after the expiry starts a new ttl.
  ASSERT_TRUE(store.PutArchived("p.1", "again", absl::Milliseconds(250), no_deadline).ok());
  clock.Advance(absl::Milliseconds(250));
  EXPECT_EQ(store.GetArchived("p.1", no_deadline).value_or("error"), "again");
  EXPECT_EQ(store.GetArchived("p.2", no_deadline).value_or("error"), "other");
  // A customer's erasure leaves it.
  EXPECT_EQ(store.ForgetCustomer(CustomerPrefixes(KeySchema(), "acme", "ana"), no_deadline).value_or(-1), 0);
  EXPECT_EQ(store.GetArchived("p.2", no_deadline).value_or("error"), "other");
}

double Value(prometheus::Registry& registry, const std::string& name, const std::map<std::string, std::string>& labels) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      std::map<std::string, std::string> got;
      for (const auto& l : m.label) got[l.name] = l.value;
      if (got == labels) return family.type == prometheus::MetricType::Histogram ? m.histogram.sample_count
                                                                                  : m.counter.value;
    }
  }
  return 0;
}

TEST(ArchiveTest, InstrumentedStoreForwardsAndCountsArchiveCalls) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  InMemoryCounterStore inner(clock);
  prometheus::Registry registry;
  StoreStats stats(registry);
  InstrumentedCounterStore store(inner, stats, clock);
  const absl::Time deadline = absl::InfiniteFuture();
  ASSERT_TRUE(store.PutArchived("p.1", "files", absl::Hours(1), deadline).ok());
  EXPECT_EQ(inner.GetArchived("p.1", deadline).value_or("error"), "files");  // forwarded
  EXPECT_EQ(store.GetArchived("p.1", deadline).value_or("error"), "files");
  EXPECT_EQ(store.GetArchived("p.2", deadline).value_or("error"), std::nullopt);  // absent: not an error
  EXPECT_TRUE(absl::IsInvalidArgument(store.PutArchived("P", "files", absl::Hours(1), deadline)));
  EXPECT_EQ(Value(registry, "tact_redis_calls_total", {{"op", "archive_put"}}), 2);
  EXPECT_EQ(Value(registry, "tact_redis_calls_total", {{"op", "archive_get"}}), 2);
  EXPECT_EQ(Value(registry, "tact_redis_errors_total", {{"op", "archive_put"}, {"code", "invalid_argument"}}), 1);
  EXPECT_EQ(Value(registry, "tact_redis_errors_total", {{"op", "archive_get"}, {"code", "invalid_argument"}}), 0);
  EXPECT_EQ(Value(registry, "tact_redis_call_duration_seconds", {{"op", "archive_get"}}), 2);
}

}  // namespace
}  // namespace tact::store
