// Store v2's decision markers against a real redis-server (check.lua): a customer's key keeps its last
// kMarkersInCustomerKey live markers (keys.h), so a returning customer's decision writes one key; a final decision
// that would make one more moves the oldest to its own key `seen:<event_id>` with the time it has left; expired
// markers are dropped when the key is written; and keys written by the version that kept one marker (first or
// last in the key) are read and rewritten. Every redelivery gets its earlier decision, whichever key holds it.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "daemon/core/clock.h"
#include "daemon/store/customer_blob.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/redis_wire.h"
#include "tests/support/stack.h"

namespace tact::store {
namespace {

using testing::RedisServer;
using testing::TempDir;

constexpr int kKeep = kMarkersInCustomerKey;

class RedisMarkersTest : public ::testing::Test {
 protected:
  RedisMarkersTest() : redis_(dir_.path()), clock_(absl::FromUnixSeconds(1'800'000'000)) {
    conn_.reset(redisConnect("127.0.0.1", redis_.port()));
    RedisSettings s;
    s.port = redis_.port();
    store_ = std::make_unique<RedisCounterStore>(s, clock_);
  }

  // One command; the reply as text (integers in decimal, nil as "nil", arrays as their elements joined by '\n').
  std::string Redis(const std::vector<std::string>& args) { return testing::RedisText(conn_.get(), args, "\n"); }
  static std::string Key(const std::string& suffix) { return KeySchema().CustomerPrefix("acme", "c1") + suffix; }
  int64_t NowMs() { return absl::ToUnixMillis(clock_.Now()); }

  // c1's key, parsed (nullopt: none).
  std::optional<CustomerBlob> Blob() {
    const std::string v = Redis({"GET", Key("s")});
    return v == "nil" ? std::nullopt : ParseCustomerBlob(v);
  }
  std::vector<std::string> MarkersInKey() {
    std::vector<std::string> out;
    std::optional<CustomerBlob> b = Blob();
    for (const CustomerBlob::Marker& m : b ? b->markers : std::vector<CustomerBlob::Marker>{}) {
      out.push_back(m.event_id);
    }
    return out;
  }
  // c1's keys of its own markers, sorted.
  std::string SeenKeys() {
    std::string keys = Redis({"KEYS", Key("seen:*")});
    std::vector<std::string> v = absl::StrSplit(keys, '\n', absl::SkipEmpty());
    std::sort(v.begin(), v.end());
    return absl::StrJoin(v, " ");
  }
  // The SETs scripts made since the last CONFIG RESETSTAT (INFO commandstats).
  int64_t Sets() {
    const std::string stats = Redis({"INFO", "commandstats"});
    const size_t at = stats.find("cmdstat_set:calls=");
    return at == std::string::npos ? 0 : std::atoll(stats.c_str() + at + std::strlen("cmdstat_set:calls="));
  }

  // Decides event `id` of c1 under a rolling cap of `cap` per week, with the marker "m-<id>"; returns the result
  // and, in *sets, the SETs the script made.
  CheckResult Decide(const std::string& id, int64_t cap = 100, int64_t* sets = nullptr) {
    CustomerCheck c{.tenant = "acme", .customer_id = "c1", .event_id = id, .now = clock_.Now(),
                    .marker = "m-" + id};
    c.spec.limits.push_back({.counter = "r:cap", .count = cap, .window = absl::Hours(24 * 7)});
    EXPECT_EQ(Redis({"CONFIG", "RESETSTAT"}), "OK");
    absl::StatusOr<std::vector<CheckResult>> r = store_->CheckAndReserve({&c, 1}, clock_.Now() + absl::Seconds(5));
    EXPECT_TRUE(r.ok()) << r.status();
    if (sets != nullptr) *sets = Sets();
    return r.ok() ? r->front() : CheckResult{};
  }
  // Every event of `ids` again: each a duplicate with its own marker and the usage it was decided with
  // (ids[i] saw `first_used + i` messages), and nothing written.
  void ExpectRedeliveriesAnswered(const std::vector<std::string>& ids, int64_t first_used) {
    for (size_t i = 0; i < ids.size(); ++i) {
      int64_t sets = -1;
      const CheckResult r = Decide(ids[i], 100, &sets);
      EXPECT_TRUE(r.duplicate) << ids[i];
      EXPECT_EQ(r.marker, "m-" + ids[i]);
      ASSERT_EQ(r.outcome.usage.size(), 1u);
      EXPECT_EQ(r.outcome.usage[0].used, first_used + static_cast<int64_t>(i)) << ids[i];
      EXPECT_EQ(sets, 0) << ids[i];
    }
  }

  TempDir dir_;
  RedisServer redis_;
  FakeClock clock_;
  RedisContextPtr conn_;
  std::unique_ptr<RedisCounterStore> store_;
};

// A returning customer's final decision is MGET + one SET while its key has room: no marker key is written, and
// each redelivery is answered from the customer's key.
TEST_F(RedisMarkersTest, TheLastMarkersStayInTheCustomersKeyWithOneSetPerDecision) {
  std::vector<std::string> ids;
  for (int i = 0; i < kKeep; ++i) {
    ids.push_back(absl::StrCat("e", i));
    int64_t sets = -1;
    EXPECT_TRUE(Decide(ids.back(), 100, &sets).outcome.reserved);
    EXPECT_EQ(sets, 1) << ids.back();
    clock_.Advance(absl::Minutes(1));
  }
  EXPECT_EQ(MarkersInKey(), ids);  // oldest first
  EXPECT_EQ(SeenKeys(), "");
  EXPECT_EQ(Redis({"DBSIZE"}), "1");
  ExpectRedeliveriesAnswered(ids, 0);
  // A decision that is not final (over the cap, and the plan defers) writes no marker.
  CustomerCheck deferred{.tenant = "acme", .customer_id = "c1", .event_id = "d", .now = clock_.Now(),
                         .marker = "m-d"};
  deferred.spec.limits.push_back(
      {.counter = "r:cap", .count = kKeep, .window = absl::Hours(24 * 7), .suppress_on_exceed = false});
  ASSERT_FALSE(store_->CheckAndReserve({&deferred, 1}, clock_.Now() + absl::Seconds(5))->front().outcome.reserved);
  EXPECT_EQ(MarkersInKey(), ids);
}

// The final decision after kMarkersInCustomerKey moves exactly the oldest marker to its own key, with the time it
// has left; its redelivery is answered from there, the others' from the customer's key.
TEST_F(RedisMarkersTest, OneMarkerMoreMovesExactlyTheOldestToItsOwnKey) {
  std::vector<std::string> ids;
  for (int i = 0; i <= kKeep; ++i) {
    ids.push_back(absl::StrCat("e", i));
    int64_t sets = -1;
    EXPECT_TRUE(Decide(ids.back(), 100, &sets).outcome.reserved);
    EXPECT_EQ(sets, i < kKeep ? 1 : 2) << ids.back();
    clock_.Advance(absl::Hours(1));
  }
  EXPECT_EQ(MarkersInKey(), std::vector<std::string>(ids.begin() + 1, ids.end()));
  EXPECT_EQ(SeenKeys(), Key("seen:e0"));
  const int64_t left = absl::ToInt64Milliseconds(kDefaultSeenTtl - absl::Hours(kKeep));  // e0 decided kKeep h ago
  EXPECT_NEAR(std::stoll(Redis({"PTTL", Key("seen:e0")})), left, 60'000);
  ExpectRedeliveriesAnswered(ids, 0);
  // More: each moves the next oldest; the key keeps kMarkersInCustomerKey.
  for (int i = 0; i < kKeep + 2; ++i) {
    const std::string id = absl::StrCat("n", i);
    EXPECT_TRUE(Decide(id).outcome.reserved);
    EXPECT_EQ(MarkersInKey().size(), static_cast<size_t>(kKeep));
    EXPECT_EQ(MarkersInKey().back(), id);
  }
  // s and the markers it does not hold: kKeep + 1 + kKeep + 2 decided, kKeep of them in s.
  EXPECT_EQ(Redis({"DBSIZE"}), absl::StrCat(1 + (kKeep + 1) + (kKeep + 2) - kKeep));
}

// Markers past their TTL are dropped when the key is written, not moved and not counted against the key's room:
// the customer's oldest marker expired, so the next decision still fits in the key (one SET) and the expired
// event is decided afresh.
TEST_F(RedisMarkersTest, ExpiredMarkersArePrunedOnWrite) {
  EXPECT_TRUE(Decide("old").outcome.reserved);
  clock_.Advance(kDefaultSeenTtl - absl::Hours(1));
  std::vector<std::string> ids;
  for (int i = 1; i < kKeep; ++i) {
    ids.push_back(absl::StrCat("e", i));
    EXPECT_TRUE(Decide(ids.back()).outcome.reserved);
  }
  EXPECT_EQ(MarkersInKey().size(), static_cast<size_t>(kKeep));
  clock_.Advance(absl::Hours(2));  // "old" has expired
  int64_t sets = -1;
  ids.push_back("new");
  EXPECT_TRUE(Decide("new", 100, &sets).outcome.reserved);
  EXPECT_EQ(sets, 1);
  EXPECT_EQ(MarkersInKey(), ids);
  EXPECT_EQ(SeenKeys(), "");
  const CheckResult again = Decide("old");
  EXPECT_FALSE(again.duplicate);
  EXPECT_TRUE(again.outcome.reserved);
}

// Keys written by store v2 before 2026-12-06 (its one marker first) and since (its one marker last): the marker is
// a duplicate; later decisions keep it in the key while it has room, then move it to its own key with its payload
// unchanged; the key is rewritten with the markers last.
TEST_F(RedisMarkersTest, AKeyWithOneMarkerFirstOrLastIsReadAndItsMarkerKept) {
  const int64_t now = NowMs();
  const std::string exp = absl::StrCat(now + 3'000'000);
  const std::string payload = "1||0:0|m-a";  // reserved, no signal checks, one limit with 0 used
  const std::string marker = absl::StrCat("m1 ", payload.size(), " ", exp, "\na", payload);
  const std::string counter = absl::StrCat("k5 ", now + 3'000'000, " ", now - 600'000, "\nr:cap");
  for (const bool first : {true, false}) {
    SCOPED_TRACE(first ? "marker first" : "marker last");
    ASSERT_EQ(Redis({"FLUSHALL"}), "OK");
    const std::string blob = first ? absl::StrCat("2 0\n", marker, counter) : absl::StrCat("2 0\n", counter, marker);
    ASSERT_EQ(Redis({"SET", Key("s"), blob, "PX", "3000000"}), "OK");
    CheckResult r = Decide("a");
    EXPECT_TRUE(r.duplicate);
    EXPECT_EQ(r.marker, "m-a");
    EXPECT_EQ(Redis({"GET", Key("s")}), blob);  // a duplicate writes nothing
    std::vector<std::string> ids;
    for (int i = 1; i <= kKeep; ++i) {
      ids.push_back(absl::StrCat("e", i));
      r = Decide(ids.back());
      EXPECT_FALSE(r.duplicate);
      EXPECT_EQ(r.outcome.usage.at(0).used, i);  // the message counted before, then these
      if (i < kKeep) {  // a's marker still in the key, before the new ones
        EXPECT_NE(Redis({"GET", Key("s")}).find(absl::StrCat("\nr:cap", marker)), std::string::npos);
      }
    }
    EXPECT_EQ(MarkersInKey(), ids);
    EXPECT_EQ(SeenKeys(), Key("seen:a"));
    EXPECT_EQ(Redis({"GET", Key("seen:a")}), payload);
    EXPECT_TRUE(absl::EndsWith(Redis({"GET", Key("s")}), "|m-" + ids.back()));
    r = Decide("a");
    EXPECT_TRUE(r.duplicate);
    EXPECT_EQ(r.marker, "m-a");
  }
}

// A key holding several markers (what a version keeping more than kMarkersInCustomerKey in the key writes: rolling
// back from one to this one): every marker is a duplicate, and the next final decision moves those the key has no
// room for to their own keys, the oldest first; none is dropped.
TEST_F(RedisMarkersTest, AKeyWithMoreMarkersThanThisVersionKeepsLosesNone) {
  const int64_t now = NowMs();
  const int kWritten = kKeep + 2;
  std::string blob = absl::StrCat("2 0\nk5 ", now + 3'000'000, " ", now - 600'000, "\nr:cap");
  std::vector<std::string> ids;
  for (int i = 0; i < kWritten; ++i) {
    ids.push_back(absl::StrCat("x", i));
    const std::string payload = absl::StrCat("1||", i, ":0|m-x", i);
    absl::StrAppend(&blob, "m2 ", payload.size(), " ", now + 3'000'000 + i, "\n", ids.back(), payload);
  }
  ASSERT_EQ(Redis({"SET", Key("s"), blob, "PX", "3000000"}), "OK");
  ExpectRedeliveriesAnswered(ids, 0);
  int64_t sets = -1;
  EXPECT_FALSE(Decide("new", 100, &sets).duplicate);
  EXPECT_EQ(sets, 1 + (kWritten + 1 - kKeep));  // the key and each marker it cannot hold
  std::vector<std::string> kept(ids.begin() + (kWritten + 1 - kKeep), ids.end());
  kept.push_back("new");
  EXPECT_EQ(MarkersInKey(), kept);
  std::vector<std::string> moved;
  for (int i = 0; i < kWritten + 1 - kKeep; ++i) moved.push_back(Key(absl::StrCat("seen:x", i)));
  EXPECT_EQ(SeenKeys(), absl::StrJoin(moved, " "));
  EXPECT_NEAR(std::stoll(Redis({"PTTL", Key("seen:x0")})), 3'000'000, 60'000);  // the time it had left
  ExpectRedeliveriesAnswered(ids, 0);
}

}  // namespace
}  // namespace tact::store
