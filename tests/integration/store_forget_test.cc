// CounterStore::ForgetCustomer (GDPR erasure, `tactctl customer forget`) against BOTH stores: the Redis store on a
// real redis-server and the in-memory store. One customer's counters, counter index, signals and decision markers
// (and, in Redis, keys of the legacy layout and keys of suffixes the store does not know yet) are removed; another
// customer's are not, not even one whose legacy prefix the first one's would match as an unescaped glob.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/decision/customer_state.h"
#include "daemon/decision/replay.h"
#include "daemon/policy/parse.h"
#include "daemon/store/in_memory_counter_store.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/stack.h"

namespace tact {
namespace {

constexpr char kPolicy[] = R"(
version: "forget-1"
rules:
  - id: complaint
    description: open complaint
    match: { message_class: PROMOTION }
    suppress_if: { open_complaint: true }
  - id: roll-1-per-1h
    description: rolling
    match: { message_class: PROMOTION }
    limit: { count: 1, window: 1h }
  - id: day-3-per-channel
    description: calendar day per channel
    match: { message_class: PROMOTION }
    limit: { count: 3, kind: calendar, window: day, scope: customer+channel }
)";

absl::Time T(const char* s) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, s, &t, &err)) << s;
  return t;
}

class StoreForgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<policy::Policy> p = policy::ParsePolicy({{"forget.yaml", kPolicy}});
    ASSERT_TRUE(p.ok()) << p.status();
    policy_ = std::make_shared<const policy::Policy>(*std::move(p));
  }

  std::string Decide(decision::Replayer& replay, const char* id, const char* customer, const char* at) {
    if (clock_ != nullptr) clock_->Set(T(at));
    Event ev{.event_id = id, .tenant = "acme", .customer_id = customer, .channel = v1::EMAIL,
             .message_class = v1::PROMOTION, .customer_timezone = "Europe/Berlin"};
    absl::StatusOr<decision::Decided> d = replay.Decide(ev, T(at));
    EXPECT_TRUE(d.ok()) << d.status();
    if (!d.ok()) return "error";
    return std::string(decision::DecisionName(d->decision().decision())) +
           (d->decision().duplicate() ? " (duplicate)" : "");
  }

  // ana and ben: one release each (counters, index, marker), ana a second message (suppressed by the rolling cap),
  // ben an open complaint (signal hash). Then forget ana; returns the keys removed.
  int64_t PopulateAndForgetAna(store::CounterStore& store) {
    decision::Replayer replay(policy_, store);
    EXPECT_EQ(Decide(replay, "a1", "ana", "2027-03-27T10:00:00Z"), "RELEASE");
    EXPECT_EQ(Decide(replay, "a2", "ana", "2027-03-27T10:01:00Z"), "SUPPRESS");
    EXPECT_EQ(Decide(replay, "b1", "ben", "2027-03-27T10:02:00Z"), "RELEASE");
    policy::Signal complaint{.tenant = "acme", .kind = policy::SignalKind::kComplaintOpened, .ref = "T1",
                             .at = T("2027-03-27T10:03:00Z")};
    for (const char* who : {"ana", "ben"}) {
      complaint.customer_id = who;
      EXPECT_TRUE(replay.PutSignal(complaint, complaint.at).ok());
    }
    if (before_forget_) before_forget_();
    absl::StatusOr<int64_t> removed =
        store.ForgetCustomer(store::CustomerPrefixes(store::KeySchema(), "acme", "ana"), T("2027-03-27T10:05:00Z"));
    EXPECT_TRUE(removed.ok()) << removed.status();
    return removed.value_or(-1);
  }

  // After the erasure: ana is a new customer (no counters, no signal, no marker: her first event is decided
  // afresh and released), ben is unchanged (his complaint still suppresses, his marker still answers).
  void ExpectAnaForgottenBenKept(store::CounterStore& store) {
    decision::Replayer replay(policy_, store);
    const std::vector<store::CounterFamily> families = decision::CounterFamilies(*policy_, "acme");
    absl::StatusOr<store::CustomerState> ana = store.ReadCustomer(
        {.tenant = "acme", .customer_id = "ana", .now = T("2027-03-27T10:06:00Z"), .families = families},
        T("2027-03-27T10:07:00Z"));
    ASSERT_TRUE(ana.ok()) << ana.status();
    EXPECT_TRUE(ana->counters.empty());
    EXPECT_TRUE(ana->signals.empty());
    absl::StatusOr<store::CustomerState> ben = store.ReadCustomer(
        {.tenant = "acme", .customer_id = "ben", .now = T("2027-03-27T10:06:00Z"), .families = families},
        T("2027-03-27T10:07:00Z"));
    ASSERT_TRUE(ben.ok()) << ben.status();
    EXPECT_EQ(ben->counters.size(), 2u);  // roll-1-per-1h and the day's EMAIL counter
    EXPECT_EQ(ben->signals.size(), 1u);
    EXPECT_EQ(Decide(replay, "b1", "ben", "2027-03-27T10:08:00Z"), "RELEASE (duplicate)");
    EXPECT_EQ(Decide(replay, "a1", "ana", "2027-03-27T10:09:00Z"), "RELEASE");  // not a duplicate any more
    EXPECT_EQ(Decide(replay, "b2", "ben", "2027-03-27T10:10:00Z"), "SUPPRESS");
  }

  std::shared_ptr<const policy::Policy> policy_;
  FakeClock* clock_ = nullptr;
  std::function<void()> before_forget_;
};

// ana's keys in store v2, the figure both stores report (the tombstone's keys_removed): her one key `s` (both
// counters, the signal and the last kMarkersInCustomerKey of her two markers) and seen:a1 when `s` keeps one.
constexpr int64_t kAnaKeys = store::kMarkersInCustomerKey > 1 ? 1 : 2;

TEST_F(StoreForgetTest, InMemoryStoreForgetsOneCustomerAndKeepsTheOther) {
  store::InMemoryCounterStore store;
  EXPECT_EQ(PopulateAndForgetAna(store), kAnaKeys);
  // Idempotent: nothing left to remove.
  auto forget_ana = [&] {
    return store.ForgetCustomer(store::CustomerPrefixes(store::KeySchema(), "acme", "ana"), absl::Now());
  };
  EXPECT_EQ(forget_ana().value_or(-1), 0);
  ExpectAnaForgottenBenKept(store);
  EXPECT_EQ(forget_ana().value_or(-1), 1);  // a1 decided afresh: her one key, as in Redis
}

class RedisForget {
 public:
  explicit RedisForget(const std::string& dir) : redis_(dir) { conn_.reset(redisConnect("127.0.0.1", redis_.port())); }
  int port() const { return redis_.port(); }
  std::string Command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    store::RedisReplyPtr r(static_cast<redisReply*>(
        redisCommandArgv(conn_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (r == nullptr) return "io error";
    if (r->type == REDIS_REPLY_INTEGER) return absl::StrCat(r->integer);
    if (r->type != REDIS_REPLY_ARRAY) return std::string(r->str == nullptr ? "" : r->str, r->len);
    std::vector<std::string> keys;
    for (size_t i = 0; i < r->elements; ++i) keys.emplace_back(r->element[i]->str, r->element[i]->len);
    std::sort(keys.begin(), keys.end());
    std::string out;
    for (const std::string& k : keys) absl::StrAppend(&out, k, "\n");
    return out;
  }

 private:
  testing::RedisServer redis_;
  std::unique_ptr<redisContext, store::RedisContextDeleter> conn_;
};

TEST_F(StoreForgetTest, RedisStoreForgetsEveryKeyWithTheCustomersPrefixes) {
  testing::TempDir dir;
  RedisForget redis(dir.path());
  store::RedisSettings settings;
  settings.port = redis.port();
  FakeClock clock(T("2027-03-27T10:00:00Z"));
  clock_ = &clock;
  store::RedisCounterStore store(settings, clock);
  const std::string ana = store::KeySchema().CustomerPrefix("acme", "ana");
  before_forget_ = [&] {
    // Keys the store does not write (yet): a suffix of a later layout, and the legacy layout of ana; and the
    // legacy keys of two customers whose prefixes an unescaped "tact:{acme:a*}:*" or "tact:{acme:a?}:*" would match.
    EXPECT_EQ(redis.Command({"SET", ana + "m:marker-of-store-v2", "1"}), "OK");
    EXPECT_EQ(redis.Command({"SET", "tact:{acme:ana}:c:old:2026-12-01", "2"}), "OK");
    EXPECT_EQ(redis.Command({"HSET", "tact:{acme:ana}:sig", "optout", "1:0"}), "1");
    EXPECT_EQ(redis.Command({"SET", "tact:{acme:a*}:c:old:2026-12-01", "1"}), "OK");
    EXPECT_EQ(redis.Command({"SET", "tact:{acme:ab}:c:old:2026-12-01", "1"}), "OK");
    EXPECT_EQ(redis.Command({"SET", "tact:{acme:anna}:c:old:2026-12-01", "1"}), "OK");
  };
  EXPECT_EQ(PopulateAndForgetAna(store), kAnaKeys + 3);  // and the three keys above
  // Nothing of ana's is left; everything else is.
  const std::string ben = store::KeySchema().CustomerPrefix("acme", "ben");
  const std::string left = redis.Command({"KEYS", "*"});
  EXPECT_EQ(left.find(ana), std::string::npos) << left;
  EXPECT_EQ(left.find("{acme:ana}"), std::string::npos) << left;
  EXPECT_NE(left.find("tact:{acme:ab}:"), std::string::npos) << left;
  EXPECT_NE(left.find("tact:{acme:anna}:"), std::string::npos) << left;
  EXPECT_EQ(redis.Command({"DBSIZE"}), "4") << left;  // ben's one key, and the three legacy customers' keys

  // A customer whose legacy prefix has glob characters: only its own keys go.
  absl::StatusOr<int64_t> star =
      store.ForgetCustomer(store::CustomerPrefixes(store::KeySchema(), "acme", "a*"), clock.Now() + absl::Seconds(5));
  ASSERT_TRUE(star.ok()) << star.status();
  EXPECT_EQ(*star, 1);
  EXPECT_EQ(redis.Command({"KEYS", "tact:{acme:a[bn]*"}),
            "tact:{acme:ab}:c:old:2026-12-01\ntact:{acme:anna}:c:old:2026-12-01\n");

  // Idempotent: nothing left to remove.
  auto forget_ana = [&] {
    return store.ForgetCustomer(store::CustomerPrefixes(store::KeySchema(), "acme", "ana"),
                                clock.Now() + absl::Seconds(5));
  };
  EXPECT_EQ(forget_ana().value_or(-1), 0);

  ExpectAnaForgottenBenKept(store);
  EXPECT_EQ(forget_ana().value_or(-1), 1);  // a1 decided afresh: her one key (its counters and marker)
  // A deadline already passed is an error, and nothing is removed.
  const absl::StatusOr<int64_t> late =
      store.ForgetCustomer(store::CustomerPrefixes(store::KeySchema(), "acme", "ben"), clock.Now());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
  EXPECT_EQ(redis.Command({"KEYS", absl::StrCat(ben, "*")}).empty(), false);
}

// The erasure's key count with more markers than the customer's key keeps (kMarkersInCustomerKey): both stores
// report its one key, plus the oldest marker's own key once one final decision more has moved it there.
TEST_F(StoreForgetTest, BothStoresCountTheMarkersTheCustomersKeyCannotHold) {
  testing::TempDir dir;
  RedisForget redis(dir.path());
  store::RedisSettings settings;
  settings.port = redis.port();
  FakeClock clock(T("2027-03-27T10:00:00Z"));
  store::RedisCounterStore redis_store(settings, clock);
  store::InMemoryCounterStore memory_store;
  const std::pair<store::CounterStore*, FakeClock*> stores[] = {{&redis_store, &clock}, {&memory_store, nullptr}};
  for (const auto& [store, store_clock] : stores) {
    SCOPED_TRACE(store_clock != nullptr ? "redis" : "in-memory");
    clock_ = store_clock;
    decision::Replayer replay(policy_, *store);
    for (const int decisions : {store::kMarkersInCustomerKey, store::kMarkersInCustomerKey + 1}) {
      const std::string customer = absl::StrCat("cara-", decisions);
      for (int i = 0; i < decisions; ++i) {  // a release, then suppressions (roll-1-per-1h): all final
        const std::string at = absl::FormatTime(absl::RFC3339_sec, T("2027-03-27T10:00:00Z") + absl::Minutes(i),
                                                absl::UTCTimeZone());
        EXPECT_EQ(Decide(replay, absl::StrCat("c", i).c_str(), customer.c_str(), at.c_str()),
                  i == 0 ? "RELEASE" : "SUPPRESS");
      }
      absl::StatusOr<int64_t> removed = store->ForgetCustomer(
          store::CustomerPrefixes(store::KeySchema(), "acme", customer), T("2027-03-27T10:30:00Z"));
      ASSERT_TRUE(removed.ok()) << removed.status();
      EXPECT_EQ(*removed, decisions > store::kMarkersInCustomerKey ? 2 : 1) << customer;
    }
  }
  clock_ = nullptr;
}

}  // namespace
}  // namespace tact
