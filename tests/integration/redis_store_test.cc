// The Redis counter store against a real redis-server started by the test: caps hold under concurrency,
// dedupe by event_id, faults are reported as errors and leave nothing half-written.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <atomic>
#include <deque>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "daemon/core/clock.h"
#include "daemon/decision/policy_files.h"
#include "daemon/decision/store_spec.h"
#include "daemon/policy/evaluate.h"
#include "daemon/policy/parse.h"
#include "daemon/store/customer_blob.h"
#include "daemon/store/in_memory_counter_store.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact::store {
namespace {

using testing::RedisServer;
using testing::TempDir;
using testing::WaitFor;

// A signal as the store writes it.
SignalWrite Write(const policy::Signal& s) { return *decision::ToStoreSignal(s); }

policy::Plan CapPlan(int64_t count, absl::Duration window = absl::Hours(24 * 7)) {
  policy::Plan plan;
  plan.matched_rules = {"cap"};
  plan.limits.push_back({.rule_id = "cap", .counter = "r:cap", .count = count, .window = window});
  return plan;
}

CustomerCheck Check(const policy::Plan& plan, std::string event_id, absl::Time now, std::string customer = "c1") {
  return CustomerCheck{.tenant = "acme",
                       .customer_id = std::move(customer),
                       .event_id = std::move(event_id),
                       .now = now,
                       .spec = decision::ToCheckSpec(plan),
                       .marker = "m"};
}

// A key of acme's `customer` as the store names it (keys.h).
std::string Key(const std::string& customer, const std::string& suffix) {
  return KeySchema().CustomerPrefix("acme", customer) + suffix;
}

// Runs one redis command on a fresh connection; returns the integer reply (or -1).
long long RedisInt(int port, const std::vector<std::string>& args) {
  RedisContextPtr c(redisConnect("127.0.0.1", port));
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  RedisReplyPtr r(static_cast<redisReply*>(redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
  return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
}

// acme's `customer` as store v2 keeps it (its one key, keys.h), or nullopt when it has no key.
std::optional<CustomerBlob> Blob(int port, const std::string& customer) {
  RedisContextPtr c(redisConnect("127.0.0.1", port));
  const std::string key = CustomerKey(KeySchema().CustomerPrefix("acme", customer));
  RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "GET %b", key.data(), key.size())));
  if (!r || r->type != REDIS_REPLY_STRING) return std::nullopt;
  return ParseCustomerBlob(std::string_view(r->str, r->len));
}

// The messages counted in the rolling counter `suffix` of acme's `customer` (-1: no such key or counter).
long long Counted(int port, const std::string& customer, const std::string& suffix = "r:cap") {
  std::optional<CustomerBlob> b = Blob(port, customer);
  if (!b) return -1;
  for (const CustomerBlob::Counter& c : b->counters) {
    if (c.suffix == suffix) return static_cast<long long>(c.times.size());
  }
  return -1;
}

class RedisStoreTest : public ::testing::Test {
 protected:
  RedisStoreTest() : redis_(dir_.path()), clock_(absl::FromUnixSeconds(1'800'000'000)) {}

  std::unique_ptr<RedisCounterStore> MakeStore(int pool = 4,
                                               RedisSettings::Batching batching = RedisSettings::Batching::kOneScript,
                                               RedisSettings::Checks checks = RedisSettings::Checks::kCompareAndSet,
                                               bool older_layouts = true) {
    RedisSettings s;
    s.port = redis_.port();
    s.pool_size = pool;
    s.batching = batching;
    s.checks = checks;
    s.older_layouts = older_layouts;
    s.stats = &stats_;
    return std::make_unique<RedisCounterStore>(s, clock_);
  }
  absl::Time Deadline() { return clock_.Now() + absl::Seconds(5); }
  // compare_and_set's guess so far, of every store MakeStore made (tact_redis_guessed_total, ..._forgotten_total)
  std::string Guessed() {
    auto n = [&](const char* outcome) { return stats_.redis_guessed_total.With({outcome}).Value(); };
    return absl::StrCat("new=", n("new"), " existed=", n("existed"), " taken_back=", n("taken_back"),
                        " forgotten=", stats_.redis_known_forgotten_total.With({}).Value());
  }

  TempDir dir_;
  RedisServer redis_;
  FakeClock clock_;
  prometheus::Registry registry_;
  StoreStats stats_{registry_};
};

TEST_F(RedisStoreTest, CapHoldsUnderEightConcurrentThreads) {
  auto store = MakeStore(8);
  const policy::Plan plan = CapPlan(5);
  std::atomic<int> released{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        const CustomerCheck c = Check(plan, absl::StrCat("e-", t, "-", i), clock_.Now());
        auto r = store->CheckAndReserve({&c, 1}, Deadline());
        if (!r.ok()) {
          ++errors;
        } else if (policy::FirstExceeded(plan, r->front().outcome) < 0) {
          ++released;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(released.load(), 5);
  EXPECT_EQ(Counted(redis_.port(), "c1"), 5);
}

TEST_F(RedisStoreTest, SameEventIdThousandTimesCountsOnce) {
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(5);
  int duplicates = 0;
  for (int i = 0; i < 1000; ++i) {
    const CustomerCheck c = Check(plan, "same-event", clock_.Now());
    auto r = store->CheckAndReserve({&c, 1}, Deadline());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(policy::FirstExceeded(plan, r->front().outcome), -1);
    duplicates += r->front().duplicate;
  }
  EXPECT_EQ(duplicates, 999);
  EXPECT_EQ(Counted(redis_.port(), "c1"), 1);
}

TEST_F(RedisStoreTest, MarkerExpiresAfterTheSeenTtlAndADuplicateGetsItsOutcomeAndMarkerBackInEitherFormat) {
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(5);
  CustomerCheck c = Check(plan, "e1", clock_.Now());
  c.marker = "m2;|a|b|";
  ASSERT_FALSE(store->CheckAndReserve({&c, 1}, Deadline())->front().duplicate);
  // The latest marker lives in the customer's key, which lives as long as it.
  const int64_t seen_ttl = absl::ToInt64Milliseconds(kDefaultSeenTtl);
  std::optional<CustomerBlob> blob = Blob(redis_.port(), "c1");
  ASSERT_TRUE(blob && blob->marker);
  EXPECT_EQ(blob->marker->event_id, "e1");
  EXPECT_EQ(blob->marker->expires_ms, absl::ToUnixMillis(clock_.Now()) + seen_ttl);
  EXPECT_GT(RedisInt(redis_.port(), {"PTTL", Key("c1", "s")}), seen_ttl - 60'000);  // here the window's 7 days
  auto again = store->CheckAndReserve({&c, 1}, Deadline());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->front().duplicate);
  EXPECT_EQ(again->front().marker, "m2;|a|b|");
  EXPECT_TRUE(again->front().outcome.reserved);
  ASSERT_EQ(again->front().outcome.usage.size(), 1u);
  EXPECT_EQ(again->front().outcome.usage[0].used, 0);
  EXPECT_EQ(Counted(redis_.port(), "c1"), 1);  // counted once

  // The next final decisions fill the customer's key (it keeps kMarkersInCustomerKey markers); the one after that
  // moves e1's marker, the oldest, to its own key with the time it has left.
  clock_.Advance(absl::Hours(1));
  std::vector<CustomerCheck> later;
  for (int e = 2; e <= kMarkersInCustomerKey + 1; ++e) later.push_back(Check(plan, absl::StrCat("e", e), clock_.Now()));
  for (const CustomerCheck& l : later) {
    EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", Key("c1", "seen:e1")}), 0) << l.event_id;
    ASSERT_FALSE(store->CheckAndReserve({&l, 1}, Deadline())->front().duplicate);
  }
  EXPECT_NEAR(RedisInt(redis_.port(), {"PTTL", Key("c1", "seen:e1")}),
              seen_ttl - absl::ToInt64Milliseconds(absl::Hours(1)), 60'000);
  EXPECT_EQ(Blob(redis_.port(), "c1")->marker->event_id, later.back().event_id);
  EXPECT_EQ(Blob(redis_.port(), "c1")->markers.size(), static_cast<size_t>(kMarkersInCustomerKey));
  std::vector<const CustomerCheck*> decided = {&c};
  for (const CustomerCheck& l : later) decided.push_back(&l);
  for (const CustomerCheck* again2 : decided) {
    auto dup = store->CheckAndReserve({again2, 1}, Deadline());
    ASSERT_TRUE(dup.ok()) << dup.status();
    EXPECT_TRUE(dup->front().duplicate) << again2->event_id;
  }
  EXPECT_EQ(Counted(redis_.port(), "c1"), static_cast<long long>(decided.size()));

  // A marker stored as one string "<outcome>|<marker>" (store v2's own marker keys) is a duplicate too.
  RedisContextPtr c2(redisConnect("127.0.0.1", redis_.port()));
  RedisReplyPtr set(static_cast<redisReply*>(redisCommand(c2.get(), "SET %s %s", Key("c1", "seen:s1").c_str(), "1||3:0|m|s")));
  ASSERT_TRUE(set != nullptr && set->type == REDIS_REPLY_STATUS);
  const CustomerCheck s1 = Check(plan, "s1", clock_.Now());
  auto r = store->CheckAndReserve({&s1, 1}, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->front().duplicate);
  EXPECT_EQ(r->front().marker, "m|s");
  ASSERT_EQ(r->front().outcome.usage.size(), 1u);
  EXPECT_EQ(r->front().outcome.usage[0].used, 3);
  EXPECT_EQ(Counted(redis_.port(), "c1"), static_cast<long long>(decided.size()));
}

TEST_F(RedisStoreTest, RollingWindowFreesSlotsAndReportsWhen) {
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(2, absl::Hours(1));
  const absl::Time t0 = clock_.Now();
  for (const char* id : {"a", "b"}) {
    const CustomerCheck c = Check(plan, id, clock_.Now());
    ASSERT_EQ(policy::FirstExceeded(plan, store->CheckAndReserve({&c, 1}, Deadline())->front().outcome), -1);
    clock_.Advance(absl::Minutes(10));
  }
  const CustomerCheck third = Check(plan, "c", clock_.Now());
  auto r = store->CheckAndReserve({&third, 1}, Deadline());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(policy::FirstExceeded(plan, r->front().outcome), 0);
  EXPECT_EQ(r->front().outcome.usage[0].used, 2);
  EXPECT_EQ(r->front().outcome.usage[0].frees_at, t0 + absl::Hours(1));  // when "a" leaves the window
  clock_.Set(t0 + absl::Hours(1) + absl::Seconds(1));
  const CustomerCheck later = Check(plan, "d", clock_.Now());
  EXPECT_EQ(policy::FirstExceeded(plan, store->CheckAndReserve({&later, 1}, Deadline())->front().outcome), -1);
}

// Store v2: a customer is one key holding all its counters; a counter's end moves later with each reservation and
// the key expires with the last thing in it.
TEST_F(RedisStoreTest, CustomerKeyHoldsItsCountersAndExpiresWithItsLastContent) {
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(5, absl::Hours(1));
  const absl::Time t0 = clock_.Now();
  CustomerCheck first = Check(plan, "a", t0);
  first.dry_run = true;
  ASSERT_TRUE(store->CheckAndReserve({&first, 1}, Deadline()).ok());
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", Key("c1", "s")}), 0);  // a dry run writes nothing
  first.dry_run = false;
  ASSERT_TRUE(store->CheckAndReserve({&first, 1}, Deadline()).ok());
  std::optional<CustomerBlob> blob = Blob(redis_.port(), "c1");
  ASSERT_TRUE(blob.has_value());
  ASSERT_EQ(blob->counters.size(), 1u);
  EXPECT_EQ(blob->counters[0].empty_at_ms, absl::ToUnixMillis(t0 + absl::Hours(1)));
  clock_.Advance(absl::Minutes(10));
  const CustomerCheck second = Check(plan, "b", clock_.Now());
  ASSERT_TRUE(store->CheckAndReserve({&second, 1}, Deadline()).ok());
  blob = Blob(redis_.port(), "c1");
  ASSERT_EQ(blob->counters.size(), 1u);
  EXPECT_EQ(blob->counters[0].empty_at_ms, absl::ToUnixMillis(clock_.Now() + absl::Hours(1)));
  EXPECT_EQ(blob->counters[0].times,
            (std::vector<int64_t>{absl::ToUnixMillis(t0), absl::ToUnixMillis(clock_.Now())}));
  // Its one key and a's marker (when the key keeps only the latest): no other key.
  EXPECT_EQ(RedisInt(redis_.port(), {"DBSIZE"}), kMarkersInCustomerKey > 1 ? 1 : 2);
  EXPECT_NEAR(RedisInt(redis_.port(), {"PTTL", Key("c1", "s")}), absl::ToInt64Milliseconds(kDefaultSeenTtl),
              60'000);  // its latest marker is the last thing in it
}

// The Redis calls one decision makes inside the script (INFO commandstats), as "name=calls" sorted by name.
std::string ScriptCalls(int port) {
  RedisContextPtr c(redisConnect("127.0.0.1", port));
  RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "INFO commandstats")));
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(absl::string_view(r->str, r->len), "\r\n")) {
    if (!absl::ConsumePrefix(&line, "cmdstat_")) continue;
    const size_t colon = line.find(':');
    const absl::string_view name = line.substr(0, colon);
    if (name == "evalsha" || name == "info" || name == "ping" || absl::StartsWith(name, "config") ||
        absl::StartsWith(name, "script")) {
      continue;
    }
    absl::string_view calls = line.substr(colon + 1);
    calls = calls.substr(0, calls.find(','));
    absl::ConsumePrefix(&calls, "calls=");
    out.push_back(absl::StrCat(name, "=", calls));
  }
  std::sort(out.begin(), out.end());
  return absl::StrJoin(out, " ");
}

// EVALSHA calls since the last CONFIG RESETSTAT.
long long RedisEvalshaCalls(int port) {
  RedisContextPtr c(redisConnect("127.0.0.1", port));
  RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "INFO commandstats")));
  const absl::string_view info(r->str, r->len);
  const size_t at = info.find("cmdstat_evalsha:calls=");
  if (at == absl::string_view::npos) return 0;
  long long n = 0;
  absl::SimpleAtoi(info.substr(at + 22, info.find(',', at) - at - 22), &n);
  return n;
}

// Read events Redis processed while `fn` ran (INFO stats total_reads_processed, on one connection: its INFO after
// `fn` is one of them): about one per round-trip a client made.
template <typename Fn>
long long RoundTrips(int port, Fn fn) {
  RedisContextPtr c(redisConnect("127.0.0.1", port));
  auto reads = [&] {
    RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "INFO stats")));
    const absl::string_view info(r->str, r->len);
    const size_t at = info.find("total_reads_processed:") + 22;
    long long n = 0;
    absl::SimpleAtoi(info.substr(at, info.find('\r', at) - at), &n);
    return n;
  };
  const long long before = reads();
  fn();
  return reads() - before - 1;
}

// `checks` decided in one call of `store`, from a CONFIG RESETSTAT: the commands Redis ran (ScriptCalls, then
// "evalsha=<n>") and the call's round-trips ("trips=<n>").
std::string CallCommands(int port, RedisCounterStore& store, const std::vector<CustomerCheck>& checks,
                         absl::Time deadline) {
  RedisInt(port, {"CONFIG", "RESETSTAT"});
  const long long trips = RoundTrips(port, [&] { EXPECT_TRUE(store.CheckAndReserve(checks, deadline).ok()); });
  return absl::StrCat(ScriptCalls(port), " evalsha=", RedisEvalshaCalls(port), " trips=", trips);
}

// Store v2's budget: at most three Redis calls per decision in the script (redis.checks script). A new customer:
// MGET (its marker key and its key), EXISTS (older layouts), SET PX; a returning one: MGET, SET PX of its key (which
// keeps its last kMarkersInCustomerKey markers), and SET PX of the oldest marker when the key has that many already;
// a duplicate: MGET.
TEST_F(RedisStoreTest, ADecisionMakesAtMostThreeRedisCalls) {
  auto store = MakeStore(4, RedisSettings::Batching::kOneScript, RedisSettings::Checks::kScript);
  const policy::Plan plan = CapPlan(5);
  auto calls = [&](const char* id) {
    RedisInt(redis_.port(), {"CONFIG", "RESETSTAT"});
    const CustomerCheck c = Check(plan, id, clock_.Now());
    EXPECT_TRUE(store->CheckAndReserve({&c, 1}, Deadline()).ok());
    return ScriptCalls(redis_.port());
  };
  EXPECT_EQ(calls("a"), "exists=1 mget=1 set=1");
  EXPECT_EQ(calls("b"), kMarkersInCustomerKey > 1 ? "mget=1 set=1" : "mget=1 set=2");
  EXPECT_EQ(calls("b"), "mget=1");
  for (int i = 2; i < kMarkersInCustomerKey; ++i) EXPECT_EQ(calls(absl::StrCat("c", i).c_str()), "mget=1 set=1");
  EXPECT_EQ(calls("d"), "mget=1 set=2");
}

// redis.checks compare_and_set: tactd's MGET (the event's marker key, the customer's key), then one write, only when
// the decision writes. A customer the store does not know (no older layout looked in): decided as new and its key
// created (SET NX PX) in the MGET's round-trip, so a new customer is one round-trip and no script. A known one: its key
// WATCHed before the MGET, then MULTI, the SETs (its key, and its oldest marker when the key holds
// kMarkersInCustomerKey), EXEC: no script. A duplicate and a deferral: the MGET (and the WATCH); a dry run: the MGET
// alone. While the older layouts are looked in, a customer the store does not know is not WATCHed: SET NX creates a
// new key, cas.lua writes one that exists.
TEST_F(RedisStoreTest, CompareAndSetReadsOnceAndWritesOnce) {
  auto stats = [&] { return absl::StrCat(ScriptCalls(redis_.port()), " evalsha=", RedisEvalshaCalls(redis_.port())); };
  auto calls = [&](RedisCounterStore& store, const policy::Plan& plan, const char* id, bool dry_run = false) {
    CustomerCheck c = Check(plan, id, clock_.Now());
    c.dry_run = dry_run;
    return CallCommands(redis_.port(), store, {c}, Deadline());
  };
  auto store = MakeStore(4, RedisSettings::Batching::kOneScript, RedisSettings::Checks::kCompareAndSet,
                         /*older_layouts=*/false);
  ASSERT_TRUE(store->Healthy());  // its connection made (SCRIPT LOAD, the MULTI/EXEC probe) before counting
  const policy::Plan plan = CapPlan(2);
  EXPECT_EQ(calls(*store, plan, "a", /*dry_run=*/true), "mget=1 evalsha=0 trips=1");
  EXPECT_EQ(calls(*store, plan, "a"), "mget=1 set=1 evalsha=0 trips=1");  // new: created in the read's round-trip
  EXPECT_EQ(Counted(redis_.port(), "c1"), 1);
  // a redelivery: c1 known now, WATCHed and read first (nothing written)
  EXPECT_EQ(calls(*store, plan, "a"), "mget=1 unwatch=1 watch=1 evalsha=0 trips=1");
  EXPECT_EQ(Counted(redis_.port(), "c1"), 1);
  EXPECT_EQ(calls(*store, plan, "b"),  // a's marker stays in c1's key, or moves out when the key keeps one
            kMarkersInCustomerKey > 1 ? "exec=1 mget=1 multi=1 set=1 unwatch=1 watch=1 evalsha=0 trips=2"
                                      : "exec=1 mget=1 multi=1 set=2 unwatch=1 watch=1 evalsha=0 trips=2");
  EXPECT_EQ(Counted(redis_.port(), "c1"), 2);
  const policy::Plan defer = [&] {
    policy::Plan p = CapPlan(2);
    p.limits[0].on_exceed = policy::OnExceed::kDefer;
    return p;
  }();
  // full, and deferred: nothing written
  EXPECT_EQ(calls(*store, defer, "c"), "mget=1 unwatch=1 watch=1 evalsha=0 trips=1");
  // Two customers in one call: c1 (its cap and its key's markers full: a's, the oldest, moves out), known to this store,
  // WATCHed and written in MULTI/EXEC; and c2, not known: decided as new, created in the read's round-trip.
  EXPECT_EQ(CallCommands(redis_.port(), *store, {Check(plan, "d", clock_.Now()), Check(plan, "n0", clock_.Now(), "c2")},
                         Deadline()),
            "exec=1 mget=1 multi=1 set=3 unwatch=1 watch=1 evalsha=0 trips=2");
  EXPECT_EQ(Counted(redis_.port(), "c2"), 1);
  auto looking = MakeStore(4, RedisSettings::Batching::kOneScript, RedisSettings::Checks::kCompareAndSet,
                           /*older_layouts=*/true);
  ASSERT_TRUE(looking->Healthy());
  EXPECT_EQ(calls(*looking, plan, "x"), "get=1 mget=1 set=2 evalsha=1 trips=2");  // c1 has a store-v2 key: tactd's
  // A customer without a store-v2 key: tactd probes the older layouts (one EXISTS) and decides when they hold nothing
  // of it; check.lua decides when they do.
  auto one = [&](const char* id, const char* customer) {
    RedisInt(redis_.port(), {"CONFIG", "RESETSTAT"});
    const CustomerCheck c = Check(plan, id, clock_.Now(), customer);
    EXPECT_TRUE(looking->CheckAndReserve({&c, 1}, Deadline()).ok());
    return stats();
  };
  EXPECT_EQ(one("n1", "new-customer"), "exists=1 mget=1 set=1 evalsha=0");
  EXPECT_EQ(Counted(redis_.port(), "new-customer"), 1);
  RedisInt(redis_.port(), {"HSET", Key("v1-customer", "idx"), "c:x", "1"});  // layout v1's index: state to move
  EXPECT_EQ(one("n2", "v1-customer"),  // the probe, then check.lua (moving its state: hgetall, type, del)
            "del=1 exists=3 get=2 hgetall=2 mget=2 set=1 type=2 evalsha=1");
  EXPECT_EQ(Counted(redis_.port(), "v1-customer"), 1);
  {  // two new customers in one call
    RedisInt(redis_.port(), {"CONFIG", "RESETSTAT"});
    const std::vector<CustomerCheck> both = {Check(plan, "n3", clock_.Now(), "new-3"),
                                             Check(plan, "n4", clock_.Now(), "new-4")};
    ASSERT_TRUE(looking->CheckAndReserve(both, Deadline()).ok());
    EXPECT_EQ(stats(), "exec=1 exists=2 mget=1 multi=1 set=2 unwatch=1 watch=1 evalsha=0");
  }
}

// A customer this store has not read or written lately is decided as new before its key is read, and its key created
// in the read's round-trip (RedisSettings::guess_new kAuto).
TEST_F(RedisStoreTest, CompareAndSetDecidesTheCustomersItDoesNotKnowAsNew) {
  const policy::Plan plan = CapPlan(2);
  auto guessing = MakeStore(4, RedisSettings::Batching::kOneScript, RedisSettings::Checks::kCompareAndSet,
                            /*older_layouts=*/false);
  ASSERT_TRUE(guessing->Healthy());
  auto two = [&](RedisCounterStore& store, const char* id1, const char* customer1, const char* id2,
                 const char* customer2) {
    return CallCommands(redis_.port(), store,
                        {Check(plan, id1, clock_.Now(), customer1), Check(plan, id2, clock_.Now(), customer2)},
                        Deadline());
  };
  // two customers a store does not know: both decided as new, one round-trip
  EXPECT_EQ(two(*guessing, "g1", "guess-1", "g2", "guess-2"), "mget=1 set=2 evalsha=0 trips=1");
  // guess-1 known now: WATCHed, read, written in MULTI/EXEC; guess-3 created in the read's round-trip
  EXPECT_EQ(two(*guessing, "g3", "guess-1", "g4", "guess-3"),
            "exec=1 mget=1 multi=1 set=2 unwatch=1 watch=1 evalsha=0 trips=2");
  // another store (another tactd) does not know guess-2: its create does nothing, and cas.lua writes its key (a
  // WATCH would see the call's own creates)
  auto other = MakeStore(4, RedisSettings::Batching::kOneScript, RedisSettings::Checks::kCompareAndSet,
                         /*older_layouts=*/false);
  ASSERT_TRUE(other->Healthy());
  EXPECT_EQ(two(*other, "g5", "guess-2", "g6", "guess-4"), kMarkersInCustomerKey > 1
                                                               ? "get=1 mget=1 set=3 evalsha=1 trips=2"
                                                               : "get=1 mget=1 set=4 evalsha=1 trips=2");
  EXPECT_EQ(Guessed(), "new=4 existed=1 taken_back=0 forgotten=0");
  EXPECT_EQ(Counted(redis_.port(), "guess-1"), 2);
  EXPECT_EQ(Counted(redis_.port(), "guess-2"), 2);
  EXPECT_EQ(Counted(redis_.port(), "guess-3"), 1);
  EXPECT_EQ(Counted(redis_.port(), "guess-4"), 1);
  // A store whose unknown customers lately had keys (another tactd decided them) stops guessing for calls of several
  EXPECT_EQ(two(*guessing, "g7", "guess-5", "g8", "guess-6"), "mget=1 set=2 evalsha=0 trips=1");
  EXPECT_EQ(two(*guessing, "g9", "guess-7", "g10", "guess-8"), "mget=1 set=2 evalsha=0 trips=1");
  auto third = MakeStore(4, RedisSettings::Batching::kOneScript, RedisSettings::Checks::kCompareAndSet,
                         /*older_layouts=*/false);
  ASSERT_TRUE(third->Healthy());
  EXPECT_EQ(two(*third, "g11", "guess-5", "g12", "guess-6"), "get=2 mget=1 set=4 evalsha=1 trips=2");
  EXPECT_EQ(two(*third, "g13", "guess-7", "g14", "guess-8"),
            "exec=1 mget=1 multi=1 set=2 unwatch=1 watch=1 evalsha=0 trips=2");
  // Known customers whose keys are gone before their time (a flushed Redis): read first (WATCH, MULTI/EXEC) until
  // enough known customers read lately had no key, then every customer the store knew is forgotten: those are guessed
  // as any unknown one, and those written since stay known
  auto many = [&](const char* event, int n) {
    std::vector<CustomerCheck> checks;
    for (int i = 0; i < n; ++i) {
      checks.push_back(Check(plan, absl::StrCat(event, i), clock_.Now(), absl::StrCat("many-", i)));
    }
    return CallCommands(redis_.port(), *guessing, checks, Deadline());
  };
  EXPECT_EQ(many("m", 64), "mget=1 set=64 evalsha=0 trips=1");
  RedisInt(redis_.port(), {"FLUSHALL"});
  EXPECT_EQ(two(*guessing, "h1", "guess-1", "h2", "guess-2"),  // known, gone: read first; too few to forget
            "exec=1 mget=1 multi=1 set=2 unwatch=1 watch=1 evalsha=0 trips=2");
  EXPECT_EQ(Guessed(), "new=72 existed=3 taken_back=0 forgotten=0");
  EXPECT_EQ(many("n", 63), "exec=1 mget=1 multi=1 set=63 unwatch=1 watch=1 evalsha=0 trips=2");  // then forgotten
  EXPECT_EQ(Guessed(), "new=72 existed=3 taken_back=0 forgotten=1");
  EXPECT_EQ(two(*guessing, "h3", "guess-3", "h4", "guess-7"), "mget=1 set=2 evalsha=0 trips=1");
  EXPECT_EQ(two(*guessing, "h5", "many-0", "h6", "guess-4"),  // many-0 written since: known; guess-4 forgotten
            "exec=1 mget=1 multi=1 set=2 unwatch=1 watch=1 evalsha=0 trips=2");
  // guess-1, written before the store forgot, is guessed new too: its create does nothing, cas.lua writes it
  EXPECT_EQ(two(*guessing, "h7", "guess-1", "h8", "guess-5"), kMarkersInCustomerKey > 1
                                                                  ? "get=1 mget=1 set=3 evalsha=1 trips=2"
                                                                  : "get=1 mget=1 set=4 evalsha=1 trips=2");
  EXPECT_EQ(Counted(redis_.port(), "guess-1"), 2);  // h1, h7: the store's decisions since the flush
  EXPECT_EQ(Counted(redis_.port(), "many-0"), 2);
  EXPECT_EQ(Counted(redis_.port(), "guess-4"), 1);
  // One known customer's key gone alone (tactctl customer forget) does not make the store forget the others
  auto alone = MakeStore(4, RedisSettings::Batching::kOneScript, RedisSettings::Checks::kCompareAndSet,
                         /*older_layouts=*/false);
  ASSERT_TRUE(alone->Healthy());
  EXPECT_EQ(two(*alone, "a1", "alone-1", "a2", "alone-2"), "mget=1 set=2 evalsha=0 trips=1");
  RedisInt(redis_.port(), {"DEL", CustomerKey(KeySchema().CustomerPrefix("acme", "alone-1"))});
  EXPECT_EQ(two(*alone, "a3", "alone-1", "a4", "alone-1"),
            "exec=1 mget=1 multi=1 set=1 unwatch=1 watch=1 evalsha=0 trips=2");
  EXPECT_EQ(two(*alone, "a5", "alone-2", "a6", "alone-3"),  // alone-2 still known
            "exec=1 mget=1 multi=1 set=2 unwatch=1 watch=1 evalsha=0 trips=2");
  EXPECT_EQ(Guessed(), "new=79 existed=4 taken_back=0 forgotten=1");
}

TEST_F(RedisStoreTest, DryRunWritesNothing) {
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(1);
  CustomerCheck c = Check(plan, "dry", clock_.Now());
  c.dry_run = true;
  ASSERT_EQ(policy::FirstExceeded(plan, store->CheckAndReserve({&c, 1}, Deadline())->front().outcome), -1);
  EXPECT_EQ(RedisInt(redis_.port(), {"DBSIZE"}), 0);
}

TEST_F(RedisStoreTest, BatchOfCustomersIsDecidedInOrderBothWays) {
  for (auto batching : {RedisSettings::Batching::kPipelined, RedisSettings::Batching::kOneScript}) {
    auto store = MakeStore(1, batching);
    const policy::Plan plan = CapPlan(1);
    const std::string prefix = batching == RedisSettings::Batching::kPipelined ? "p" : "s";
    std::vector<CustomerCheck> batch;
    for (int i = 0; i < 50; ++i) {
      batch.push_back(Check(plan, absl::StrCat(prefix, "-", i), clock_.Now(), absl::StrCat(prefix, "-cust-", i % 25)));
    }
    batch.push_back(batch.front());  // the same event again in the same batch: the earlier decision
    auto r = store->CheckAndReserve(batch, Deadline());
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->size(), 51u);
    for (int i = 0; i < 50; ++i) {
      EXPECT_EQ(policy::FirstExceeded(plan, (*r)[i].outcome), i < 25 ? -1 : 0) << prefix << i;  // each customer's first is released
      EXPECT_FALSE((*r)[i].duplicate);
    }
    EXPECT_TRUE((*r)[50].duplicate);
    EXPECT_EQ((*r)[50].marker, "m");
  }
}

std::string OutcomeText(const CheckResult& r) {
  std::string out = absl::StrCat(r.duplicate ? "dup " : "", r.marker, " reserved=", r.outcome.reserved, " sig");
  for (const policy::SignalResult& s : r.outcome.signals) absl::StrAppend(&out, " ", s.hit, "@", absl::FormatTime(s.until));
  absl::StrAppend(&out, " lim");
  for (const policy::LimitUsage& u : r.outcome.usage) absl::StrAppend(&out, " ", u.used, "@", absl::FormatTime(u.frees_at));
  return out;
}

// One EVALSHA for a batch of many plan shapes (signal checks, calendar caps in three zones, rolling caps, quiet
// hours, dry runs, repeats of one customer and of one event) gives exactly what the in-memory store gives
// deciding the same checks one by one.
TEST_F(RedisStoreTest, MixedBatchInOneCallMatchesTheInMemoryStore) {
  absl::StatusOr<policy::Policy> pol = decision::LoadPolicyDir(TACT_SOURCE_DIR "/policies/default");
  ASSERT_TRUE(pol.ok()) << pol.status();
  auto redis = MakeStore(1);
  InMemoryCounterStore memory;
  const absl::Time now = absl::FromUnixSeconds(1'795'039'200);  // 22:00 UTC: SMS quiet hours in Berlin
  for (CounterStore* store : {static_cast<CounterStore*>(redis.get()), static_cast<CounterStore*>(&memory)}) {
    ASSERT_TRUE(store->PutSignal(Write({.tenant = "acme", .customer_id = "c-2", .kind = policy::SignalKind::kCsat,
                                        .csat = 1, .at = now - absl::Hours(1)}), now, Deadline()).ok());
    ASSERT_TRUE(store->PutSignal(Write({.tenant = "acme", .customer_id = "c-3",
                                        .kind = policy::SignalKind::kComplaintOpened, .ref = "t-1",
                                        .at = now - absl::Hours(2)}), now, Deadline()).ok());
  }
  std::deque<policy::Plan> plans;
  std::vector<CustomerCheck> checks;
  const v1::MessageClass classes[] = {v1::PROMOTION, v1::PROACTIVE_SERVICE, v1::PROMOTION};
  const v1::Channel channels[] = {v1::EMAIL, v1::EMAIL, v1::SMS};
  const char* zones[] = {"UTC", "Europe/Berlin", "America/New_York"};
  for (int i = 0; i < 60; ++i) {
    Event e{.event_id = absl::StrCat("e-", i % 50), .tenant = "acme", .customer_id = absl::StrCat("c-", i % 50 % 7),
            .channel = channels[i % 3], .message_class = classes[(i / 3) % 3], .customer_timezone = zones[(i / 2) % 3]};
    plans.push_back(policy::PlanEvent(*pol, e, now));
    if (!plans.back().NeedsStore()) continue;
    checks.push_back(CustomerCheck{.tenant = e.tenant, .customer_id = e.customer_id, .event_id = e.event_id,
                                   .now = now, .spec = decision::ToCheckSpec(plans.back()), .dry_run = i % 11 == 5,
                                   .marker = absl::StrCat("m", i)});
  }
  ASSERT_GT(checks.size(), 40u);
  absl::StatusOr<std::vector<CheckResult>> got = redis->CheckAndReserve(checks, Deadline());
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), checks.size());
  int duplicates = 0, reserved = 0, blocked = 0;
  for (size_t i = 0; i < checks.size(); ++i) {
    absl::StatusOr<std::vector<CheckResult>> want = memory.CheckAndReserve({&checks[i], 1}, Deadline());
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_EQ(OutcomeText((*got)[i]), OutcomeText((*want)[0])) << "check " << i;
    duplicates += (*got)[i].duplicate;
    reserved += (*got)[i].outcome.reserved;
    blocked += !(*got)[i].duplicate && !(*got)[i].outcome.reserved;
  }
  EXPECT_GT(duplicates, 0);  // the table exercises every branch
  EXPECT_GT(reserved, 0);
  EXPECT_GT(blocked, 0);
}

TEST_F(RedisStoreTest, ScriptFlushIsRecoveredThroughNoscript) {
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(3);
  const CustomerCheck a = Check(plan, "before", clock_.Now());
  ASSERT_TRUE(store->CheckAndReserve({&a, 1}, Deadline()).ok());
  RedisContextPtr c(redisConnect("127.0.0.1", redis_.port()));
  RedisReplyPtr(static_cast<redisReply*>(redisCommand(c.get(), "SCRIPT FLUSH")));
  const CustomerCheck b = Check(plan, "after", clock_.Now());
  auto r = store->CheckAndReserve({&b, 1}, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->front().outcome.usage[0].used, 1);
  RedisReplyPtr(static_cast<redisReply*>(redisCommand(c.get(), "SCRIPT FLUSH")));
  const std::vector<CustomerCheck> two{Check(plan, "x", clock_.Now()), Check(plan, "y", clock_.Now())};
  r = store->CheckAndReserve(two, Deadline());  // the batch script path
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[1].outcome.usage[0].used, 3);
}

TEST_F(RedisStoreTest, PausedRedisMissesTheDeadlineAsUnavailable) {
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(3);
  const CustomerCheck warm = Check(plan, "warm", clock_.Now());
  ASSERT_TRUE(store->CheckAndReserve({&warm, 1}, Deadline()).ok());
  // Stopped until the call is over: the call can only come back UNAVAILABLE if its own deadline fires.
  redis_.process().Signal(SIGSTOP);
  absl::Cleanup resume = [this] { redis_.process().Signal(SIGCONT); };
  SystemClock real;
  RedisSettings s;
  s.port = redis_.port();
  RedisCounterStore live(s, real);  // deadlines are real time here
  const CustomerCheck c = Check(plan, "paused", real.Now());
  auto r = live.CheckAndReserve({&c, 1}, real.Now() + absl::Milliseconds(200));
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();  // the deadline fired: Redis never answered
}

TEST_F(RedisStoreTest, KilledRedisIsAnErrorAndDecisionsContinueAfterRestart) {
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(100);
  for (int i = 0; i < 10; ++i) {
    const CustomerCheck c = Check(plan, absl::StrCat("k-", i), clock_.Now());
    ASSERT_TRUE(store->CheckAndReserve({&c, 1}, Deadline()).ok());
  }
  const int port = redis_.port();
  redis_.process().Signal(SIGKILL);
  ASSERT_TRUE(redis_.process().Wait(absl::Seconds(10)).has_value());
  const CustomerCheck during = Check(plan, "during", clock_.Now());
  auto r = store->CheckAndReserve({&during, 1}, Deadline());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_FALSE(store->Healthy());

  // Same port, empty data (no persistence): the store reconnects, reloads its script and decides again.
  RedisServer again(dir_.path(), port);
  clock_.Advance(absl::Seconds(5));  // past the reconnect backoff
  ASSERT_TRUE(WaitFor([&] { return store->Healthy(); }, absl::Seconds(10), "store healthy again"));
  const CustomerCheck after = Check(plan, "after", clock_.Now());
  r = store->CheckAndReserve({&after, 1}, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->front().outcome.usage[0].used, 0);
  EXPECT_EQ(Counted(port, "c1"), 1);
}

// The archive's calls fail as every store call in an outage: Redis paused past the call's deadline and Redis killed
// are UNAVAILABLE (core/outage.h: retry later), a passed deadline DEADLINE_EXCEEDED; after a restart they work.
TEST_F(RedisStoreTest, ArchiveCallsInAnOutageAreUnavailableAndWorkAfterRestart) {
  auto store = MakeStore();
  ASSERT_TRUE(store->PutArchived("policy.a", "files", absl::Hours(1), Deadline()).ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(store->GetArchived("policy.a", clock_.Now()).status()));
  {
    SystemClock real;  // deadlines are real time here
    RedisSettings s;
    s.port = redis_.port();
    RedisCounterStore for_put(s, real);  // each with a pooled connection: the command is sent, the reply never comes
    RedisCounterStore for_get(s, real);
    ASSERT_TRUE(for_put.GetArchived("policy.a", real.Now() + absl::Seconds(5)).ok());
    ASSERT_TRUE(for_get.GetArchived("policy.a", real.Now() + absl::Seconds(5)).ok());
    redis_.process().Signal(SIGSTOP);  // stopped until both calls are over: only their deadline can end them
    absl::Cleanup resume = [this] { redis_.process().Signal(SIGCONT); };
    absl::Status put = for_put.PutArchived("policy.b", "files", absl::Hours(1), real.Now() + absl::Milliseconds(200));
    EXPECT_TRUE(absl::IsUnavailable(put)) << put;
    absl::StatusOr<std::optional<std::string>> get =
        for_get.GetArchived("policy.a", real.Now() + absl::Milliseconds(200));
    EXPECT_TRUE(absl::IsUnavailable(get.status())) << get.status();
  }
  const int port = redis_.port();
  redis_.process().Signal(SIGKILL);
  ASSERT_TRUE(redis_.process().Wait(absl::Seconds(10)).has_value());
  absl::Status put = store->PutArchived("policy.b", "files", absl::Hours(1), Deadline());
  EXPECT_TRUE(absl::IsUnavailable(put)) << put;
  absl::StatusOr<std::optional<std::string>> get = store->GetArchived("policy.a", Deadline());
  EXPECT_TRUE(absl::IsUnavailable(get.status())) << get.status();

  RedisServer again(dir_.path(), port);  // same port, empty data (no persistence)
  clock_.Advance(absl::Seconds(5));      // past the reconnect backoff
  ASSERT_TRUE(WaitFor([&] { return store->Healthy(); }, absl::Seconds(10), "store healthy again"));
  EXPECT_EQ(store->GetArchived("policy.a", Deadline()).value_or("error"), std::nullopt);  // lost with the data
  ASSERT_TRUE(store->PutArchived("policy.a", "again", absl::Hours(1), Deadline()).ok());
  EXPECT_EQ(store->GetArchived("policy.a", Deadline()).value_or("error"), "again");
}

// kill -9 while 4 threads decide: every call either succeeded or reported an error, and after a restart from
// the append-only file the windows and the decision markers agree: as many markers as counted messages (Lua
// scripts apply all or nothing).
TEST(RedisStoreFaultTest, KillMidRunLeavesNothingHalfWritten) {
  TempDir dir;
  auto redis = std::make_unique<RedisServer>(dir.path(), 0, /*aof=*/true);
  const int port = redis->port();
  SystemClock clock;
  RedisSettings s;
  s.port = port;
  RedisCounterStore store(s, clock);
  policy::Plan plan;
  plan.matched_rules = {"a", "b"};
  plan.limits.push_back({.rule_id = "a", .counter = "r:a", .count = 1000000, .window = absl::Hours(1)});
  plan.limits.push_back({.rule_id = "b", .counter = "r:b", .count = 1000000, .window = absl::Hours(2)});
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        const CustomerCheck c = Check(plan, absl::StrCat("t", t, "-", i), clock.Now(), absl::StrCat("cust-", i % 7));
        auto r = store.CheckAndReserve({&c, 1}, clock.Now() + absl::Seconds(2));
        (r.ok() ? ok : failed)++;
      }
    });
  }
  ASSERT_TRUE(WaitFor([&] { return ok.load() > 500; }, absl::Seconds(30), "500 decisions before the kill"));
  redis->process().Signal(SIGKILL);
  ASSERT_TRUE(redis->process().Wait(absl::Seconds(10)).has_value());
  ASSERT_TRUE(WaitFor([&] { return failed.load() > 0; }, absl::Seconds(10), "errors reported while down"));
  stop.store(true);
  for (std::thread& th : threads) th.join();

  redis = std::make_unique<RedisServer>(dir.path(), port, /*aof=*/true);
  RedisContextPtr c(redisConnect("127.0.0.1", port));
  size_t members = 0;
  for (int cust = 0; cust < 7; ++cust) {
    const std::string customer = absl::StrCat("cust-", cust);
    std::optional<CustomerBlob> blob = Blob(port, customer);
    if (!blob) continue;
    const long long a = Counted(port, customer, "r:a");
    ASSERT_EQ(a, Counted(port, customer, "r:b")) << "windows disagree for customer " << cust;
    // Every counted event has its marker: the last ones in the customer's key, the others in their own keys.
    const std::string prefix = KeySchema().CustomerPrefix("acme", customer);
    size_t markers = blob->markers.size();
    std::string cursor = "0";
    do {
      RedisReplyPtr scan(static_cast<redisReply*>(
          redisCommand(c.get(), "SCAN %s MATCH %s COUNT 1000", cursor.c_str(), (prefix + "seen:*").c_str())));
      ASSERT_TRUE(scan && scan->type == REDIS_REPLY_ARRAY);
      cursor = scan->element[0]->str;
      markers += scan->element[1]->elements;
    } while (cursor != "0");
    EXPECT_EQ(markers, static_cast<size_t>(a)) << "customer " << cust << ": events counted without their marker";
    members += static_cast<size_t>(a);
  }
  EXPECT_GE(members, 500u);  // acknowledged before the kill, so durable (appendfsync always)
  EXPECT_GE(members, static_cast<size_t>(ok.load()));
}

}  // namespace
}  // namespace tact::store
