// The upgrade from the Redis key layout before the keyed hash tag ("tact:{<tenant>:<customer>}:", keys.h and
// legacy.lua) against a real redis-server: state written as an older tactd wrote it, with raw Redis commands, is
// honoured by the next decision, read by ReadCustomer, and moved to the new prefix on the next check or signal;
// with redis.legacy_keys off, or for ids the legacy layout cannot name, it is not read.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/decision/store_spec.h"
#include "daemon/policy/evaluate.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/stack.h"

namespace tact::store {
namespace {

using testing::RedisServer;
using testing::TempDir;

// A signal as the store writes it.
SignalWrite Write(const policy::Signal& s) { return *decision::ToStoreSignal(s); }

constexpr char kLegacy[] = "tact:{acme:c1}:";  // customer c1 of tenant acme, as an older tactd named it

policy::Plan CapPlan(int64_t count) {
  policy::Plan plan;
  plan.matched_rules = {"cap"};
  plan.limits.push_back({.rule_id = "cap", .counter = "r:cap", .count = count, .window = absl::Hours(1)});
  return plan;
}

class RedisKeyUpgradeTest : public ::testing::Test {
 protected:
  RedisKeyUpgradeTest() : redis_(dir_.path()), clock_(absl::FromUnixSeconds(1'800'000'000)) {
    conn_.reset(redisConnect("127.0.0.1", redis_.port()));
  }

  std::unique_ptr<RedisCounterStore> MakeStore(bool legacy_keys = true) {
    RedisSettings s;
    s.port = redis_.port();
    s.legacy_keys = legacy_keys;
    return std::make_unique<RedisCounterStore>(s, clock_);
  }
  absl::Time Deadline() { return clock_.Now() + absl::Seconds(5); }
  int64_t NowMs() { return absl::ToUnixMillis(clock_.Now()); }
  static std::string New(const std::string& suffix) { return KeySchema().CustomerPrefix("acme", "c1") + suffix; }
  static std::string Old(const std::string& suffix) { return kLegacy + suffix; }

  // One command; the reply as text (integers in decimal, nil as "nil", arrays as their elements joined by ' ').
  std::string Redis(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    RedisReplyPtr r(static_cast<redisReply*>(
        redisCommandArgv(conn_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (r == nullptr) return "io error";
    switch (r->type) {
      case REDIS_REPLY_INTEGER: return absl::StrCat(r->integer);
      case REDIS_REPLY_NIL: return "nil";
      case REDIS_REPLY_ARRAY: {
        std::string out;
        for (size_t i = 0; i < r->elements; ++i) {
          absl::StrAppend(&out, i == 0 ? "" : " ", absl::string_view(r->element[i]->str, r->element[i]->len));
        }
        return out;
      }
      default: return std::string(r->str, r->len);
    }
  }

  // What an older tactd left for acme/c1: "a" and "b" counted in the rolling hour (b 10 minutes ago), "a"'s
  // decision marker, the index naming the counter, and an open complaint.
  void WriteLegacyCustomer() {
    const int64_t now = NowMs();
    ASSERT_EQ(Redis({"ZADD", Old("r:cap"), absl::StrCat(now - 1'200'000), "a", absl::StrCat(now - 600'000), "b"}), "2");
    ASSERT_EQ(Redis({"PEXPIRE", Old("r:cap"), "3000000"}), "1");
    ASSERT_EQ(Redis({"HSET", Old("idx"), "r:cap", absl::StrCat(now + 3'000'000)}), "1");
    ASSERT_EQ(Redis({"PEXPIRE", Old("idx"), "3000000"}), "1");
    ASSERT_EQ(Redis({"HSET", Old("seen:a"), "o", "1||1:0", "m", "legacy-marker"}), "2");
    ASSERT_EQ(Redis({"HSET", Old("sig"), "complaint:T1", absl::StrCat(now - 60'000, ":0")}), "1");
  }

  TempDir dir_;
  RedisServer redis_;
  FakeClock clock_;
  RedisContextPtr conn_;
};

TEST_F(RedisKeyUpgradeTest, LegacyCountersMarkersAndSignalsAreHonouredThenLiveUnderTheNewPrefix) {
  WriteLegacyCustomer();
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(3);
  // The legacy marker: "a" was decided before (read where it is, nothing moved by a duplicate).
  CustomerCheck a{.tenant = "acme", .customer_id = "c1", .event_id = "a", .now = clock_.Now(),
                    .spec = decision::ToCheckSpec(plan),
                  .marker = "new"};
  auto r = store->CheckAndReserve({&a, 1}, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->front().duplicate);
  EXPECT_EQ(r->front().marker, "legacy-marker");
  // The legacy window's two messages count: the third fits, the fourth does not.
  CustomerCheck c = a;
  c.event_id = "c";
  r = store->CheckAndReserve({&c, 1}, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->front().duplicate);
  ASSERT_EQ(r->front().outcome.usage.size(), 1u);
  EXPECT_EQ(r->front().outcome.usage[0].used, 2);
  EXPECT_TRUE(r->front().outcome.reserved);
  CustomerCheck d = a;
  d.event_id = "d";
  r = store->CheckAndReserve({&d, 1}, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->front().outcome.usage[0].used, 3);
  EXPECT_FALSE(r->front().outcome.reserved);
  // Everything now lives under the new prefix, with its expiry; nothing is left under the old one but the marker
  // (read there until it expires).
  EXPECT_EQ(Redis({"ZRANGE", New("r:cap"), "0", "-1"}), "a b c");
  EXPECT_GT(std::stoll(Redis({"PTTL", New("r:cap")})), 0);
  EXPECT_EQ(Redis({"HKEYS", New("idx")}), "r:cap");
  EXPECT_EQ(Redis({"HKEYS", New("sig")}), "complaint:T1");
  EXPECT_EQ(Redis({"EXISTS", Old("r:cap"), Old("idx"), Old("sig")}), "0");
  EXPECT_EQ(Redis({"EXISTS", Old("seen:a")}), "1");
  // A redelivered legacy event is still a duplicate after the move.
  r = store->CheckAndReserve({&a, 1}, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->front().duplicate);
  EXPECT_EQ(r->front().marker, "legacy-marker");
}

TEST_F(RedisKeyUpgradeTest, ReadCustomerReadsTheLegacyLayoutWithoutWritingAndASignalMovesTheCustomer) {
  WriteLegacyCustomer();
  auto store = MakeStore();
  const CustomerRead read{.tenant = "acme",
                          .customer_id = "c1",
                          .now = clock_.Now(),
                          .families = {{.rule_id = "cap", .prefix = "r:cap", .window = absl::Hours(1)}}};
  absl::StatusOr<CustomerState> state = store->ReadCustomer(read, Deadline());
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->counters.size(), 1u);
  EXPECT_EQ(state->counters[0].used, 2);
  ASSERT_EQ(state->signals.size(), 1u);
  EXPECT_EQ(state->signals[0].field, "complaint:T1");
  EXPECT_EQ(Redis({"EXISTS", Old("r:cap"), Old("idx"), Old("sig")}), "3");  // a read writes nothing
  EXPECT_EQ(Redis({"EXISTS", New("r:cap"), New("idx"), New("sig")}), "0");

  // A signal moves the whole customer (not only its signals: a later check would not look for the rest).
  const policy::Signal csat{.tenant = "acme", .customer_id = "c1", .kind = policy::SignalKind::kCsat, .csat = 4,
                            .at = clock_.Now()};
  ASSERT_TRUE(store->PutSignal(Write(csat), clock_.Now(), Deadline()).ok());
  EXPECT_EQ(Redis({"EXISTS", Old("r:cap"), Old("idx"), Old("sig")}), "0");
  EXPECT_EQ(Redis({"ZCARD", New("r:cap")}), "2");
  EXPECT_EQ(Redis({"HLEN", New("sig")}), "2");  // the legacy complaint and the new answer
  state = store->ReadCustomer(read, Deadline());
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->counters.size(), 1u);
  EXPECT_EQ(state->counters[0].used, 2);
  EXPECT_EQ(state->signals.size(), 2u);
}

TEST_F(RedisKeyUpgradeTest, WithLegacyKeysOffTheOldLayoutIsNotRead) {
  WriteLegacyCustomer();
  auto store = MakeStore(/*legacy_keys=*/false);
  const policy::Plan plan = CapPlan(3);
  CustomerCheck a{.tenant = "acme", .customer_id = "c1", .event_id = "a", .now = clock_.Now(),
                    .spec = decision::ToCheckSpec(plan)};
  auto r = store->CheckAndReserve({&a, 1}, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->front().duplicate);
  EXPECT_EQ(r->front().outcome.usage[0].used, 0);
  EXPECT_EQ(Redis({"EXISTS", Old("r:cap"), Old("idx"), Old("sig"), Old("seen:a")}), "4");  // left to expire
}

TEST_F(RedisKeyUpgradeTest, AnIdTheLegacyLayoutCannotNameIsNotReadFromIt) {
  // "c1}x" wrote "tact:{acme:c1}x}:…", which the ids "c1" + suffix "x}:…" could have written as well.
  const int64_t now = NowMs();
  ASSERT_EQ(Redis({"ZADD", "tact:{acme:c1}x}:r:cap", absl::StrCat(now - 1000), "a"}), "1");
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(3);
  CustomerCheck b{.tenant = "acme", .customer_id = "c1}x", .event_id = "b", .now = clock_.Now(),
                    .spec = decision::ToCheckSpec(plan)};
  auto r = store->CheckAndReserve({&b, 1}, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->front().outcome.usage[0].used, 0);  // its counts start afresh
  EXPECT_EQ(Redis({"EXISTS", "tact:{acme:c1}x}:r:cap"}), "1");
}

// A rolling upgrade: an older tactd keeps writing the legacy layout after a customer was moved; what it wrote is
// merged into the new keys on the customer's next check (counts add up, later signal values win).
TEST_F(RedisKeyUpgradeTest, WhatAnOlderTactdStillWritesAfterTheMoveIsMergedOnTheNextCheck) {
  WriteLegacyCustomer();
  auto store = MakeStore();
  const policy::Plan plan = CapPlan(5);
  CustomerCheck c{.tenant = "acme", .customer_id = "c1", .event_id = "c", .now = clock_.Now(),
                    .spec = decision::ToCheckSpec(plan)};
  ASSERT_TRUE(store->CheckAndReserve({&c, 1}, Deadline()).ok());
  ASSERT_EQ(Redis({"EXISTS", Old("r:cap"), Old("idx"), Old("sig")}), "0");  // moved
  ASSERT_EQ(Redis({"SET", New("c:day:2027-01-15"), "1", "PX", "3000000"}), "OK");
  // The older tactd: one more message in the window, a calendar counter, and the complaint closed and reopened.
  const int64_t now = NowMs();
  ASSERT_EQ(Redis({"ZADD", Old("r:cap"), absl::StrCat(now - 1000), "old-1"}), "1");
  ASSERT_EQ(Redis({"PEXPIRE", Old("r:cap"), "3600000"}), "1");
  ASSERT_EQ(Redis({"SET", Old("c:day:2027-01-15"), "2", "PX", "3000000"}), "OK");
  ASSERT_EQ(Redis({"HSET", Old("idx"), "r:cap", absl::StrCat(now + 3'600'000), "c:day:2027-01-15",
                   absl::StrCat(now + 3'000'000)}),
            "2");
  ASSERT_EQ(Redis({"PEXPIRE", Old("idx"), "3600000"}), "1");
  ASSERT_EQ(Redis({"HSET", Old("sig"), "complaint:T1", absl::StrCat(now - 500, ":0")}), "1");

  CustomerCheck d = c;
  d.event_id = "d";
  auto r = store->CheckAndReserve({&d, 1}, Deadline());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->front().outcome.usage[0].used, 4);  // a, b, c and the older tactd's old-1
  EXPECT_EQ(Redis({"ZRANGE", New("r:cap"), "0", "-1"}), "a b old-1 c d");
  EXPECT_GT(std::stoll(Redis({"PTTL", New("r:cap")})), 3'000'000);
  EXPECT_EQ(Redis({"GET", New("c:day:2027-01-15")}), "3");
  EXPECT_EQ(Redis({"HGET", New("sig"), "complaint:T1"}), absl::StrCat(now - 500, ":0"));
  EXPECT_EQ(Redis({"HGET", New("idx"), "c:day:2027-01-15"}), absl::StrCat(now + 3'000'000));
  EXPECT_EQ(Redis({"EXISTS", Old("r:cap"), Old("idx"), Old("sig"), Old("c:day:2027-01-15")}), "0");
}

}  // namespace
}  // namespace tact::store
