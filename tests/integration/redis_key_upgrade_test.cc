// The upgrades from older Redis layouts against a real redis-server (legacy.lua): state written as an older tactd
// wrote it, with raw Redis commands, is honoured by the next decision, read by ReadCustomer, and moved into the
// customer's one key (store v2, keys.h) on the next check or signal. From layout v1 (a key per counter, `idx`,
// `sig`, `seen:` hashes) always; from the layout before the keyed hash tag ("tact:{<tenant>:<customer>}:") with
// redis.legacy_keys on, and not for ids that layout cannot name.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/decision/store_spec.h"
#include "daemon/policy/evaluate.h"
#include "daemon/store/customer_blob.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/redis_wire.h"
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
  std::string Redis(const std::vector<std::string>& args) { return testing::RedisText(conn_.get(), args); }

  // acme/c1's one key (store v2), parsed; nullopt when it has none.
  std::optional<CustomerBlob> Blob() {
    RedisReplyPtr r(static_cast<redisReply*>(redisCommand(conn_.get(), "GET %s", New("s").c_str())));
    if (!r || r->type != REDIS_REPLY_STRING) return std::nullopt;
    return ParseCustomerBlob(std::string_view(r->str, r->len));
  }
  // The times (rolling) or count (calendar, as one element) of acme/c1's counter `suffix` in its one key.
  std::vector<int64_t> Counter(const std::string& suffix) {
    std::optional<CustomerBlob> b = Blob();
    for (const CustomerBlob::Counter& c : b ? b->counters : std::vector<CustomerBlob::Counter>{}) {
      if (c.suffix == suffix) return c.rolling() ? c.times : std::vector<int64_t>{c.count};
    }
    return {};
  }
  std::vector<std::string> SignalFields() {
    std::vector<std::string> out;
    std::optional<CustomerBlob> b = Blob();
    for (const CustomerBlob::Signal& g : b ? b->signals : std::vector<CustomerBlob::Signal>{}) out.push_back(g.field);
    return out;
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
  // Everything now lives in the customer's one key, with its expiry; nothing is left under the old prefix but the
  // marker (read there until it expires), and nothing in layout v1.
  const int64_t now = NowMs();
  EXPECT_EQ(Counter("r:cap"), (std::vector<int64_t>{now - 1'200'000, now - 600'000, now}));
  EXPECT_EQ(Redis({"PTTL", New("s")}), "-1");  // kept while its complaint is open
  EXPECT_EQ(SignalFields(), std::vector<std::string>{"complaint:T1"});
  EXPECT_EQ(Redis({"EXISTS", Old("r:cap"), Old("idx"), Old("sig"), New("r:cap"), New("idx"), New("sig")}), "0");
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
  EXPECT_EQ(Redis({"EXISTS", New("r:cap"), New("idx"), New("sig"), New("s")}), "0");

  // A signal moves the whole customer (not only its signals: a later check would not look for the rest).
  const policy::Signal csat{.tenant = "acme", .customer_id = "c1", .kind = policy::SignalKind::kCsat, .csat = 4,
                            .at = clock_.Now()};
  ASSERT_TRUE(store->PutSignal(Write(csat), clock_.Now(), Deadline()).ok());
  EXPECT_EQ(Redis({"EXISTS", Old("r:cap"), Old("idx"), Old("sig")}), "0");
  EXPECT_EQ(Counter("r:cap").size(), 2u);
  EXPECT_EQ(SignalFields().size(), 2u);  // the legacy complaint and the new answer
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
  // An older tactd of layout v1 counts one message in the period...
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
  EXPECT_EQ(Counter("r:cap"), (std::vector<int64_t>{now - 1'200'000, now - 600'000, now - 1000, now, now}));
  EXPECT_EQ(Counter("c:day:2027-01-15"), std::vector<int64_t>{3});
  std::optional<CustomerBlob> blob = Blob();
  ASSERT_TRUE(blob.has_value());
  for (const CustomerBlob::Counter& k : blob->counters) {
    if (k.suffix == "c:day:2027-01-15") {
      EXPECT_EQ(k.empty_at_ms, now + 3'000'000);
    } else {
      EXPECT_EQ(k.empty_at_ms, now + 3'600'000) << k.suffix;
    }
  }
  ASSERT_EQ(blob->signals.size(), 1u);
  EXPECT_EQ(blob->signals[0].at_ms, now - 500);  // the later value
  EXPECT_EQ(Redis({"EXISTS", Old("r:cap"), Old("idx"), Old("sig"), Old("c:day:2027-01-15"), New("r:cap"),
                   New("idx"), New("sig"), New("c:day:2027-01-15")}),
            "0");
}

// Layout v1 (the layout before store v2): what a tactd of the previous version left under the customer's prefix,
// a rolling window and a calendar counter listed in the index, a signal, and decision markers in both formats it
// wrote, is honoured by the next decisions and moved into the customer's one key; a marker of v1 is still found
// after the move, while the customer's key says the older layout is looked at (the marker TTL), and not after.
TEST_F(RedisKeyUpgradeTest, V1CountersSignalsAndMarkersAreHonouredAndMovedIntoTheCustomersKey) {
  const int64_t now = NowMs();
  const std::string day = "c:day:2027-01-15";
  ASSERT_EQ(Redis({"ZADD", New("r:cap"), absl::StrCat(now - 1'200'000), "a", absl::StrCat(now - 600'000), "b"}), "2");
  ASSERT_EQ(Redis({"PEXPIRE", New("r:cap"), "3000000"}), "1");
  ASSERT_EQ(Redis({"SET", New(day), "2", "PX", "5000000"}), "OK");
  ASSERT_EQ(Redis({"HSET", New("idx"), "r:cap", absl::StrCat(now + 3'000'000), day, absl::StrCat(now + 5'000'000)}),
            "2");
  ASSERT_EQ(Redis({"HSET", New("seen:a"), "o", "1||1:0,1:0", "m", "v1-hash-marker"}), "2");
  ASSERT_EQ(Redis({"SET", New("seen:b"), "1||2:0,2:0|v1-string-marker", "PX", "3000000"}), "OK");
  ASSERT_EQ(Redis({"HSET", New("sig"), "complaint:T1", absl::StrCat(now - 60'000, ":0")}), "1");
  auto store = MakeStore(/*legacy_keys=*/false);
  policy::Plan plan = CapPlan(3);
  plan.matched_rules.push_back("day");
  plan.limits.push_back({.rule_id = "day", .counter = day, .count = 5, .kind = policy::WindowKind::kCalendar,
                         .period_end = clock_.Now() + absl::Milliseconds(5'000'000)});
  auto decide = [&](const std::string& id) {
    CustomerCheck c{.tenant = "acme", .customer_id = "c1", .event_id = id, .now = clock_.Now(),
                    .spec = decision::ToCheckSpec(plan), .marker = "v2"};
    auto r = store->CheckAndReserve({&c, 1}, Deadline());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->front() : CheckResult{};
  };
  CheckResult r = decide("a");  // v1's hash marker
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.marker, "v1-hash-marker");
  r = decide("c");
  EXPECT_FALSE(r.duplicate);
  ASSERT_EQ(r.outcome.usage.size(), 2u);
  EXPECT_EQ(r.outcome.usage[0].used, 2);
  EXPECT_EQ(r.outcome.usage[1].used, 2);
  EXPECT_TRUE(r.outcome.reserved);
  // Moved: v1's counters, index and signal hash are gone (its markers stay until they expire).
  EXPECT_EQ(Redis({"EXISTS", New("r:cap"), New(day), New("idx"), New("sig")}), "0");
  EXPECT_EQ(Counter("r:cap"), (std::vector<int64_t>{now - 1'200'000, now - 600'000, now}));
  EXPECT_EQ(Counter(day), std::vector<int64_t>{3});
  EXPECT_EQ(SignalFields(), std::vector<std::string>{"complaint:T1"});
  std::optional<CustomerBlob> blob = Blob();
  ASSERT_TRUE(blob.has_value());
  EXPECT_EQ(blob->old_until_ms, now + absl::ToInt64Milliseconds(kDefaultSeenTtl));
  r = decide("d");
  EXPECT_EQ(r.outcome.usage[0].used, 3);
  EXPECT_FALSE(r.outcome.reserved);
  for (const char* id : {"a", "b", "c"}) {  // v1's markers in both formats, and the one v2 wrote
    r = decide(id);
    EXPECT_TRUE(r.duplicate) << id;
    EXPECT_EQ(r.marker, std::string(id) == "a" ? "v1-hash-marker" : std::string(id) == "b" ? "v1-string-marker" : "v2")
        << id;
  }
  const CustomerRead read{.tenant = "acme",
                          .customer_id = "c1",
                          .now = clock_.Now(),
                          .families = {{.rule_id = "cap", .prefix = "r:cap", .window = absl::Hours(1)}}};
  absl::StatusOr<CustomerState> state = store->ReadCustomer(read, Deadline());
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->counters.size(), 1u);
  EXPECT_EQ(state->counters[0].used, 3);
  EXPECT_EQ(state->counters[0].frees_at, clock_.Now() - absl::Milliseconds(1'200'000) + absl::Hours(1));
  ASSERT_EQ(state->signals.size(), 1u);

  // Once the marker TTL has passed since the move, the older layout is not looked at any more: a v1 marker
  // written now (an older tactd, much later) is not seen, and the check makes no EXISTS call.
  clock_.Advance(kDefaultSeenTtl + absl::Minutes(1));
  ASSERT_EQ(Redis({"HSET", New("seen:e"), "o", "1||", "m", "late"}), "2");
  ASSERT_EQ(Redis({"CONFIG", "RESETSTAT"}), "OK");
  r = decide("e");
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(Redis({"INFO", "commandstats"}).find("cmdstat_exists:"), std::string::npos);
}

// Store v2 as the version before 2026-12-06 wrote it (its latest marker first, then its signals and counters; this
// version writes the marker last): the marker is still a duplicate, counts and signals are honoured, the marker
// moves to its own key when a later final decision replaces it, and the key is rewritten with the new marker last.
TEST_F(RedisKeyUpgradeTest, AKeyWrittenWithTheMarkerFirstIsReadAndRewrittenWithItLast) {
  const int64_t now = NowMs();
  const std::string exp = absl::StrCat(now + 3'000'000);
  const std::string payload = "1|0:-1|0:0|earlier-marker";
  const std::string field = "complaint:T1";
  const std::string blob = absl::StrCat(
      "2 0\n", "m1 ", payload.size(), " ", exp, "\n", "a", payload,  // event a, decided and counted before
      "g", field.size(), " ", now - 120'000, " 0\n", field,             // an open complaint
      "k5 ", now + 3'000'000, " ", now - 600'000, "\nr:cap");          // a, counted 10 minutes ago
  ASSERT_EQ(Redis({"SET", New("s"), blob, "PX", "3000000"}), "OK");
  auto store = MakeStore(/*legacy_keys=*/false);
  const std::vector<std::string> complaint = {"complaint:*"};
  auto decide = [&](const std::string& id, bool with_signal) {
    policy::Plan plan = CapPlan(2);
    if (with_signal) plan.signals.push_back({.rule_id = "complaint", .fields = complaint});
    CustomerCheck c{.tenant = "acme", .customer_id = "c1", .event_id = id, .now = clock_.Now(),
                    .spec = decision::ToCheckSpec(plan), .marker = "new-marker"};
    auto r = store->CheckAndReserve({&c, 1}, Deadline());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->front() : CheckResult{};
  };
  CheckResult r = decide("a", false);
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.marker, "earlier-marker");
  EXPECT_EQ(Redis({"GET", New("s")}), blob);  // a duplicate writes nothing
  r = decide("b", true);  // the complaint holds: suppressed, final
  EXPECT_FALSE(r.duplicate);
  ASSERT_EQ(r.outcome.signals.size(), 1u);
  EXPECT_TRUE(r.outcome.signals[0].hit);
  ASSERT_EQ(r.outcome.usage.size(), 1u);
  EXPECT_EQ(r.outcome.usage[0].used, 1);
  EXPECT_FALSE(r.outcome.reserved);
  const std::string rewritten = Redis({"GET", New("s")});
  EXPECT_TRUE(absl::EndsWith(rewritten, "|new-marker")) << rewritten;  // b's marker, last
  if (kMarkersInCustomerKey > 1) {  // a's marker stays in the key, now behind the counter (markers go last)
    const size_t a_at = rewritten.find("earlier-marker");
    ASSERT_NE(a_at, std::string::npos) << rewritten;
    EXPECT_GT(a_at, rewritten.find("r:cap")) << rewritten;
    EXPECT_EQ(Redis({"EXISTS", New("seen:a")}), "0");
  }
  r = decide("c", false);  // without the signal check: counted
  EXPECT_EQ(r.outcome.usage[0].used, 1);
  EXPECT_TRUE(r.outcome.reserved);
  // The key has no room for a's marker by now (it keeps kMarkersInCustomerKey): it moved to its own key.
  static_assert(kMarkersInCustomerKey <= 2);
  EXPECT_EQ(Redis({"GET", New("seen:a")}), payload);
  EXPECT_EQ(Redis({"GET", New("s")}).find("earlier-marker"), std::string::npos);
  EXPECT_EQ(Counter("r:cap"), (std::vector<int64_t>{now - 600'000, now}));
  EXPECT_EQ(SignalFields(), std::vector<std::string>{field});
  for (const char* id : {"a", "b", "c"}) {
    r = decide(id, false);
    EXPECT_TRUE(r.duplicate) << id;
    EXPECT_EQ(r.marker, std::string(id) == "a" ? "earlier-marker" : "new-marker") << id;
  }
}

}  // namespace
}  // namespace tact::store
