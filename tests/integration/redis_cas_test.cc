// redis.checks compare_and_set (tactd decides on the customer's key and writes it back only if unchanged) against
// redis.checks script (check.lua decides in Redis), each on its own redis-server: the same seeded random steps
// (checks of new and returning customers, batches with one customer several times, redeliveries, dry runs, signals,
// holds, rolling and calendar limits, markers moving out, counters and markers expiring) give the same results and
// leave the same bytes in every key. And the compare-and-set itself: a key changed since tactd read it is not
// written, and the customer is decided again by check.lua.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <map>
#include <set>
#include <utility>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/store/check_lua.h"
#include "daemon/store/customer_blob.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/stack.h"

namespace tact::store {
namespace {

using testing::RedisServer;
using testing::TempDir;

// One command on a connection to `port` kept for the test.
RedisReplyPtr Command(int port, const std::vector<std::string>& args) {
  static std::map<int, RedisContextPtr>* connections = new std::map<int, RedisContextPtr>();
  RedisContextPtr& c = (*connections)[port];
  if (c == nullptr || c->err != 0) c.reset(redisConnect("127.0.0.1", port));
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return RedisReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
}

// Every key matching `pattern`: its value, and its ttl in ms (-1: none).
std::map<std::string, std::pair<std::string, long long>> Keys(int port, const std::string& pattern) {
  RedisReplyPtr keys = Command(port, {"KEYS", pattern});
  std::map<std::string, std::pair<std::string, long long>> out;
  for (size_t i = 0; i < keys->elements; ++i) {
    const std::string key(keys->element[i]->str, keys->element[i]->len);
    RedisReplyPtr v = Command(port, {"GET", key});
    out[key] = {v->type == REDIS_REPLY_STRING ? std::string(v->str, v->len) : "<not a string>",
                Command(port, {"PTTL", key})->integer};
  }
  return out;
}

// The keys of both servers hold the same bytes and expire alike: an expiry is set relative to each server's clock
// when written (the two writes are a few ms apart), so ttls may differ by that much.
void ExpectSameKeys(int a, int b, const std::string& pattern) {
  const auto x = Keys(a, pattern);
  const auto y = Keys(b, pattern);
  ASSERT_EQ(x.size(), y.size());
  for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
    ASSERT_EQ(i->first, j->first);
    ASSERT_EQ(i->second.first, j->second.first) << i->first;
    ASSERT_EQ(i->second.second < 0, j->second.second < 0) << i->first;
    ASSERT_NEAR(i->second.second, j->second.second, 5'000) << i->first;
  }
}

std::string Show(const absl::StatusOr<std::vector<CheckResult>>& r) {
  if (!r.ok()) return r.status().ToString();
  std::string text;
  for (const CheckResult& c : *r) {
    absl::StrAppend(&text, c.status.ok() ? "" : c.status.ToString(), c.duplicate ? "dup " : "", c.marker, " r",
                    c.outcome.reserved ? 1 : 0);
    for (const SignalResult& s : c.outcome.signals) {
      absl::StrAppend(&text, " s", s.hit ? 1 : 0, ":", absl::FormatTime(s.until), ":", s.field, ":",
                      absl::FormatTime(s.at));
    }
    for (const LimitUsage& u : c.outcome.usage) absl::StrAppend(&text, " u", u.used, ":", absl::FormatTime(u.frees_at));
    text += "\n";
  }
  return text;
}

// The specs the steps draw from (their views borrow these).
struct Specs {
  std::vector<std::string> complaint = {"complaint:*"};
  std::vector<std::string> csat = {"csat:1", "csat:2"};
  std::vector<std::string> counters = {"r:day", "r:week:email", "c:month:2027-03", "r:hour"};
  std::vector<CheckSpec> all;

  explicit Specs(absl::Time now) {
    auto rolling = [&](int i, int64_t count, absl::Duration window, bool decisive = true, bool suppress = true) {
      return LimitSpec{.counter = counters[i], .count = count, .kind = WindowKind::kRolling, .window = window,
                       .decisive = decisive, .suppress_on_exceed = suppress};
    };
    const LimitSpec month{.counter = counters[2], .count = 3, .kind = WindowKind::kCalendar,
                          .period_end = now + absl::Hours(24 * 20), .decisive = true, .suppress_on_exceed = false};
    const SignalSpec complaints{.fields = complaint, .since = now - absl::Hours(24 * 30)};
    const SignalSpec unhappy{.fields = csat, .hold = absl::Hours(2), .decisive = false};
    CheckSpec promo;
    promo.signals = {complaints, unhappy};
    promo.limits = {rolling(0, 1, absl::Hours(6)), rolling(1, 3, absl::Hours(24 * 7), true, false), month};
    all.push_back(promo);
    CheckSpec service;
    service.limits = {rolling(3, 2, absl::Hours(1), true, false), rolling(1, 3, absl::Hours(24 * 7), false)};
    all.push_back(service);
    CheckSpec quiet = promo;
    quiet.hold = Hold::kDefer;
    all.push_back(quiet);
    CheckSpec quiet_suppress = service;
    quiet_suppress.hold = Hold::kSuppress;
    all.push_back(quiet_suppress);
    CheckSpec signals_only;
    signals_only.signals = {complaints};
    all.push_back(signals_only);
  }
};

// The older layouts looked in or not; and when not, whether a call's customers are guessed new (RedisSettings::Guess).
struct CasParam {
  bool older_layouts;
  RedisSettings::Guess guess;
  const char* name;
};
void PrintTo(const CasParam& p, std::ostream* os) { *os << p.name; }

class RedisCasTest : public ::testing::TestWithParam<CasParam> {
 protected:
  RedisCasTest() : cas_redis_(dir_.path() + "/cas"), script_redis_(dir_.path() + "/script"),
                   clock_(absl::FromUnixSeconds(1'806'000'000)) {}

  std::unique_ptr<RedisCounterStore> Store(int port, RedisSettings::Checks checks) {
    RedisSettings s;
    s.port = port;
    s.checks = checks;
    s.older_layouts = GetParam().older_layouts;
    s.guess_new = GetParam().guess;
    s.seen_ttl = absl::Hours(3);  // markers expire within the steps
    s.stats = &stats_;
    return std::make_unique<RedisCounterStore>(s, clock_);
  }

  TempDir dir_;
  RedisServer cas_redis_;
  RedisServer script_redis_;
  FakeClock clock_;
  prometheus::Registry registry_;
  StoreStats stats_{registry_};
};

TEST_P(RedisCasTest, DecidingInTactdGivesCheckLuasResultsAndBytes) {
  auto cas = Store(cas_redis_.port(), RedisSettings::Checks::kCompareAndSet);
  auto script = Store(script_redis_.port(), RedisSettings::Checks::kScript);
  const absl::Time start = clock_.Now();
  const Specs specs(start);
  std::mt19937 rng(20261207);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> customers = {"ana", "ben", "cy", "dee"};
  const std::vector<std::string> fields = {"complaint:T-1", "complaint:T-2", "csat:1", "csat:2", "csat:5"};
  int event = 0;
  int duplicates = 0;
  int reserved = 0;
  std::set<std::string> v1_written;  // customers an "older tactd" wrote layout v1 state for, not yet moved
  int v1_moved = 0;
  for (int step = 0; step < 600; ++step) {
    SCOPED_TRACE(absl::StrCat("step ", step));
    const int kind = pick(20);
    if (kind == 0) {
      clock_.Advance(absl::Hours(pick(30)));  // counters leave their windows, markers expire
    } else if (kind == 1) {
      clock_.Advance(absl::Minutes(pick(90)));
    }
    if (kind == 2 || kind == 3) {
      const SignalWrite w{.tenant = "acme", .customer_id = customers[pick(4)], .field = fields[pick(5)],
                          .remove = kind == 3 && pick(2) == 0,
                          .at_ms = absl::ToUnixMillis(clock_.Now()),
                          .expires_ms = pick(3) == 0 ? 0 : absl::ToUnixMillis(clock_.Now() + absl::Hours(1 + pick(48)))};
      ASSERT_TRUE(cas->PutSignal(w, clock_.Now(), clock_.Now() + absl::Seconds(5)).ok());
      ASSERT_TRUE(script->PutSignal(w, clock_.Now(), clock_.Now() + absl::Seconds(5)).ok());
      continue;
    }
    if (kind == 4) {  // an older tactd (layout v1) counts a message and a signal for a customer without a store-v2
                      // key (it expired), on both servers
      const std::string prefix = KeySchema().CustomerPrefix("acme", customers[static_cast<size_t>(pick(4))]);
      const std::string month_end = absl::StrCat(absl::ToUnixMillis(start + absl::Hours(24 * 20)));
      const std::string signal = fields[static_cast<size_t>(pick(5))];
      const std::string now_ms = absl::StrCat(absl::ToUnixMillis(clock_.Now()));
      for (const int port : {cas_redis_.port(), script_redis_.port()}) {
        Command(port, {"DEL", CustomerKey(prefix)});
        Command(port, {"HSET", IndexKey(prefix), specs.counters[2], month_end});
        Command(port, {"INCR", prefix + specs.counters[2]});
        Command(port, {"PEXPIREAT", prefix + specs.counters[2], month_end});
        Command(port, {"HSET", SignalsKey(prefix), signal, now_ms + ":0"});
      }
      v1_written.insert(prefix);
      continue;
    }
    std::vector<CustomerCheck> checks;
    const int n = 1 + (pick(3) == 0 ? pick(6) : 0);
    for (int i = 0; i < n; ++i) {
      // a fifth are redeliveries of a recent event (of the same customer: an event id is the customer's)
      const int id = pick(5) == 0 && event > 0 ? std::max(0, event - 1 - pick(8)) : event++;
      checks.push_back({.tenant = "acme",
                        .customer_id = customers[static_cast<size_t>(id) % customers.size()],
                        .event_id = absl::StrCat("e", id),
                        .now = clock_.Now(),
                        .spec = specs.all[static_cast<size_t>(pick(static_cast<int>(specs.all.size())))],
                        .dry_run = pick(8) == 0,
                        .marker = absl::StrCat("marker-", id, std::string(static_cast<size_t>(pick(3) * 40), 'x'))});
    }
    if (n > 1 && step % 3 == 0) {  // with a customer neither store knows (guessed new beside known ones)
      checks.push_back({.tenant = "acme", .customer_id = absl::StrCat("fresh-", step),
                        .event_id = absl::StrCat("f", step), .now = clock_.Now(), .spec = specs.all[0],
                        .marker = absl::StrCat("marker-f", step)});
    }
    const auto got = cas->CheckAndReserve(checks, clock_.Now() + absl::Seconds(5));
    const auto want = script->CheckAndReserve(checks, clock_.Now() + absl::Seconds(5));
    ASSERT_EQ(Show(got), Show(want));
    // the customers' keys at every step, every key (their moved markers too) every 20 steps
    ExpectSameKeys(cas_redis_.port(), script_redis_.port(), step % 20 == 19 ? "*" : "tact:{*}:s");
    if (HasFatalFailure()) return;
    for (auto it = v1_written.begin(); it != v1_written.end();) {  // moved into store v2 by a check (index gone)
      const bool moved = Command(cas_redis_.port(), {"EXISTS", IndexKey(*it)})->integer == 0;
      v1_moved += moved ? 1 : 0;
      it = moved ? v1_written.erase(it) : std::next(it);
    }
    for (const CheckResult& r : *got) {
      duplicates += r.duplicate ? 1 : 0;
      reserved += r.outcome.reserved ? 1 : 0;
    }
  }
  // The steps reached what they are for.
  EXPECT_GT(duplicates, 20);
  EXPECT_GT(reserved, 20);
  if (GetParam().older_layouts) {
    EXPECT_GT(v1_moved, 3);  // looked in: customers found in layout v1 and moved
  }
}

// A call's customers are decided as new and their keys created in the read's round-trip (a call of one customer
// always, unless guess_new is kNever). A customer whose key is gone (deleted by hand, evicted) while a marker of the
// redelivered event lives in its own key: the create is taken back, and the redelivery is a duplicate with its
// earlier decision, as check.lua decides it, the same keys after; alone, and beside a new customer.
TEST_P(RedisCasTest, AKeyGoneWhileTheEventsMovedMarkerLivesTakesTheNewGuessBack) {
  auto cas = Store(cas_redis_.port(), RedisSettings::Checks::kCompareAndSet);
  auto script = Store(script_redis_.port(), RedisSettings::Checks::kScript);
  const Specs specs(clock_.Now());
  auto check = [&](int id) {
    return CustomerCheck{.tenant = "acme", .customer_id = "ana", .event_id = absl::StrCat("e", id),
                         .now = clock_.Now(), .spec = specs.all[4], .marker = absl::StrCat("marker-", id)};
  };
  auto both_checks = [&](const std::vector<CustomerCheck>& c) {
    const auto got = cas->CheckAndReserve(c, clock_.Now() + absl::Seconds(5));
    EXPECT_EQ(Show(got), Show(script->CheckAndReserve(c, clock_.Now() + absl::Seconds(5))));
    return got;
  };
  auto both = [&](int id) { return both_checks({check(id)}); };
  for (int id = 0; id <= kMarkersInCustomerKey; ++id) {  // e0's marker moves out of the key
    clock_.Advance(absl::Minutes(1));
    ASSERT_TRUE(both(id).ok());
  }
  const std::string prefix = KeySchema().CustomerPrefix("acme", "ana");
  ASSERT_EQ(Command(cas_redis_.port(), {"EXISTS", SeenKey(prefix, "e0")})->integer, 1)
      << ::testing::PrintToString(Keys(cas_redis_.port(), "*"));
  for (const int port : {cas_redis_.port(), script_redis_.port()}) Command(port, {"DEL", CustomerKey(prefix)});
  clock_.Advance(absl::Minutes(1));
  const auto again = both(0);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0].duplicate);
  ExpectSameKeys(cas_redis_.port(), script_redis_.port(), "*");
  // The same in a call of several customers, beside a new one (whose guess stands, when guessed)
  for (const int port : {cas_redis_.port(), script_redis_.port()}) Command(port, {"DEL", CustomerKey(prefix)});
  clock_.Advance(absl::Minutes(1));
  CustomerCheck ben = check(100);
  ben.customer_id = "ben";
  const auto with_ben = both_checks({check(0), ben});
  ASSERT_TRUE(with_ben.ok());
  EXPECT_TRUE((*with_ben)[0].duplicate);
  EXPECT_FALSE((*with_ben)[1].duplicate);
  EXPECT_TRUE((*with_ben)[1].outcome.reserved);
  ExpectSameKeys(cas_redis_.port(), script_redis_.port(), "*");
  // ana is known (its key was gone alone, too few to forget): guessed, and taken back, only when every customer is
  const bool always = GetParam().guess == RedisSettings::Guess::kAlways && !GetParam().older_layouts;
  EXPECT_EQ(stats_.redis_guessed_total.With({"taken_back"}).Value(), always ? 2 : 0);
}

// cas.lua writes a key only if it holds what was read: a stale read writes nothing (neither the key nor the markers
// that decision moved out).
TEST_P(RedisCasTest, CasLuaWritesNothingForAKeyChangedSinceItWasRead) {
  const int port = cas_redis_.port();
  ASSERT_EQ(Command(port, {"SET", "tact:{x}:s", "2 0\nnow"})->type, REDIS_REPLY_STATUS);
  auto cas = [&](const std::string& read) {
    RedisReplyPtr r = Command(port, {"EVAL", std::string(kCasLua), "2", "tact:{x}:s", "tact:{x}:seen:e1", "1", "1",
                                     read, "S", "2 0\nnew", "60000", "0|||m", "60000"});
    return r->type == REDIS_REPLY_ARRAY && r->elements == 1 ? r->element[0]->integer : -1;
  };
  EXPECT_EQ(cas("2 0\nthen"), 0);
  EXPECT_EQ(cas(""), 0);  // read as no key
  EXPECT_EQ(Command(port, {"GET", "tact:{x}:s"})->str, std::string("2 0\nnow"));
  EXPECT_EQ(Command(port, {"EXISTS", "tact:{x}:seen:e1"})->integer, 0);
  EXPECT_EQ(cas("2 0\nnow"), 1);
  EXPECT_EQ(Command(port, {"GET", "tact:{x}:s"})->str, std::string("2 0\nnew"));
  EXPECT_EQ(Command(port, {"GET", "tact:{x}:seen:e1"})->str, std::string("0|||m"));
}

// Many tactd threads deciding one customer at once: every conflict is decided again, so the cap holds exactly and
// every event is counted at most once.
TEST_P(RedisCasTest, ACapHoldsWhenEveryCheckRacesForOneCustomer) {
  RedisSettings s;
  s.port = cas_redis_.port();
  s.older_layouts = GetParam().older_layouts;
  s.guess_new = GetParam().guess;
  s.pool_size = 8;
  RedisCounterStore a(s, clock_);
  RedisCounterStore b(s, clock_);  // a second instance
  CheckSpec spec;
  spec.limits.push_back({.counter = "r:cap", .count = 40, .kind = WindowKind::kRolling, .window = absl::Hours(24)});
  std::atomic<int> released{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      RedisCounterStore& store = t % 2 == 0 ? a : b;
      for (int i = 0; i < 100; ++i) {
        // each event twice, the second time as a redelivery from another thread's view; every fourth call with a
        // customer of the thread's own (two customers: MULTI/EXEC, which a write to the hot key aborts whole)
        std::vector<CustomerCheck> c = {{.tenant = "acme", .customer_id = "hot",
                                         .event_id = absl::StrCat("e", (t / 2) * 100 + i), .now = clock_.Now(),
                                         .spec = spec, .marker = "m"}};
        if (i % 4 == 1) {
          c.push_back({.tenant = "acme", .customer_id = absl::StrCat("own-", t), .event_id = absl::StrCat("o", i),
                       .now = clock_.Now(), .spec = spec, .marker = "m"});
        }
        auto r = store.CheckAndReserve(c, clock_.Now() + absl::Seconds(30));
        if (!r.ok()) {
          ++errors;
          continue;
        }
        if (r->front().outcome.reserved && !r->front().duplicate) ++released;
        if (c.size() == 2 && !(*r)[1].outcome.reserved) ++errors;  // its own customer's 25 fit under the cap
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(released.load(), 40);
  RedisReplyPtr v = Command(cas_redis_.port(), {"GET", CustomerKey(KeySchema().CustomerPrefix("acme", "hot"))});
  ASSERT_EQ(v->type, REDIS_REPLY_STRING);
  std::optional<CustomerBlob> blob = ParseCustomerBlob(std::string_view(v->str, v->len));
  ASSERT_TRUE(blob.has_value());
  ASSERT_EQ(blob->counters.size(), 1u);
  EXPECT_EQ(blob->counters[0].times.size(), 40u);
}

// A Redis refusing WATCH (an ACL without it) fails a call of customers tactd knows (it WATCHes their keys) as
// UNAVAILABLE naming the refusal, and the connection stays in step: the next calls on it (customers it does not know:
// guessed new, no WATCH) are answered right, and once WATCH is allowed again so are known ones.
TEST(RedisCasAclTest, ARefusedWatchIsUnavailableAndTheConnectionStaysInStep) {
  TempDir dir;
  RedisServer redis(dir.path(), testing::RedisServerOptions{.requirepass = "admin-pass", .acl_user = "tact",
                                                            .acl_password = "tact-pass"});
  auto admin = [&](const std::string& rule) {
    RedisContextPtr c(redisConnect("127.0.0.1", redis.port()));
    RedisReplyPtr(static_cast<redisReply*>(redisCommand(c.get(), "AUTH admin-pass")));
    RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c.get(), "ACL SETUSER tact %s", rule.c_str())));
    return r != nullptr && r->type == REDIS_REPLY_STATUS;
  };
  ASSERT_TRUE(admin("-watch"));
  FakeClock clock(absl::FromUnixSeconds(1'806'000'000));
  RedisSettings s;
  s.port = redis.port();
  s.pool_size = 1;  // every call on the same connection
  s.older_layouts = false;
  s.auth = {.username = "tact", .password = "tact-pass"};
  RedisCounterStore store(s, clock);
  CheckSpec spec;
  spec.limits.push_back({.counter = "r:cap", .count = 1, .kind = WindowKind::kRolling, .window = absl::Hours(24)});
  auto check = [&](const std::string& customer, const std::string& event) {
    return CustomerCheck{.tenant = "acme", .customer_id = customer, .event_id = event, .now = clock.Now(),
                         .spec = spec, .marker = "m"};
  };
  auto released_alone = [&](const std::string& customer, const std::string& event) {
    const CustomerCheck one = check(customer, event);
    const auto got = store.CheckAndReserve({&one, 1}, clock.Now() + absl::Seconds(5));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(got->front().outcome.reserved) << customer;
    EXPECT_FALSE(got->front().duplicate) << customer;
  };
  released_alone("a", "a1");  // not known yet: guessed new, no WATCH
  released_alone("b", "b1");
  const std::vector<CustomerCheck> both = {check("a", "a1"), check("b", "b1")};
  const auto refused = store.CheckAndReserve(both, clock.Now() + absl::Seconds(5));  // known now: WATCHed
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("NOPERM"), std::string::npos) << refused.status();
  released_alone("c", "c1");  // the connection in step
  ASSERT_TRUE(admin("+watch"));
  const auto again = store.CheckAndReserve(both, clock.Now() + absl::Seconds(5));  // the same events: duplicates
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_TRUE((*again)[1].duplicate);
}

// A Redis refusing MULTI or EXEC (an ACL without them) is refused at connect, naming what is missing and the
// setting: compare_and_set's SETs sent after a refused MULTI would run at once, without the compare. With
// redis.checks script the same Redis decides.
TEST(RedisCasAclTest, ARedisWithoutTransactionsIsRefusedAtConnectNamingTheSetting) {
  TempDir dir;
  RedisServer redis(dir.path(), testing::RedisServerOptions{.requirepass = "admin-pass", .acl_user = "tact",
                                                            .acl_password = "tact-pass"});
  FakeClock clock(absl::FromUnixSeconds(1'806'000'000));
  CheckSpec spec;
  spec.limits.push_back({.counter = "r:cap", .count = 1, .kind = WindowKind::kRolling, .window = absl::Hours(24)});
  const CustomerCheck one{.tenant = "acme", .customer_id = "a", .event_id = "a1", .now = clock.Now(), .spec = spec,
                          .marker = "m"};
  for (const char* rule : {"-exec", "-multi"}) {
    SCOPED_TRACE(rule);
    RedisContextPtr c(redisConnect("127.0.0.1", redis.port()));
    RedisReplyPtr(static_cast<redisReply*>(redisCommand(c.get(), "AUTH admin-pass")));
    RedisReplyPtr(static_cast<redisReply*>(redisCommand(c.get(), "ACL SETUSER tact +@all %s", rule)));
    for (const RedisSettings::Checks checks : {RedisSettings::Checks::kCompareAndSet, RedisSettings::Checks::kScript}) {
      RedisSettings s;
      s.port = redis.port();
      s.checks = checks;
      s.auth = {.username = "tact", .password = "tact-pass"};
      RedisCounterStore store(s, clock);
      const auto got = store.CheckAndReserve({&one, 1}, clock.Now() + absl::Seconds(5));
      if (checks == RedisSettings::Checks::kScript) {
        EXPECT_TRUE(got.ok()) << got.status();
        continue;
      }
      ASSERT_FALSE(got.ok());
      EXPECT_TRUE(absl::IsUnavailable(got.status())) << got.status();
      EXPECT_NE(got.status().message().find("redis.checks"), std::string::npos) << got.status();
      EXPECT_NE(got.status().message().find("NOPERM"), std::string::npos) << got.status();
    }
  }
  Command(redis.port(), {"AUTH", "admin-pass"});
  EXPECT_EQ(Command(redis.port(), {"GET", CustomerKey(KeySchema().CustomerPrefix("acme", "a"))})->type,
            REDIS_REPLY_STRING);  // the script's decisions only: released once
}

INSTANTIATE_TEST_SUITE_P(OlderLayouts, RedisCasTest,
                         ::testing::Values(CasParam{true, RedisSettings::Guess::kAuto, "LookedIn"},
                                           CasParam{false, RedisSettings::Guess::kAuto, "NotLookedIn"},
                                           CasParam{false, RedisSettings::Guess::kAlways, "NotLookedInGuessAlways"},
                                           CasParam{false, RedisSettings::Guess::kNever, "NotLookedInGuessNever"}),
                         [](const ::testing::TestParamInfo<CasParam>& p) { return p.param.name; });

}  // namespace
}  // namespace tact::store
