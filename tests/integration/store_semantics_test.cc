// One table of cases, run through the decision service against BOTH stores: the Redis store (check.lua on a
// real redis-server started by the test) and the in-memory store. Every step must give the expected decision,
// and the two stores must give byte-identical decisions (counters, reasons, defer times, shadow outcomes) and
// evidence (the signal named, its ref and time).
// Times are in 2027 so that Redis' own clock (PEXPIREAT on calendar counters and signals) sees them as future.
#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "daemon/core/clock.h"
#include "daemon/core/proto_time.h"
#include "daemon/decision/customer_state.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/replay.h"
#include "daemon/policy/parse.h"
#include "daemon/store/cluster_slots.h"
#include "daemon/store/in_memory_counter_store.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "tests/support/process.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

constexpr char kPolicy[] = R"(
version: "semantics-1"
rules:
  - id: optout
    description: opted out
    match: { message_class: PROMOTION }
    suppress_if: { opted_out: true }
  - id: low-csat
    description: bad CSAT
    match: { message_class: PROMOTION }
    suppress_if: { csat_at_most: 2, csat_within: 30d }
  - id: complaint
    description: open complaint
    match: { message_class: PROMOTION }
    suppress_if: { open_complaint: true }
  - id: esc-shadow
    description: escalation, trial run
    match: { message_class: PROMOTION }
    suppress_if: { escalation_within: 7d }
    mode: shadow
  - id: roll-2-per-1h
    description: rolling
    match: { message_class: PROMOTION }
    limit: { count: 2, window: 1h }
    on_exceed: defer
  - id: day-3-per-channel
    description: calendar day per channel
    match: { message_class: PROMOTION }
    limit: { count: 3, kind: calendar, window: day, scope: customer+channel }
  - id: cap-shadow
    description: trial cap
    match: { message_class: PROMOTION }
    limit: { count: 1, window: 1d }
    mode: shadow
  - id: sms-quiet
    description: quiet SMS
    match: { channel: SMS }
    quiet_hours: { start: "22:00", end: "07:00" }
)";

struct Step {
  const char* at;        // RFC 3339
  const char* customer;  // "ana" (Europe/Berlin) or "ben" (America/New_York) and others (America/New_York)
  // A message: event id, channel, class. Or a signal: kind (+ value / ref / channel / expires).
  const char* event_id = nullptr;
  Channel channel = v1::EMAIL;
  MessageClass cls = v1::PROMOTION;
  bool dry_run = false;
  const char* expect = nullptr;  // "RELEASE" / "DEFER" / "SUPPRESS"
  const char* rule = "";
  const char* defer_until = nullptr;
  std::vector<std::string> shadow = {};
  bool duplicate = false;
  // signal
  const char* signal = nullptr;
  int value = 0;
  const char* ref = "";
  const char* expires = nullptr;
  const char* tenant = "acme";
};

// Ids at the length limit (kMaxIdLength), with the old layout's separators in the customer id.
const std::string kLongTenant(256, 't');
const std::string kLongCustomer = std::string(250, 'c') + ":{x}}:";

// clang-format off
const Step kSteps[] = {
  // Rolling window with defer, dedupe, shadow cap.
  {.at = "2027-03-27T20:00:00Z", .customer = "ana", .event_id = "e1", .expect = "RELEASE"},
  {.at = "2027-03-27T20:01:00Z", .customer = "ana", .event_id = "e1", .expect = "RELEASE", .duplicate = true},
  {.at = "2027-03-27T20:02:00Z", .customer = "ana", .event_id = "e2", .expect = "RELEASE", .shadow = {"cap-shadow"}},
  {.at = "2027-03-27T20:03:00Z", .customer = "ana", .event_id = "e3", .expect = "DEFER", .rule = "roll-2-per-1h",
   .defer_until = "2027-03-27T21:00:00Z", .shadow = {"cap-shadow"}},
  // A deferral is not final: the same event is decided again later, and counts then.
  {.at = "2027-03-27T21:00:01Z", .customer = "ana", .event_id = "e3", .expect = "RELEASE", .shadow = {"cap-shadow"}},
  {.at = "2027-03-27T21:30:00Z", .customer = "ana", .event_id = "e4", .expect = "SUPPRESS", .rule = "day-3-per-channel",
   .shadow = {"cap-shadow"}},
  {.at = "2027-03-27T21:31:00Z", .customer = "ana", .event_id = "e4", .expect = "SUPPRESS", .rule = "day-3-per-channel",
   .shadow = {"cap-shadow"}, .duplicate = true},
  // 22:32 in Berlin: SMS quiet hours until 07:00 local, which is after the switch to summer time (05:00Z).
  {.at = "2027-03-27T21:32:00Z", .customer = "ana", .event_id = "e5", .channel = v1::SMS, .expect = "DEFER",
   .rule = "sms-quiet", .defer_until = "2027-03-28T05:00:00Z", .shadow = {"cap-shadow"}},
  // Midnight in Berlin: a new calendar day, a new counter.
  {.at = "2027-03-27T23:00:00Z", .customer = "ana", .event_id = "e6", .expect = "RELEASE", .shadow = {"cap-shadow"}},
  // March 28 has 23 hours in Berlin; 21:59Z is still the 28th (23:59 CEST).
  {.at = "2027-03-28T21:59:00Z", .customer = "ana", .event_id = "e7", .expect = "RELEASE", .shadow = {"cap-shadow"}},
  {.at = "2027-03-28T21:59:30Z", .customer = "ana", .event_id = "e8", .expect = "RELEASE", .shadow = {"cap-shadow"}},
  {.at = "2027-03-28T21:59:45Z", .customer = "ana", .event_id = "e9", .expect = "DEFER", .rule = "roll-2-per-1h",
   .defer_until = "2027-03-28T22:59:00Z", .shadow = {"cap-shadow"}},
  {.at = "2027-03-28T23:00:00Z", .customer = "ana", .event_id = "e9", .expect = "RELEASE", .shadow = {"cap-shadow"}},
  // Transactional at night on SMS: no rule names it.
  {.at = "2027-03-28T03:00:00Z", .customer = "ana", .event_id = "t1", .channel = v1::SMS, .cls = v1::TRANSACTIONAL,
   .expect = "RELEASE"},
  // Redelivered: deduped like every event, though its plan has nothing to count.
  {.at = "2027-03-28T03:01:00Z", .customer = "ana", .event_id = "t1", .channel = v1::SMS, .cls = v1::TRANSACTIONAL,
   .expect = "RELEASE", .duplicate = true},
  {.at = "2027-03-28T23:10:00Z", .customer = "ana", .signal = "csat", .value = 2},
  {.at = "2027-03-28T23:11:00Z", .customer = "ana", .event_id = "e10", .expect = "SUPPRESS", .rule = "low-csat",
   .shadow = {"cap-shadow"}},

  // Signals: complaint open/closed, shadow escalation, per-channel opt-out, expiry.
  {.at = "2027-03-27T12:00:00Z", .customer = "ben", .signal = "complaint_opened", .ref = "T1"},
  {.at = "2027-03-27T12:01:00Z", .customer = "ben", .event_id = "b1", .expect = "SUPPRESS", .rule = "complaint"},
  {.at = "2027-03-27T12:02:00Z", .customer = "ben", .signal = "complaint_closed", .ref = "T1"},
  {.at = "2027-03-27T12:03:00Z", .customer = "ben", .event_id = "b2", .expect = "RELEASE"},
  {.at = "2027-03-27T12:04:00Z", .customer = "ben", .signal = "escalation"},
  {.at = "2027-03-27T12:05:00Z", .customer = "ben", .event_id = "b3", .expect = "RELEASE",
   .shadow = {"esc-shadow", "cap-shadow"}},
  {.at = "2027-03-27T12:06:00Z", .customer = "ben", .signal = "opt_out_email"},
  {.at = "2027-03-27T12:07:00Z", .customer = "ben", .event_id = "b4", .expect = "SUPPRESS", .rule = "optout",
   .shadow = {"esc-shadow", "cap-shadow"}},
  {.at = "2027-03-27T12:08:00Z", .customer = "ben", .event_id = "b5", .channel = v1::SMS, .expect = "DEFER",
   .rule = "roll-2-per-1h", .defer_until = "2027-03-27T13:03:00Z", .shadow = {"esc-shadow", "cap-shadow"}},
  {.at = "2027-03-27T12:10:00Z", .customer = "ben", .signal = "csat", .value = 1, .expires = "2027-03-27T12:20:00Z"},
  {.at = "2027-03-27T12:15:00Z", .customer = "ben", .event_id = "b6", .channel = v1::SMS, .expect = "SUPPRESS",
   .rule = "low-csat", .shadow = {"esc-shadow", "cap-shadow"}},
  {.at = "2027-03-27T12:21:00Z", .customer = "ben", .event_id = "b7", .channel = v1::SMS, .expect = "DEFER",
   .rule = "roll-2-per-1h", .shadow = {"esc-shadow", "cap-shadow"}},
  // Dry runs decide without counting.
  {.at = "2027-03-27T14:00:00Z", .customer = "ben", .event_id = "b8", .channel = v1::SMS, .dry_run = true,
   .expect = "RELEASE", .shadow = {"esc-shadow", "cap-shadow"}},
  {.at = "2027-03-27T14:00:10Z", .customer = "ben", .event_id = "b8", .channel = v1::SMS, .expect = "RELEASE",
   .shadow = {"esc-shadow", "cap-shadow"}},
  {.at = "2027-03-27T14:01:00Z", .customer = "ben", .event_id = "b9", .channel = v1::SMS, .expect = "RELEASE",
   .shadow = {"esc-shadow", "cap-shadow"}},
  {.at = "2027-03-27T14:02:00Z", .customer = "ben", .event_id = "b10", .channel = v1::SMS, .expect = "DEFER",
   .rule = "roll-2-per-1h", .shadow = {"esc-shadow", "cap-shadow"}},

  // Ids the key layout before the keyed hash tag ("tact:{<tenant>:<customer>}:") confused. The store keeps them
  // apart by itself (tenant ids outside the charset are refused before they reach it: event.cc).
  // Tenant "acme:X" + customer "y" was tenant "acme" + customer "X:y": the same caps, signals and markers.
  {.at = "2027-03-29T10:00:00Z", .customer = "y", .event_id = "x1", .expect = "RELEASE", .tenant = "acme:X"},
  {.at = "2027-03-29T10:01:00Z", .customer = "y", .event_id = "x2", .expect = "RELEASE", .shadow = {"cap-shadow"},
   .tenant = "acme:X"},
  {.at = "2027-03-29T10:02:00Z", .customer = "y", .signal = "opt_out_email", .tenant = "acme:X"},
  {.at = "2027-03-29T10:03:00Z", .customer = "y", .event_id = "x3", .expect = "SUPPRESS", .rule = "optout",
   .shadow = {"cap-shadow"}, .tenant = "acme:X"},
  {.at = "2027-03-29T10:04:00Z", .customer = "X:y", .event_id = "x1", .expect = "RELEASE"},  // not a duplicate
  {.at = "2027-03-29T10:05:00Z", .customer = "X:y", .event_id = "x4", .expect = "RELEASE", .shadow = {"cap-shadow"}},
  // A '}' ended the tag early: customer "w"'s marker of event "e}:r:roll-2-per-1h" was customer "w}:seen:e"'s
  // rolling window (a hash where a sorted set belongs: every later check of that customer failed).
  {.at = "2027-03-29T10:06:00Z", .customer = "w", .event_id = "e}:r:roll-2-per-1h", .expect = "RELEASE"},
  {.at = "2027-03-29T10:07:00Z", .customer = "w}:seen:e", .event_id = "w1", .expect = "RELEASE"},
  {.at = "2027-03-29T10:08:00Z", .customer = "w}:seen:e", .event_id = "w2", .expect = "RELEASE",
   .shadow = {"cap-shadow"}},
  {.at = "2027-03-29T10:09:00Z", .customer = "w}:seen:e", .event_id = "w3", .expect = "DEFER", .rule = "roll-2-per-1h",
   .defer_until = "2027-03-29T11:07:00Z", .shadow = {"cap-shadow"}},
  {.at = "2027-03-29T10:10:00Z", .customer = "w", .event_id = "w4", .expect = "RELEASE", .shadow = {"cap-shadow"}},
  // '{' and '}' anywhere, and ids of the longest length accepted, are customers of their own.
  {.at = "2027-03-29T10:11:00Z", .customer = "{a}b", .event_id = "z1", .expect = "RELEASE"},
  {.at = "2027-03-29T10:12:00Z", .customer = "{a}b", .event_id = "z2", .expect = "RELEASE", .shadow = {"cap-shadow"}},
  {.at = "2027-03-29T10:13:00Z", .customer = "{a", .event_id = "z3", .expect = "RELEASE"},
  {.at = "2027-03-29T10:14:00Z", .customer = kLongCustomer.c_str(), .event_id = "z4", .expect = "RELEASE",
   .tenant = kLongTenant.c_str()},
  {.at = "2027-03-29T10:15:00Z", .customer = kLongCustomer.c_str(), .event_id = "z5", .expect = "RELEASE",
   .shadow = {"cap-shadow"}, .tenant = kLongTenant.c_str()},
  {.at = "2027-03-29T10:16:00Z", .customer = kLongCustomer.c_str(), .event_id = "z6", .expect = "DEFER",
   .rule = "roll-2-per-1h", .defer_until = "2027-03-29T11:14:00Z", .shadow = {"cap-shadow"},
   .tenant = kLongTenant.c_str()},
};
// clang-format on

absl::Time T(const char* s) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, s, &t, &err)) << s;
  return t;
}

// How the Redis store reaches redis-server: plaintext without a password, TLS as an ACL user, or a Redis Cluster
// of 3 masters (redis+cluster://, the store routing each check to its slot's master); and plaintext with
// redis.older_layouts false (no older layout looked for: the in-memory store has none either).
// kPlaintextScript and kClusterScript: check.lua decides every check (redis.checks script); the others decide in tactd.
enum class Transport { kPlaintext, kTlsAclUser, kCluster, kPlaintextNoOlderLayouts, kPlaintextScript, kClusterScript };

class StoreSemanticsTest : public ::testing::TestWithParam<Transport> {
 protected:
  // A redis-server in `dir` for the parameter's transport, and the store settings to reach it.
  store::RedisSettings StartRedis(const std::string& dir) {
    store::RedisSettings settings;
    if (GetParam() == Transport::kPlaintext || GetParam() == Transport::kPlaintextNoOlderLayouts ||
        GetParam() == Transport::kPlaintextScript) {
      redis_ = std::make_unique<testing::RedisServer>(dir);
      EXPECT_TRUE(store::ParseRedisAddress(redis_->address(), &settings).ok());
      settings.older_layouts = GetParam() != Transport::kPlaintextNoOlderLayouts;
      if (GetParam() == Transport::kPlaintextScript) settings.checks = store::RedisSettings::Checks::kScript;
      return settings;
    }
    if (GetParam() == Transport::kCluster || GetParam() == Transport::kClusterScript) {
      cluster_ = std::make_unique<testing::RedisClusterNodes>(dir, /*masters=*/3, /*replicas=*/0);
      EXPECT_TRUE(store::ParseRedisAddress(cluster_->address(), &settings).ok());
      if (GetParam() == Transport::kClusterScript) settings.checks = store::RedisSettings::Checks::kScript;
      return settings;
    }
    pki_ = std::make_unique<testing::TestPki>(dir);
    redis_ = std::make_unique<testing::RedisServer>(
        dir, testing::RedisServerOptions{.requirepass = "unused-default", .acl_user = "tact",
                                         .acl_password = "semantics-pass", .tls = pki_.get()});
    EXPECT_TRUE(store::ParseRedisAddress(redis_->tls_address(), &settings).ok());
    settings.tls = {.enabled = true, .ca_file = pki_->ca};
    settings.auth = {.username = "tact", .password = "semantics-pass"};
    return settings;
  }

  void SetUp() override {
    absl::StatusOr<policy::Policy> p = policy::ParsePolicy({{"semantics.yaml", kPolicy}});
    ASSERT_TRUE(p.ok()) << p.status();
    policy_ = std::make_shared<const policy::Policy>(*std::move(p));
  }

  // Runs the table; returns the decisions and their records' evidence, as text (empty for signal steps).
  std::vector<std::string> Run(store::CounterStore& store, FakeClock* store_clock, const std::string& label) {
    decision::Replayer replay(policy_, store);
    std::vector<std::string> out;
    int i = 0;
    for (const Step& s : kSteps) {
      ++i;
      SCOPED_TRACE(absl::StrCat(label, " step ", i, " at ", s.at));
      const absl::Time at = T(s.at);
      if (store_clock != nullptr) store_clock->Set(at);
      const std::string tz = std::string(s.customer) == "ana" ? "Europe/Berlin" : "America/New_York";
      if (s.signal != nullptr) {
        policy::Signal sig{.tenant = s.tenant, .customer_id = s.customer, .csat = s.value, .ref = s.ref, .at = at};
        std::string kind = s.signal;
        if (kind == "opt_out_email") {
          kind = "opt_out";
          sig.channel = v1::EMAIL;
        }
        EXPECT_TRUE(policy::ParseSignalKind(kind, &sig.kind)) << kind;
        if (s.expires != nullptr) sig.expires_at = T(s.expires);
        EXPECT_TRUE(replay.PutSignal(sig, at).ok());
        out.emplace_back();
        continue;
      }
      Event ev{.event_id = s.event_id, .tenant = s.tenant, .customer_id = s.customer, .channel = s.channel,
               .message_class = s.cls, .customer_timezone = tz};
      absl::StatusOr<decision::Decided> d = replay.Decide(ev, at, s.dry_run);
      EXPECT_TRUE(d.ok()) << d.status();
      if (!d.ok()) {
        out.emplace_back();
        continue;
      }
      const v1::Decision& got = d->decision();
      EXPECT_EQ(decision::DecisionName(got.decision()), s.expect) << got.reason();
      EXPECT_EQ(got.rule_id(), s.rule) << got.reason();
      EXPECT_EQ(got.duplicate(), s.duplicate);
      if (s.defer_until != nullptr) {
        EXPECT_EQ(absl::FromUnixSeconds(got.defer_until().seconds()), T(s.defer_until));
      }
      std::vector<std::string> shadow;
      for (const auto& so : got.shadow_outcomes()) shadow.push_back(so.rule_id());
      EXPECT_EQ(shadow, s.shadow);
      out.push_back(got.DebugString() + d->record().evidence().DebugString());
    }
    return out;
  }

  // `command` `key` sent by the test itself (to the key's master on a cluster; as the ACL user over TLS's server's
  // plaintext port): its integer reply, or -1000 when there is none.
  long long RawInteger(const std::string& key, std::vector<std::string> command) {
    command.push_back(key);
    if (cluster_ != nullptr) {
      auto r = testing::RedisClusterNodes::Command(cluster_->MasterOf(store::KeySlot(key)), command);
      return r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1000;
    }
    store::RedisContextPtr c(redisConnect("127.0.0.1", redis_->port()));
    if (c == nullptr || c->err != 0) return -1000;
    if (GetParam() == Transport::kTlsAclUser) {
      store::RedisReplyPtr(static_cast<redisReply*>(redisCommand(c.get(), "AUTH tact semantics-pass")));
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : command) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    store::RedisReplyPtr r(static_cast<redisReply*>(
        redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
    return r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1000;
  }

  std::shared_ptr<const policy::Policy> policy_;
  testing::TempDir dir_;  // outlives the redis-server below
  std::unique_ptr<testing::TestPki> pki_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<testing::RedisClusterNodes> cluster_;
};

TEST_P(StoreSemanticsTest, InMemoryAndRedisAgreeOnEveryStep) {
  const store::RedisSettings settings = StartRedis(dir_.path());
  FakeClock redis_clock(T("2027-03-27T00:00:00Z"));
  store::RedisCounterStore redis_store(settings, redis_clock);
  store::InMemoryCounterStore memory_store;

  const std::vector<std::string> mem = Run(memory_store, nullptr, "in-memory");
  const std::vector<std::string> red = Run(redis_store, &redis_clock, "redis");
  ASSERT_EQ(mem.size(), red.size());
  for (size_t i = 0; i < mem.size(); ++i) {
    EXPECT_EQ(mem[i], red[i]) << "step " << i + 1 << " differs between stores";
  }
}

// A hit names the matching signal field set last (equal times: the smallest name, bytewise), with its time; the
// two stores name the same one. Through the decision: the record's evidence gives the complaint's ticket and when
// it was opened; a redelivered event's record has neither (the stored outcome keeps hit and until only).
TEST_P(StoreSemanticsTest, SignalHitsNameTheFieldSetLast) {
  const store::RedisSettings settings = StartRedis(dir_.path());
  FakeClock redis_clock(T("2027-03-27T00:00:00Z"));
  store::RedisCounterStore redis_store(settings, redis_clock);
  store::InMemoryCounterStore memory_store;
  const absl::Time check_at = T("2027-03-27T10:10:00Z");
  const std::vector<std::string> complaints = {"complaint:*"};
  const std::vector<std::string> csat = {"csat:1", "csat:2"};
  const std::vector<std::string> callbacks = {"callback:*"};
  const std::vector<std::string> escalation = {"escalation"};

  auto run = [&](store::CounterStore& store, FakeClock* store_clock, const std::string& label) {
    SCOPED_TRACE(label);
    decision::Replayer replay(policy_, store);
    using K = policy::SignalKind;
    auto put = [&](const char* customer, K kind, const char* ref, const char* at, const char* expires = nullptr,
                   int value = 0) {
      if (store_clock != nullptr) store_clock->Set(T(at));
      policy::Signal sig{.tenant = "acme", .customer_id = customer, .kind = kind, .csat = value, .ref = ref,
                         .at = T(at)};
      if (expires != nullptr) sig.expires_at = T(expires);
      EXPECT_TRUE(replay.PutSignal(sig, sig.at).ok()) << ref;
    };
    put("cleo", K::kComplaintOpened, "T9", "2027-03-27T09:00:00Z");
    put("cleo", K::kComplaintOpened, "T1", "2027-03-27T10:00:00Z");
    put("cleo", K::kComplaintOpened, "T3", "2027-03-27T10:05:00Z");  // stored before T2, opened at the same time
    put("cleo", K::kComplaintOpened, "T20", "2027-03-27T10:05:00Z");  // T2 is a prefix of it: T2 sorts first
    put("cleo", K::kComplaintOpened, "T2", "2027-03-27T10:05:00Z");
    put("cleo", K::kComplaintOpened, "T0", "2027-03-27T10:06:00Z");
    put("cleo", K::kComplaintClosed, "T0", "2027-03-27T10:07:00Z");  // closed: never named
    put("cleo", K::kCsat, "", "2027-03-27T10:01:00Z", nullptr, 2);
    put("cleo", K::kCsat, "", "2027-03-27T10:02:00Z", nullptr, 1);
    put("cleo", K::kCallbackRequested, "CB-8", "2027-03-27T09:59:00Z");
    put("cleo", K::kCallbackRequested, "CB-7", "2027-03-27T10:03:00Z", "2027-03-27T10:04:00Z");  // expired

    store::CustomerCheck check{.tenant = "acme", .customer_id = "cleo", .event_id = "probe", .now = check_at,
                               .dry_run = true};
    check.spec.signals = {{.fields = complaints},
                          {.fields = csat, .since = T("2027-03-27T10:01:30Z")},  // csat:2 came before
                          {.fields = callbacks},
                          {.fields = escalation}};
    if (store_clock != nullptr) store_clock->Set(check_at);
    absl::StatusOr<std::vector<store::CheckResult>> r =
        store.CheckAndReserve(std::span(&check, 1), check_at + absl::Seconds(5));
    EXPECT_TRUE(r.ok()) << r.status();
    std::string out;
    for (const SignalResult& s : r.ok() ? r->front().outcome.signals : StoreOutcome{}.signals) {
      absl::StrAppend(&out, s.hit ? "hit " : "miss ", s.field,
                      s.at == absl::InfinitePast() ? "" : absl::FormatTime(" %H:%M", s.at, absl::UTCTimeZone()),
                      "\n");
    }
    // Through the decision service: "dora" has two open complaints; the promotion's record names the later one.
    put("dora", K::kComplaintOpened, "D-1", "2027-03-27T10:00:00Z");
    put("dora", K::kComplaintOpened, "D-2", "2027-03-27T10:04:00Z");
    Event ev{.event_id = "p1", .tenant = "acme", .customer_id = "dora", .channel = v1::EMAIL,
             .message_class = v1::PROMOTION, .customer_timezone = "Europe/Berlin"};
    for (int delivery = 0; delivery < 2; ++delivery) {  // then redelivered
      if (store_clock != nullptr) store_clock->Set(check_at);
      absl::StatusOr<decision::Decided> d = replay.Decide(ev, check_at);
      EXPECT_TRUE(d.ok()) << d.status();
      if (!d.ok()) continue;
      const v1::SignalEvidence& e = d->record().evidence().signal();
      absl::StrAppend(&out, std::string(decision::DecisionName(d->decision().decision())),
                      d->decision().duplicate() ? " again" : "",
                      " ", e.rule_id(), " ", e.kind(), " ref=", e.ref(), " at=",
                      e.has_at() ? absl::FormatTime("%H:%M", TimeFromProto(e.at()), absl::UTCTimeZone()) : "",
                      "\n");
    }
    return out;
  };
  const std::string mem = run(memory_store, nullptr, "in-memory");
  EXPECT_EQ(mem,
            "hit complaint:T2 10:05\n"
            "hit csat:1 10:02\n"
            "hit callback:CB-8 09:59\n"
            "miss \n"
            "SUPPRESS complaint complaint ref=D-2 at=10:04\n"
            "SUPPRESS again complaint complaint ref= at=\n");
  EXPECT_EQ(run(redis_store, &redis_clock, "redis"), mem);
}

// CounterStore::ReadCustomer (Signals.GetCustomerState): both stores find the customer's counters through the
// counter index written when they reserve (no keyspace scan) and report the same usage, frees_at and signals.
TEST_P(StoreSemanticsTest, ReadCustomerGivesTheSameStateFromBothStores) {
  const store::RedisSettings settings = StartRedis(dir_.path());
  FakeClock redis_clock(T("2027-03-27T00:00:00Z"));
  store::RedisCounterStore redis_store(settings, redis_clock);
  store::InMemoryCounterStore memory_store;
  const std::vector<store::CounterFamily> families = decision::CounterFamilies(*policy_, "acme");
  ASSERT_EQ(families.size(), 3u);  // roll-2-per-1h, day-3-per-channel, cap-shadow

  auto run = [&](store::CounterStore& store, FakeClock* store_clock, const std::string& label) {
    SCOPED_TRACE(label);
    decision::Replayer replay(policy_, store);
    auto decide = [&](const char* id, const char* customer, Channel channel, const char* at, bool dry_run,
                      const char* expect) {
      if (store_clock != nullptr) store_clock->Set(T(at));
      Event ev{.event_id = id, .tenant = "acme", .customer_id = customer, .channel = channel,
               .message_class = v1::PROMOTION, .customer_timezone = "Europe/Berlin"};
      absl::StatusOr<decision::Decided> d = replay.Decide(ev, T(at), dry_run);
      ASSERT_TRUE(d.ok()) << d.status();
      EXPECT_EQ(decision::DecisionName(d->decision().decision()), expect) << id << ": " << d->decision().reason();
    };
    decide("e1", "ana", v1::EMAIL, "2027-03-27T20:00:00Z", false, "RELEASE");
    decide("e2", "ana", v1::SMS, "2027-03-27T20:01:00Z", false, "RELEASE");
    decide("e3", "ana", v1::EMAIL, "2027-03-27T20:02:00Z", false, "DEFER");    // rolling window full: not counted
    decide("e4", "ana", v1::PUSH, "2027-03-27T20:03:00Z", true, "DEFER");      // dry run: not counted
    decide("o1", "other", v1::EMAIL, "2027-03-27T20:04:00Z", false, "RELEASE");  // another customer
    policy::Signal complaint{.tenant = "acme", .customer_id = "ana", .kind = policy::SignalKind::kComplaintOpened,
                             .ref = "T9", .at = T("2027-03-27T20:05:00Z")};
    EXPECT_TRUE(replay.PutSignal(complaint, complaint.at).ok());
    policy::Signal csat{.tenant = "acme", .customer_id = "ana", .kind = policy::SignalKind::kCsat, .csat = 4,
                        .at = T("2027-03-27T20:06:00Z"), .expires_at = T("2027-03-27T20:30:00Z")};
    EXPECT_TRUE(replay.PutSignal(csat, csat.at).ok());
    std::vector<store::CustomerState> out;
    for (const char* at : {"2027-03-27T20:10:00Z", "2027-03-27T21:00:30Z"}) {
      if (store_clock != nullptr) store_clock->Set(T(at));
      absl::StatusOr<store::CustomerState> state = store.ReadCustomer(
          {.tenant = "acme", .customer_id = "ana", .now = T(at), .families = families}, T(at) + absl::Seconds(5));
      EXPECT_TRUE(state.ok()) << state.status();
      out.push_back(state.ok() ? *std::move(state) : store::CustomerState{});
    }
    return out;
  };
  const std::vector<store::CustomerState> mem = run(memory_store, nullptr, "in-memory");
  const std::vector<store::CustomerState> red = run(redis_store, &redis_clock, "redis");

  auto text = [](const store::CustomerState& s) {
    std::string out;
    for (const store::CounterState& c : s.counters) {
      absl::StrAppend(&out, c.rule_id, " ", c.counter, " used=", c.used, " frees_at=",
                      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", c.frees_at, absl::UTCTimeZone()), "\n");
    }
    for (const store::SignalState& g : s.signals) {
      absl::StrAppend(&out, "signal ", g.field, " at=", absl::FormatTime("%H:%M", g.at, absl::UTCTimeZone()),
                      g.expires_at == absl::InfiniteFuture() ? "" : " expires", "\n");
    }
    return out;
  };
  ASSERT_EQ(mem.size(), 2u);
  ASSERT_EQ(red.size(), 2u);
  // 20:10: two releases counted everywhere they count (the deferral and the dry run count nowhere).
  EXPECT_EQ(text(mem[0]),
            "day-3-per-channel c:day-3-per-channel:EMAIL:2027-03-27 used=1 frees_at=2027-03-27T23:00:00Z\n"
            "day-3-per-channel c:day-3-per-channel:SMS:2027-03-27 used=1 frees_at=2027-03-27T23:00:00Z\n"
            "cap-shadow r:cap-shadow used=2 frees_at=2027-03-28T20:00:00Z\n"
            "roll-2-per-1h r:roll-2-per-1h used=2 frees_at=2027-03-27T21:00:00Z\n"
            "signal complaint:T9 at=20:05\n"
            "signal csat:4 at=20:06 expires\n");
  // 21:00:30: e1 has left the rolling hour; the CSAT answer has expired.
  EXPECT_EQ(text(mem[1]),
            "day-3-per-channel c:day-3-per-channel:EMAIL:2027-03-27 used=1 frees_at=2027-03-27T23:00:00Z\n"
            "day-3-per-channel c:day-3-per-channel:SMS:2027-03-27 used=1 frees_at=2027-03-27T23:00:00Z\n"
            "cap-shadow r:cap-shadow used=2 frees_at=2027-03-28T20:00:00Z\n"
            "roll-2-per-1h r:roll-2-per-1h used=1 frees_at=2027-03-27T21:01:00Z\n"
            "signal complaint:T9 at=20:05\n");
  EXPECT_EQ(text(red[0]), text(mem[0]));
  EXPECT_EQ(text(red[1]), text(mem[1]));
}

// CounterStore::PutArchived / GetArchived: both stores keep any bytes under a name, replace them, report an absent
// name as nullopt, refuse a bad name or ttl alike (naming the field), let the text expire after its ttl, and keep it
// through a customer's erasure. Redis expires by its own clock: the ttl is read back (PTTL) and a short one polled
// until gone; the in-memory store by its FakeClock.
TEST_P(StoreSemanticsTest, ArchiveKeepsTextsAlikeInBothStores) {
  const store::RedisSettings settings = StartRedis(dir_.path());
  FakeClock redis_clock(T("2027-03-27T00:00:00Z"));
  store::RedisCounterStore redis_store(settings, redis_clock);
  FakeClock memory_clock(T("2027-03-27T00:00:00Z"));
  store::InMemoryCounterStore memory_store(memory_clock);
  std::string big(1 << 20, '\0');  // 1 MB of every byte value, '\0' and "\r\n" among them
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7 + i / 256) % 256);
  const std::string small("p\0l\r\ni\n", 7);
  const std::string longest_name(store::kMaxArchiveNameLength, 'z');

  auto run = [&](store::CounterStore& store, const FakeClock& clock, const std::string& label) {
    SCOPED_TRACE(label);
    auto deadline = [&] { return clock.Now() + absl::Seconds(10); };
    std::string out;
    auto get = [&](std::string_view name) {
      absl::StatusOr<std::optional<std::string>> got = store.GetArchived(name, deadline());
      if (!got.ok()) return absl::StrCat("get: ", got.status().ToString(), "\n");
      if (!got->has_value()) return std::string("get: absent\n");
      return absl::StrCat("get: ", (*got)->size(), " bytes", **got == big ? " big" : **got == small ? " small" : "",
                          "\n");
    };
    auto put = [&](std::string_view name, std::string_view text, absl::Duration ttl) {
      absl::Status s = store.PutArchived(name, text, ttl, deadline());
      return absl::StrCat("put: ", s.ToString(), "\n");
    };
    // One step per statement: the order of a call's arguments is unspecified.
    out += get("policy.1");  // absent
    out += put("policy.1", big, absl::Hours(1));
    out += get("policy.1");
    out += put("policy.1", small, absl::Hours(2));  // replaced
    out += get("policy.1");
    out += put("0123456789abcdefghijklmnopqrstuvwxyz_.-", "", absl::Hours(1));
    out += get("0123456789abcdefghijklmnopqrstuvwxyz_.-");  // empty, not absent
    out += put(longest_name, small, absl::Milliseconds(1) * 3600000);
    out += get(longest_name);
    for (const std::string& bad : {std::string(), std::string(store::kMaxArchiveNameLength + 1, 'z'),
                                   std::string("Policy"), std::string("a{b}"), std::string("a b"),
                                   std::string("a/b"), std::string("a\0b", 3), std::string("a:b")}) {
      out += put(bad, small, absl::Hours(1));
      out += get(bad);
    }
    for (absl::Duration ttl : {absl::ZeroDuration(), absl::Milliseconds(-5), absl::Microseconds(999),
                               absl::Microseconds(1500), absl::InfiniteDuration(),
                               store::kMaxArchiveTtl + absl::Milliseconds(1)}) {
      out += put("bad.ttl", small, ttl);
    }
    out += get("bad.ttl");  // nothing stored by a refused put
    // An erasure removes the customer's keys only (tact:{<h>}:...; the archive is tact:archive:{<name>}).
    absl::StatusOr<int64_t> forgot =
        store.ForgetCustomer(store::CustomerPrefixes(store::KeySchema(), "acme", "ana"), deadline());
    absl::StrAppend(&out, "forget: ", forgot.ok() ? "ok" : forgot.status().ToString(), "\n");
    out += get("policy.1");
    return out;
  };
  const std::string mem = run(memory_store, memory_clock, "in-memory");
  EXPECT_EQ(mem,
            "get: absent\n"
            "put: OK\nget: 1048576 bytes big\n"
            "put: OK\nget: 7 bytes small\n"
            "put: OK\nget: 0 bytes\n"
            "put: OK\nget: 7 bytes small\n"
            "put: INVALID_ARGUMENT: archive name: empty (1 to 128 bytes of [0-9a-z_.-])\n"
            "get: INVALID_ARGUMENT: archive name: empty (1 to 128 bytes of [0-9a-z_.-])\n"
            "put: INVALID_ARGUMENT: archive name: 129 bytes, more than 128\n"
            "get: INVALID_ARGUMENT: archive name: 129 bytes, more than 128\n"
            "put: INVALID_ARGUMENT: archive name: byte 1 (0x50) is not one of [0-9a-z_.-]\n"
            "get: INVALID_ARGUMENT: archive name: byte 1 (0x50) is not one of [0-9a-z_.-]\n"
            "put: INVALID_ARGUMENT: archive name: byte 2 (0x7b) is not one of [0-9a-z_.-]\n"
            "get: INVALID_ARGUMENT: archive name: byte 2 (0x7b) is not one of [0-9a-z_.-]\n"
            "put: INVALID_ARGUMENT: archive name: byte 2 (0x20) is not one of [0-9a-z_.-]\n"
            "get: INVALID_ARGUMENT: archive name: byte 2 (0x20) is not one of [0-9a-z_.-]\n"
            "put: INVALID_ARGUMENT: archive name: byte 2 (0x2f) is not one of [0-9a-z_.-]\n"
            "get: INVALID_ARGUMENT: archive name: byte 2 (0x2f) is not one of [0-9a-z_.-]\n"
            "put: INVALID_ARGUMENT: archive name: byte 2 (0x00) is not one of [0-9a-z_.-]\n"
            "get: INVALID_ARGUMENT: archive name: byte 2 (0x00) is not one of [0-9a-z_.-]\n"
            "put: INVALID_ARGUMENT: archive name: byte 2 (0x3a) is not one of [0-9a-z_.-]\n"
            "get: INVALID_ARGUMENT: archive name: byte 2 (0x3a) is not one of [0-9a-z_.-]\n"
            "put: INVALID_ARGUMENT: archive ttl: 0 is not a whole number of milliseconds from 1ms to 876000h\n"
            "put: INVALID_ARGUMENT: archive ttl: -5ms is not a whole number of milliseconds from 1ms to 876000h\n"
            "put: INVALID_ARGUMENT: archive ttl: 999us is not a whole number of milliseconds from 1ms to 876000h\n"
            "put: INVALID_ARGUMENT: archive ttl: 1.5ms is not a whole number of milliseconds from 1ms to 876000h\n"
            "put: INVALID_ARGUMENT: archive ttl: inf is not a whole number of milliseconds from 1ms to 876000h\n"
            "put: INVALID_ARGUMENT: archive ttl: 876000h0.001s is not a whole number of milliseconds from 1ms to "
            "876000h\n"
            "get: absent\n"
            "forget: ok\nget: 7 bytes small\n");
  EXPECT_EQ(run(redis_store, redis_clock, "redis"), mem);

  // Expiry. In memory: present until the clock passes put + ttl (as redis-server: expired once now > its expiry).
  ASSERT_TRUE(memory_store.PutArchived("short", small, absl::Milliseconds(100), memory_clock.Now()).ok());
  memory_clock.Advance(absl::Milliseconds(100));
  EXPECT_EQ(memory_store.GetArchived("short", memory_clock.Now()).value_or("error"), small);
  memory_clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(memory_store.GetArchived("short", memory_clock.Now()).value_or("error"), std::nullopt);
  EXPECT_EQ(memory_store.GetArchived("policy.1", memory_clock.Now()).value_or("error"), small);  // 2 h: still there
  // Redis: the ttl is the key's PTTL (SET PX), and a short one runs out by redis-server's clock.
  const long long pttl = RawInteger(store::ArchiveKey("policy.1"), {"PTTL"});
  EXPECT_GT(pttl, absl::ToInt64Milliseconds(absl::Hours(2) - absl::Minutes(1)));
  EXPECT_LE(pttl, absl::ToInt64Milliseconds(absl::Hours(2)));
  ASSERT_TRUE(redis_store.PutArchived("short", small, absl::Milliseconds(200), redis_clock.Now() + absl::Seconds(10))
                  .ok());
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        absl::StatusOr<std::optional<std::string>> got =
            redis_store.GetArchived("short", redis_clock.Now() + absl::Seconds(10));
        return got.ok() && !got->has_value();
      },
      absl::Seconds(20), "the archived text expired in Redis"));
  EXPECT_EQ(RawInteger(store::ArchiveKey("short"), {"EXISTS"}), 0);
}

INSTANTIATE_TEST_SUITE_P(Transports, StoreSemanticsTest,
                         ::testing::Values(Transport::kPlaintext, Transport::kTlsAclUser, Transport::kCluster,
                                           Transport::kPlaintextNoOlderLayouts, Transport::kPlaintextScript,
                                           Transport::kClusterScript),
                         [](const ::testing::TestParamInfo<Transport>& p) {
                           return p.param == Transport::kPlaintext                 ? "Plaintext"
                                  : p.param == Transport::kCluster                 ? "RedisCluster"
                                  : p.param == Transport::kPlaintextNoOlderLayouts ? "PlaintextNoOlderLayouts"
                                  : p.param == Transport::kPlaintextScript         ? "PlaintextScript"
                                  : p.param == Transport::kClusterScript           ? "RedisClusterScript"
                                                                                   : "TlsAclUser";
                         });

}  // namespace
}  // namespace tact
