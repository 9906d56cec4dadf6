// Redis counter store: Redis CPU per decision against two baselines, throughput against redis-benchmark running
// the store's own script, TLS against plaintext, and memory, on one redis-server started here. Rounds interleaved;
// each figure is the median of --rounds. Prints one line per figure, ratio first.
//
//   build/bench/redis_store_bench [--connections 4] [--requests 100000] [--batch 32] [--rounds 3] [--cpu-only 1]
//                                 [--probe-only 1]
//                                 [--memory-only 1] [--marker-bytes N] [--history H] [--ballast N]
//
// --marker-bytes N    every decision marker sent is N bytes ("m4;" and padding) instead of the encoded m4 marker
//                     (~140 bytes for these plans): to measure other marker sizes
// --history H         store.cpu_returning: each returning customer was decided H times before the run that
//                     measures it (default 1; every run has customers of its own), so it holds that many live
//                     decision markers (its key keeps the last few, the older ones are keys of their own)
// --ballast N         N keys with a TTL written before anything else (DEBUG POPULATE + PEXPIRE): Redis' key and
//                     expiry tables then start large enough that the runs add keys without resizing them (a resize
//                     is rehashed step by step by the commands that follow, a cost that would fall on whichever
//                     run crossed a power of two). The store.cpu_* figures wait for the ballast's own resize to be
//                     rehashed, and print store.warning with the --ballast to use when the runs resized a table
//                     anyway (--cpu-only 1 --requests 20000 --rounds 3 adds ~1.6 million keys: --ballast 2097153)
//
// store.cpu_new       redis-server CPU (utime+stime from /proc) per decision, the default policy (policies/default)
// store.cpu_returning deciding a PROMOTION (4 signal checks, 2 calendar caps), batches of --batch customers in one
//                     EVALSHA, for new customers / customers decided before; beside the same figure for
//                     floor: a one-key GET + SET PX script, the same customers and batches in one EVALSHA
//                     incr: INCRBY + EXPIRE per customer, pipelined per batch (envoyproxy/ratelimit's pattern)
//                     and the Redis calls the script makes per decision (INFO commandstats)
// store.legacy_keys   redis-server CPU per new customer's check with and without redis.legacy_keys
// store.cpu_new_checks / store.cpu_returning_checks  redis.checks compare_and_set (tactd decides, Redis compare-and-
//                     sets; the default) against script (check.lua decides): the same decisions, interleaved
// store.older_layouts redis-server CPU per new customer's check with redis.older_layouts on (legacy_keys off: the
//                     v1 probe, one EXISTS) and off (MGET + SET only); --probe-only 1: only these two figures
// store.cpu_new_older_layouts  store.cpu_new (defaults: legacy_keys on) against the same with older_layouts off
// store.guess_new     older_layouts off, compare_and_set: a call's customers decided as new before their keys are read
//                     (RedisSettings::guess_new kAlways: their keys created in the read's round-trip, the returning
//                     ones written by cas.lua) against never (kNever: WATCH, MGET, MULTI/EXEC), for new and returning
//                     customers; where the two cross sets NewCustomerShare's threshold. auto: the default (kAuto) in a
//                     store of its own, which knows none of the customers (returning ones: decided by another tactd)
// store.one_trip      new customers, older_layouts off: compare_and_set's MGET, then SET NX (round-trips one after
//                     the other) against the same two commands sent together (OneTrip); at --batch 1 what a second
//                     round-trip costs Redis
// store.single        one CheckAndReserve per decision           vs redis-benchmark EVALSHA unpipelined
// store.pipelined     batch of N customers, one EVALSHA each,    vs redis-benchmark EVALSHA pipelined -P N
//                     pipelined on one connection
// store.batch_script  batch of N customers in ONE EVALSHA        vs redis-benchmark EVALSHA pipelined -P N
// store.tls_single    TLS vs plaintext, one decision per call: redis-server CPU and this process' (tactd's store
// store.tls_batch     client) CPU per decision, and throughput; same run, same redis-server (--port and --tls-port),
//                     rounds interleaved. ratio = redis-server CPU per decision over TLS / over plaintext.
// store.memory        Redis bytes per active customer (one released PROMOTION of the default policy; and the two
//                     rolling windows earlier versions of this bench used), baseline = empty server
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/default_policy.h"
#include "bench/proc_cpu.h"
#include "bench/rounds.h"
#include "daemon/core/clock.h"
#include "daemon/decision/marker.h"
#include "daemon/decision/policy_files.h"
#include "daemon/decision/store_spec.h"
#include "daemon/policy/evaluate.h"
#include "daemon/store/check_lua.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_check_call.h"
#include "daemon/store/redis_counter_store.h"

extern char** environ;

namespace tact::bench {
namespace {

using store::CustomerCheck;
using store::RedisCounterStore;
using store::RedisSettings;

struct Options {
  int connections = 4;
  int requests = 100000;
  int batch = 32;
  int rounds = 3;
  bool probe_only = false;   // --probe-only 1: only store.legacy_keys and store.older_layouts
  bool cpu_only = false;     // --cpu-only 1: only the store.cpu_* figures
  bool memory_only = false;  // --memory-only 1: only the store.memory figures
  int marker_bytes = 0;      // > 0: markers of this size instead of EncodeMarker's
  int history = 1;           // decisions of each returning customer before the measured rounds
  int ballast = 0;           // keys written first, so that the runs resize no hash table
};

// Runs argv, returns its stdout.
std::string Capture(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe(fds) != 0) return "";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while (rc == 0 && (n = read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  if (rc == 0) waitpid(pid, nullptr, 0);
  return out;
}

int FreePort() {
  const std::string out = Capture({"python3", "-c",
                                   "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); "
                                   "print(s.getsockname()[1])"});
  return std::atoi(out.c_str());
}

policy::Plan BenchPlan() {  // like the default policy's promotion rules: two rolling windows
  policy::Plan plan;
  plan.matched_rules = {"promotion-1-per-day", "promotion-3-per-week"};
  plan.limits.push_back({.rule_id = "promotion-1-per-day", .counter = "r:promotion-1-per-day", .count = 1,
                         .window = absl::Hours(24)});
  plan.limits.push_back({.rule_id = "promotion-3-per-week", .counter = "r:promotion-3-per-week", .count = 3,
                         .window = absl::Hours(24 * 7)});
  return plan;
}

// The marker tactd stores with a final decision ("m4;", decision/marker.h): the fingerprint, version, digest, the
// decision time and the plan's hash, not the plan. `m3`: the whole plan, as versions before 2026-12 stored.
std::string BenchMarker(std::string_view version, const policy::Plan& plan, absl::Time now, bool m3 = false) {
  decision::Marker m{.policy_version = std::string(version),
                     .policy_digest = std::string(64, 'a'),
                     .plan = plan,
                     .fingerprint = decision::Fingerprint{.message_class = v1::PROMOTION,
                                                          .channel = v1::EMAIL,
                                                          .campaign_hash = 4'611'686'018'427'387'904},
                     .decided_at_ms = absl::ToUnixMillis(now)};
  if (m3) m.decided_at_ms.reset();
  return decision::EncodeMarker(m);
}

// The marker the bench sends for `plan`: BenchMarker's, or --marker-bytes of padding behind "m4;".
std::string BenchMarker(const Options& o, std::string_view version, const policy::Plan& plan, absl::Time now) {
  if (o.marker_bytes <= 0) return BenchMarker(version, plan, now);
  std::string m = "m4;";
  m.resize(static_cast<size_t>(std::max(o.marker_bytes, 3)), 'x');
  return m;
}

// The arguments of a command in Redis' wire format, read back by hiredis' reader (an array of bulk strings), as
// tests/unit/store/redis_check_call_test.cc does.
std::vector<std::string> WireArgs(std::string_view wire) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
  redisReaderFeed(reader.get(), wire.data(), wire.size());
  void* raw = nullptr;
  std::vector<std::string> args;
  if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK || raw == nullptr) return args;
  const store::RedisReplyPtr r(static_cast<redisReply*>(raw));
  for (size_t i = 0; i < r->elements; ++i) args.emplace_back(r->element[i]->str, r->element[i]->len);
  return args;
}

// redis-benchmark running check.lua via EVALSHA with random customers and event ids.
// `legacy`: the check's legacy-prefix argument: a legacy prefix (redis.legacy_keys=true, the upgrade window;
// legacy.lua), "" (legacy_keys false: layout v1 is still looked for) or "-" (redis.older_layouts false).
constexpr char kLegacyArg[] = "tact:{acme:__rand_int__}:";
double RawEvalsha(int port, const Options& o, int pipeline, const std::string& sha, const std::string& marker,
                  const std::string& legacy = kLegacyArg) {
  // check.lua's call for one check of BenchPlan, as RedisCounterStore builds it (store::BuildCall), for the customer
  // prefix "tact:{00000000000000000000__rand_int__}:" (the tag stands for keys.h's 32 hex digits: redis-benchmark
  // has no HMAC) and the event "e__rand_int__"; its legacy-prefix argument (the fifth of the check's, which come
  // last) set to `legacy`.
  const policy::Plan plan = BenchPlan();
  const store::CustomerCheck check{.tenant = "acme", .customer_id = "c", .event_id = "e__rand_int__",
                                   .now = SystemClock().Now(), .spec = decision::ToCheckSpec(plan), .marker = marker};
  const std::vector<std::string> prefix = {"tact:{00000000000000000000__rand_int__}:"};
  std::vector<std::string> call = WireArgs(
      store::BuildCall(sha, {&check, 1}, prefix, absl::Hours(72), /*older_layouts=*/legacy != "-").wire);
  call[call.size() - 2 - plan.limits.size()] = legacy;
  std::vector<std::string> argv = {"redis-benchmark", "-p", std::to_string(port), "-c", std::to_string(o.connections),
                                   "-n", std::to_string(o.requests), "-P", std::to_string(pipeline), "-r",
                                   "100000000", "-q"};
  argv.insert(argv.end(), call.begin(), call.end());
  const std::string out = Capture(argv);
  std::smatch m;
  static const std::regex kRps(R"(([0-9.]+) requests per second)");
  return std::regex_search(out, m, kRps) ? std::stod(m[1]) : 0;
}

// Our store: `connections` threads, each deciding batches of `batch` random customers until `requests` are done.
double Ours(int port, const Options& o, int batch, RedisSettings::Batching mode, const store::RedisTlsSettings& tls = {}) {
  SystemClock clock;
  RedisSettings s;
  s.port = port;
  s.tls = tls;
  s.pool_size = o.connections;
  s.batching = mode;
  RedisCounterStore store(s, clock);
  const policy::Plan plan = BenchPlan();
  const store::CheckSpec spec = decision::ToCheckSpec(plan);
  const std::string marker = BenchMarker(o, "2026.11.1", plan, clock.Now());
  std::atomic<int> left{o.requests};
  std::atomic<int> errors{0};
  // Every call draws its own customers and event ids: a call that met the events of an earlier one would measure
  // the duplicate path (a seen-marker read) instead of deciding.
  static std::atomic<uint64_t> calls{0};
  const uint64_t call = calls.fetch_add(1);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < o.connections; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(call * 1000003 + static_cast<uint64_t>(t));
      std::vector<CustomerCheck> checks(static_cast<size_t>(batch));
      while (left.fetch_sub(batch) > 0) {
        const absl::Time now = clock.Now();
        for (CustomerCheck& c : checks) {
          c = CustomerCheck{.tenant = "acme",
                            .customer_id = absl::StrCat(rng() % 100000000),
                            .event_id = absl::StrCat("e", rng()),
                            .now = now,
                            .spec = spec,
                            .marker = marker};
        }
        if (!store.CheckAndReserve(checks, now + absl::Seconds(5)).ok()) ++errors;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (errors.load() > 0) std::fprintf(stderr, "redis_store_bench: %d store errors\n", errors.load());
  return o.requests / secs;
}

// redis-server's CPU per EVALSHA since the last CONFIG RESETSTAT (INFO commandstats usec_per_call), in µs.
double EvalshaMicros(redisContext* c) {
  store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c, "INFO commandstats")));
  const char* p = r ? std::strstr(r->str, "cmdstat_evalsha:") : nullptr;
  p = p ? std::strstr(p, "usec_per_call=") : nullptr;
  return p ? std::atof(p + std::strlen("usec_per_call=")) : 0;
}

long long UsedMemory(redisContext* c) {
  store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c, "INFO memory")));
  const char* p = r ? std::strstr(r->str, "used_memory:") : nullptr;
  return p ? std::atoll(p + std::strlen("used_memory:")) : 0;
}

// The sizes of db 0's key table and expiry table (DEBUG HTSTATS), and whether either is being rehashed into a larger
// one (a resize: Redis then moves a few buckets in every command that follows, a cost that would fall on whichever
// run came next).
struct Tables {
  long long keys = 0;
  long long expires = 0;
  bool rehashing = false;
  bool operator==(const Tables&) const = default;
};

Tables HashTables(redisContext* c) {
  store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c, "DEBUG HTSTATS 0")));
  Tables t;
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return t;
  const absl::string_view text(r->str, r->len);
  const size_t expires = text.find("[Expires HT]");
  auto size = [&](size_t from) {
    const size_t at = text.find("table size: ", from);
    return at == absl::string_view::npos ? 0LL : std::atoll(text.data() + at + std::strlen("table size: "));
  };
  t.keys = size(0);
  t.expires = expires == absl::string_view::npos ? 0 : size(expires);
  t.rehashing = absl::StrContains(text, "rehashing target");
  return t;
}

// Waits (polling, up to two minutes) until no table of db 0 is being rehashed; returns its tables.
Tables Rehashed(redisContext* c) {
  Tables t = HashTables(c);
  for (int i = 0; i < 2400 && t.rehashing; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // Redis' cron rehashes 1 ms of every 100
    t = HashTables(c);
  }
  return t;
}

long long DbSize(redisContext* c) {
  store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(c, "DBSIZE")));
  return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
}

// store.warning when db 0's tables are not what they were `before` the runs: the --ballast that leaves them room
// (a table of T buckets grows when it holds T keys; a ballast of T/2 + 1 keys makes it T).
void WarnIfResized(redisContext* admin, const Tables& before, long long ballast) {
  const Tables after = HashTables(admin);
  if (after == before) return;
  const long long added = DbSize(admin) - ballast;
  long long table = 1;
  while (table / 2 <= added) table *= 2;
  std::printf("store.warning the key tables grew during the runs (keys %lld->%lld, expires %lld->%lld%s), so a "
              "rehash fell on some of them: run again with --ballast %lld (these runs added %lld keys)\n",
              before.keys, after.keys, before.expires, after.expires, after.rehashing ? ", rehashing" : "",
              table / 2 + 1, added);
}

struct CpuRun {
  double rate = 0;       // decisions per second
  double redis_us = 0;   // redis-server CPU per decision, µs
  double client_us = 0;  // this process' CPU per decision, µs (the store client: encode, TLS, parse)
};

CpuRun MeasureCpu(pid_t redis_pid, int port, const Options& o, int batch, const store::RedisTlsSettings& tls) {
  const double redis0 = CpuMicros(redis_pid);
  const double self0 = CpuMicros(0);
  CpuRun r;
  r.rate = Ours(port, o, batch, RedisSettings::Batching::kOneScript, tls);
  r.redis_us = (CpuMicros(redis_pid) - redis0) / o.requests;
  r.client_us = (CpuMicros(0) - self0) / o.requests;
  return r;
}

// ---- Redis CPU per decision: the default policy against the floor and INCRBY + EXPIRE -------------------------

// A PROMOTION by email under policies/default at `now`: its 4 signal checks and 2 calendar caps.
policy::Plan DefaultPlan(const policy::Policy& pol, absl::Time now) {
  const Event e{.event_id = "e", .tenant = "acme", .customer_id = "c", .channel = v1::EMAIL,
                .message_class = v1::PROMOTION, .customer_timezone = "UTC"};
  return policy::PlanEvent(pol, e, now);
}

// The customers of one run: new ones (ids never used before) or returning ones (a pool per thread, decided before).
struct Customers {
  bool returning = false;
  uint64_t run = 0;  // distinct for every measured run
  std::string Id(int thread, int64_t i) const {
    return absl::StrCat(returning ? "p" : "n", run, "-", thread, "-", i);
  }
};

// `connections` threads, each handling requests / connections customers in batches of `batch`:
// fn(thread, first customer index, batch size).
template <typename Fn>
void RunThreads(const Options& o, int batch, Fn fn) {
  const int64_t per_thread = o.requests / o.connections;
  std::vector<std::thread> threads;
  for (int t = 0; t < o.connections; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t i = 0; i < per_thread; i += batch) fn(t, i, static_cast<int>(std::min<int64_t>(batch, per_thread - i)));
    });
  }
  for (std::thread& th : threads) th.join();
}

// A store on `port` as the bench uses it (--connections connections).
std::unique_ptr<RedisCounterStore> BenchStore(int port, const Options& o, bool older_layouts = true,
                                              RedisSettings::Checks where = RedisSettings::Checks::kCompareAndSet,
                                              RedisSettings::Guess guess = RedisSettings::Guess::kAuto) {
  static SystemClock clock;
  RedisSettings s;
  s.port = port;
  s.older_layouts = older_layouts;
  s.checks = where;
  s.guess_new = guess;
  s.pool_size = o.connections;
  return std::make_unique<RedisCounterStore>(s, clock);
}

// Decides a PROMOTION for each customer with `store` (a tactd that lives on).
void DecideWith(RedisCounterStore& store, const Options& o, const policy::Policy& pol, const Customers& who) {
  SystemClock clock;
  const absl::Time start = clock.Now();
  const policy::Plan plan = DefaultPlan(pol, start);
  const store::CheckSpec spec = decision::ToCheckSpec(plan);
  const std::string marker = BenchMarker(o, "2026.11.2", plan, start);
  static std::atomic<uint64_t> events{0};
  std::atomic<int> errors{0};
  RunThreads(o, o.batch, [&](int t, int64_t first, int n) {
    std::vector<CustomerCheck> checks(static_cast<size_t>(n));
    const absl::Time now = clock.Now();
    for (int k = 0; k < n; ++k) {
      checks[static_cast<size_t>(k)] = CustomerCheck{.tenant = "acme", .customer_id = who.Id(t, first + k),
                                                     .event_id = absl::StrCat("e", events.fetch_add(1)), .now = now,
                                                     .spec = spec, .marker = marker};
    }
    if (!store.CheckAndReserve(checks, now + absl::Seconds(5)).ok()) ++errors;
  });
  if (errors.load() > 0) std::fprintf(stderr, "redis_store_bench: %d store errors\n", errors.load());
}

// Decides a PROMOTION for each customer with a store of its own (a tactd that knows none of them).
void DecideDefault(int port, const Options& o, const policy::Policy& pol, const Customers& who,
                   bool older_layouts = true,
                   RedisSettings::Checks where = RedisSettings::Checks::kCompareAndSet,
                   RedisSettings::Guess guess = RedisSettings::Guess::kAuto) {
  DecideWith(*BenchStore(port, o, older_layouts, where, guess), o, pol, who);
}

// This thread's connection to `port` (made on first use, and again for another port).
redisContext* ThreadConnection(int port) {
  thread_local store::RedisContextPtr c;
  thread_local int c_port = 0;
  if (c == nullptr || c_port != port) {
    c.reset(redisConnect("127.0.0.1", port));
    c_port = port;
  }
  return c.get();
}

// Reads `n` replies of what was appended on `c`, and drops them.
void DrainReplies(redisContext* c, int n) {
  for (int k = 0; k < n; ++k) {
    void* r = nullptr;
    if (redisGetReply(c, &r) == REDIS_OK) freeReplyObject(r);
  }
}

// The floor: one EVALSHA per batch of a script that GETs and SETs (PX) one key per customer.
constexpr char kFloorLua[] =
    "for i = 1, #KEYS do redis.call('GET', KEYS[i]) redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2]) end "
    "return #KEYS";

void Floor(int port, const Options& o, const std::string& floor_sha, const Customers& who) {
  const store::KeySchema keys;
  RunThreads(o, o.batch, [&](int t, int64_t first, int n) {
    redisContext* const c = ThreadConnection(port);
    std::vector<std::string> args{"EVALSHA", floor_sha, std::to_string(n)};
    for (int k = 0; k < n; ++k) args.push_back(keys.CustomerPrefix("acme", who.Id(t, first + k)) + "f");
    args.push_back("1");
    args.push_back("86400000");
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    store::RedisReplyPtr(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
  });
}

// ratelimit's pattern: INCRBY + EXPIRE per customer, pipelined per batch.
void IncrExpire(int port, const Options& o, const Customers& who) {
  const store::KeySchema keys;
  RunThreads(o, o.batch, [&](int t, int64_t first, int n) {
    redisContext* const c = ThreadConnection(port);
    for (int k = 0; k < n; ++k) {
      const std::string key = keys.CustomerPrefix("acme", who.Id(t, first + k)) + "i";
      redisAppendCommand(c, "INCRBY %b 1", key.data(), key.size());
      redisAppendCommand(c, "EXPIRE %b 86400", key.data(), key.size());
    }
    DrainReplies(c, 2 * n);
  });
}

// What a new customer's decision would cost Redis in one round-trip: its event's marker key and its key read (MGET)
// and its key created (SET NX PX, a value of `value_bytes`) sent together, per customer, pipelined per batch; tactd's
// compare_and_set sends them one after the other (it decides between them). The commands are the same, so at
// --batch 1 the difference is what a round-trip costs Redis (a read event, a write of the reply).
void OneTrip(int port, const Options& o, const Customers& who, size_t value_bytes) {
  const store::KeySchema keys;
  const std::string value(value_bytes, 'v');
  static std::atomic<uint64_t> events{0};
  RunThreads(o, o.batch, [&](int t, int64_t first, int n) {
    redisContext* const c = ThreadConnection(port);
    for (int k = 0; k < n; ++k) {
      const std::string prefix = keys.CustomerPrefix("acme", who.Id(t, first + k)) + "o";
      const std::string seen = store::SeenKey(prefix, absl::StrCat("e", events.fetch_add(1)));
      const std::string key = store::CustomerKey(prefix);
      redisAppendCommand(c, "MGET %b %b", seen.data(), seen.size(), key.data(), key.size());
      redisAppendCommand(c, "SET %b %b NX PX 86400000", key.data(), key.size(), value.data(), value.size());
    }
    DrainReplies(c, 2 * n);
  });
}

// Redis calls per decision made inside scripts since the last CONFIG RESETSTAT, e.g. "3.00 (mget=1.00 set=2.00)".
std::string ScriptCalls(redisContext* admin, int decisions) {
  store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(admin, "INFO commandstats")));
  double total = 0;
  std::string detail;
  for (absl::string_view line : absl::StrSplit(absl::string_view(r->str, r->len), "\r\n")) {
    if (!absl::ConsumePrefix(&line, "cmdstat_")) continue;
    const absl::string_view name = line.substr(0, line.find(':'));
    if (name == "evalsha" || name == "info" || absl::StartsWith(name, "config") || absl::StartsWith(name, "script")) {
      continue;
    }
    const size_t at = line.find("calls=") + 6;
    const double per = std::atof(std::string(line.substr(at, line.find(',', at) - at)).c_str()) / decisions;
    total += per;
    absl::StrAppend(&detail, detail.empty() ? "" : " ", name, "=", absl::StrFormat("%.2f", per));
    if (const size_t u = line.find("usec="); u != absl::string_view::npos) {  // wall time inside Redis
      const double usec = std::atof(std::string(line.substr(u + 5, line.find(',', u) - u - 5)).c_str()) / decisions;
      absl::StrAppend(&detail, absl::StrFormat("/%.2fus", usec));
    }
  }
  return absl::StrFormat("%.2f (%s)", total, detail);
}

// The customers of one measured run (`run`: distinct for each). Returning ones are decided --history times before it
// (and their floor and incr keys written), so every run measures decisions of customers holding exactly that many
// markers (a pool decided again in each round would hold more every round).
Customers RunCustomers(int port, const Options& o, const policy::Policy& pol, const std::string& floor_sha,
                       bool returning, uint64_t run) {
  const Customers who{.returning = returning, .run = run};
  if (returning) {
    for (int h = 0; h < o.history; ++h) DecideDefault(port, o, pol, who);
    Floor(port, o, floor_sha, who);
    IncrExpire(port, o, who);
  }
  return who;
}

// store.guess_new: new, then returning customers decided with guess_new kAlways, kNever and kAuto (each run its own
// customers from `customers`, by a store that knows none of them: returning ones were decided by another tactd),
// rounds interleaved, beside INCRBY + EXPIRE for the same customers as kAlways'; and returning customers decided
// before by the same store (known: kAuto, a tactd that lives on; `run` numbers their customers). `cpu` measures a run.
template <typename Who, typename Cpu>
void GuessNewFigure(int port, const Options& o, const policy::Policy& pol, Who customers, Cpu cpu, uint64_t& run) {
  auto incr = [&](const Customers& who) { IncrExpire(port, o, who); };
  auto decide = [&](const Customers& who, RedisSettings::Guess guess) {
    DecideDefault(port, o, pol, who, /*older_layouts=*/false, RedisSettings::Checks::kCompareAndSet, guess);
  };
  auto known = [&] {  // customers decided --history times by the store that decides them again
    const std::unique_ptr<RedisCounterStore> store = BenchStore(port, o, /*older_layouts=*/false);
    const Customers who{.returning = true, .run = ++run};
    for (int h = 0; h < o.history; ++h) DecideWith(*store, o, pol, who);
    return cpu([&] { DecideWith(*store, o, pol, who); });
  };
  for (const bool returning : {false, true}) {
    std::vector<double> always, never, automatic, incr_expire, same_tactd;
    for (int r = 0; r < o.rounds; ++r) {
      if (returning) same_tactd.push_back(known());
      const Customers who = customers(returning);
      always.push_back(cpu([&] { decide(who, RedisSettings::Guess::kAlways); }));
      incr_expire.push_back(cpu([&] { incr(who); }));
      const Customers others = customers(returning);
      never.push_back(cpu([&] { decide(others, RedisSettings::Guess::kNever); }));
      const Customers more = customers(returning);
      automatic.push_back(cpu([&] { decide(more, RedisSettings::Guess::kAuto); }));
    }
    std::vector<double> q;
    for (size_t k = 0; k < always.size(); ++k) q.push_back(always[k] / never[k]);
    std::sort(q.begin(), q.end());
    const double i = Median(incr_expire);
    const std::string known_text =
        returning ? absl::StrFormat(" known=%.2f (%.2fx incr_expire)", Median(same_tactd), Median(same_tactd) / i)
                  : "";
    std::printf("store.guess_new ratio=%.2f (rounds %.2f-%.2f) customers=%s redis_us_per_decision always=%.2f "
                "never=%.2f auto=%.2f incr_expire=%.2f vs_incr_expire always=%.2f never=%.2f auto=%.2f%s batch=%d "
                "connections=%d\n",
                q[q.size() / 2], q.front(), q.back(), returning ? "returning" : "new", Median(always), Median(never),
                Median(automatic), i, Median(always) / i, Median(never) / i, Median(automatic) / i,
                known_text.c_str(), o.batch, o.connections);
    std::fflush(stdout);
  }
}

void CpuPerDecision(pid_t redis_pid, int port, redisContext* admin, const Options& o) {
  std::optional<policy::Policy> pol = DefaultPolicy();
  if (!pol) return;
  {
    const absl::Time now = SystemClock().Now();
    const policy::Plan plan = DefaultPlan(*pol, now);
    std::printf("store.marker_bytes m3=%zu m4=%zu plan=default_promotion\n",
                BenchMarker("2026.11.2", plan, now, /*m3=*/true).size(), BenchMarker("2026.11.2", plan, now).size());
  }
  const std::string floor_sha =
      store::RedisReplyPtr(static_cast<redisReply*>(redisCommand(admin, "SCRIPT LOAD %s", kFloorLua)))->str;
  auto cpu = [&](auto run) {
    const double before = CpuMicros(redis_pid);
    run();
    return (CpuMicros(redis_pid) - before) / o.requests;
  };
  const Tables before = Rehashed(admin);  // the ballast's last resize done
  uint64_t run = 0;
  auto customers = [&](bool returning) { return RunCustomers(port, o, *pol, floor_sha, returning, ++run); };
  // The bytes of a new customer's key after one default-policy PROMOTION (its marker, its counters).
  size_t new_key_bytes = 0;
  {
    const Customers probe{.run = ++run};
    Options one = o;
    one.requests = 1;
    one.connections = 1;
    DecideDefault(port, one, *pol, probe, /*older_layouts=*/false);
    const std::string key = store::CustomerKey(store::KeySchema().CustomerPrefix("acme", probe.Id(0, 0)));
    store::RedisReplyPtr r(static_cast<redisReply*>(redisCommand(admin, "STRLEN %b", key.data(), key.size())));
    new_key_bytes = r != nullptr && r->type == REDIS_REPLY_INTEGER ? static_cast<size_t>(r->integer) : 0;
  }
  for (const bool returning : {false, true}) {
    std::vector<double> ours, floor, incr, off, script, one_trip;
    std::string calls, off_calls, script_calls;
    for (int r = 0; r < o.rounds; ++r) {  // interleaved
      const Customers who = customers(returning);
      redisCommand(admin, "CONFIG RESETSTAT");
      ours.push_back(cpu([&] { DecideDefault(port, o, *pol, who); }));
      calls = ScriptCalls(admin, o.requests);
      floor.push_back(cpu([&] { Floor(port, o, floor_sha, who); }));
      incr.push_back(cpu([&] { IncrExpire(port, o, who); }));
      {  // the same decided by check.lua (redis.checks script): other new customers, or the same returning ones
        const Customers others = customers(returning);
        redisCommand(admin, "CONFIG RESETSTAT");
        script.push_back(cpu([&] {
          DecideDefault(port, o, *pol, others, /*older_layouts=*/returning, RedisSettings::Checks::kScript);
        }));
        script_calls = ScriptCalls(admin, o.requests);
      }
      if (!returning) {  // the same with redis.older_layouts false (other new customers)
        const Customers others{.run = ++run};
        redisCommand(admin, "CONFIG RESETSTAT");
        off.push_back(cpu([&] { DecideDefault(port, o, *pol, others, /*older_layouts=*/false); }));
        off_calls = ScriptCalls(admin, o.requests);
        const Customers more{.run = ++run};
        one_trip.push_back(cpu([&] { OneTrip(port, o, more, new_key_bytes); }));
      }
    }
    const double us = Median(ours), f = Median(floor), i = Median(incr);
    std::printf("%s vs_floor=%.2f vs_incr_expire=%.2f redis_us_per_decision ours=%.2f floor=%.2f incr_expire=%.2f "
                "calls_per_decision=%s batch=%d connections=%d rounds=%d marker_bytes=%s history=%d\n",
                returning ? "store.cpu_returning" : "store.cpu_new", us / f, us / i, us, f, i, calls.c_str(), o.batch,
                o.connections, o.rounds, o.marker_bytes > 0 ? absl::StrCat(o.marker_bytes).c_str() : "encoded",
                returning ? o.history : 0);
    {
      // compare_and_set against check.lua deciding the same (new customers: both with the older layouts off)
      const std::vector<double>& cas = returning ? ours : off;
      std::vector<double> q;
      for (size_t k = 0; k < cas.size(); ++k) q.push_back(cas[k] / script[k]);
      std::sort(q.begin(), q.end());
      std::printf("%s ratio=%.2f (rounds %.2f-%.2f) redis_us_per_decision compare_and_set=%.2f script=%.2f "
                  "vs_floor compare_and_set=%.2f script=%.2f calls_per_decision compare_and_set=%s script=%s "
                  "batch=%d\n",
                  returning ? "store.cpu_returning_checks" : "store.cpu_new_checks", q[q.size() / 2], q.front(),
                  q.back(), Median(cas), Median(script), Median(cas) / f, Median(script) / f,
                  (returning ? calls : off_calls).c_str(), script_calls.c_str(), o.batch);
    }
    if (!returning) {
      std::vector<double> q;
      for (size_t k = 0; k < ours.size(); ++k) q.push_back(ours[k] / off[k]);
      std::sort(q.begin(), q.end());
      std::printf("store.cpu_new_older_layouts ratio=%.2f (rounds %.2f-%.2f) redis_us_per_decision on=%.2f off=%.2f "
                  "calls_per_decision on=%s off=%s batch=%d connections=%d rounds=%d\n",
                  q[q.size() / 2], q.front(), q.back(), us, Median(off), calls.c_str(), off_calls.c_str(), o.batch,
                  o.connections, o.rounds);
      std::printf("store.one_trip ratio=%.2f redis_us_per_decision compare_and_set=%.2f one_trip=%.2f "
                  "incr_expire=%.2f vs_incr_expire compare_and_set=%.2f one_trip=%.2f key_bytes=%zu batch=%d "
                  "connections=%d\n",
                  Median(off) / Median(one_trip), Median(off), Median(one_trip), i, Median(off) / i,
                  Median(one_trip) / i, new_key_bytes, o.batch, o.connections);
    }
    std::fflush(stdout);
  }
  GuessNewFigure(port, o, *pol, customers, cpu, run);
  WarnIfResized(admin, before, o.ballast);
  redisCommand(admin, "FLUSHALL");
}

// store.legacy_keys and store.older_layouts (--probe-only 1): per new customer's check (redis-benchmark, one check
// per call, --batch calls pipelined) with the legacy prefix, with layout v1 only, and with no older layout, rounds
// interleaved: EVALSHA time (INFO commandstats usec_per_call, wall time inside Redis) and redis-server CPU (/proc,
// the whole server: network included) per check; the ratios paired per round (on a shared machine drift hits a
// round's three runs alike).
void ProbeCost(pid_t redis_pid, int port, redisContext* admin, const Options& o, const std::string& sha,
               const std::string& marker) {
  struct Variant {
    const char* arg;
    std::vector<double> us, cpu;
  };
  Variant legacy{kLegacyArg}, v1{""}, none{"-"};
  for (int r = 0; r < o.rounds; ++r) {
    for (Variant* v : {&legacy, &v1, &none}) {
      redisCommand(admin, "FLUSHALL");
      redisCommand(admin, "CONFIG RESETSTAT");
      const double before = CpuMicros(redis_pid);
      RawEvalsha(port, o, o.batch, sha, marker, v->arg);
      v->cpu.push_back((CpuMicros(redis_pid) - before) / o.requests);
      v->us.push_back(EvalshaMicros(admin));
    }
  }
  redisCommand(admin, "FLUSHALL");
  // "median (min-max)" of a's over b's per round.
  auto ratios = [](const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> q;
    for (size_t i = 0; i < a.size(); ++i) q.push_back(a[i] / b[i]);
    std::sort(q.begin(), q.end());
    return absl::StrFormat("%.2f (%.2f-%.2f)", q[q.size() / 2], q.front(), q.back());
  };
  auto figure = [](const std::vector<double>& v) {
    std::vector<double> w = v;
    std::sort(w.begin(), w.end());
    return absl::StrFormat("%.1f (%.1f-%.1f)", w[w.size() / 2], w.front(), w.back());
  };
  std::printf("store.legacy_keys ratio=%s redis_us_per_check with_legacy=%s without=%s; redis_cpu_us_per_check "
              "ratio=%s with_legacy=%s without=%s (new customers) rounds=%d\n",
              ratios(legacy.us, v1.us).c_str(), figure(legacy.us).c_str(), figure(v1.us).c_str(),
              ratios(legacy.cpu, v1.cpu).c_str(), figure(legacy.cpu).c_str(), figure(v1.cpu).c_str(), o.rounds);
  std::printf("store.older_layouts ratio=%s redis_us_per_check on=%s off=%s; redis_cpu_us_per_check ratio=%s "
              "on=%s off=%s (new customers, legacy_keys off; with legacy_keys on: ratio=%s cpu_ratio=%s) "
              "rounds=%d\n",
              ratios(v1.us, none.us).c_str(), figure(v1.us).c_str(), figure(none.us).c_str(),
              ratios(v1.cpu, none.cpu).c_str(), figure(v1.cpu).c_str(), figure(none.cpu).c_str(),
              ratios(legacy.us, none.us).c_str(), ratios(legacy.cpu, none.cpu).c_str(), o.rounds);
  std::fflush(stdout);
}

// Memory per active customer: 10,000 customers with one released promotion each (two rolling windows, as
// earlier versions of this bench measured, then the default policy's PROMOTION), and with four decisions each (one
// release, three suppressions: four live decision markers).
void Memory(redisContext* admin, int port, const Options& o) {
  redisCommand(admin, "FLUSHALL");
  long long before = UsedMemory(admin);
  Options mem = o;
  mem.requests = 10000;
  mem.connections = 1;
  Ours(port, mem, 100, RedisSettings::Batching::kOneScript);
  long long after = UsedMemory(admin);
  std::printf("store.memory bytes_per_customer=%.0f customers=10000 plan=two_rolling_windows empty_server=%lld bytes\n",
              static_cast<double>(after - before) / 10000.0, before);
  std::optional<policy::Policy> pol = DefaultPolicy();
  if (!pol) return;
  mem.batch = 100;
  for (const int decisions : {1, 4}) {
    redisCommand(admin, "FLUSHALL");
    before = UsedMemory(admin);
    for (int d = 0; d < decisions; ++d) DecideDefault(port, mem, *pol, Customers{.run = 999});
    after = UsedMemory(admin);
    std::printf("store.memory bytes_per_customer=%.0f customers=10000 plan=default_promotion decisions=%d "
                "marker_bytes=%s keys=%lld\n",
                static_cast<double>(after - before) / 10000.0, decisions,
                o.marker_bytes > 0 ? absl::StrCat(o.marker_bytes).c_str() : "encoded", DbSize(admin));
  }
  redisCommand(admin, "FLUSHALL");
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::printf("usage: redis_store_bench [--connections 4] [--requests 100000] [--batch 32] [--rounds 3] "
                  "[--cpu-only 1] [--probe-only 1]\n(the figures: the comment at the top of bench/redis_store_bench.cc)\n");
      return 0;
    }
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (flag == "--connections") o.connections = v;
    else if (flag == "--requests") o.requests = v;
    else if (flag == "--batch") o.batch = v;
    else if (flag == "--rounds") o.rounds = v;
    else if (flag == "--cpu-only") o.cpu_only = v != 0;
    else if (flag == "--probe-only") o.probe_only = v != 0;
    else if (flag == "--memory-only") o.memory_only = v != 0;
    else if (flag == "--marker-bytes") o.marker_bytes = v;
    else if (flag == "--history") o.history = std::max(v, 1);
    else if (flag == "--ballast") o.ballast = std::max(v, 0);
    else {
      std::fprintf(stderr, "redis_store_bench: unknown flag %s (see the comment at the top of "
                           "bench/redis_store_bench.cc)\n", flag.c_str());
      return 2;
    }
  }
  std::error_code ec;
  const std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  const std::string dir = (ec ? std::filesystem::path("/tmp") : tmp) / absl::StrCat("tact-bench-", getpid());
  if (std::filesystem::create_directories(dir, ec); ec) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  const int port = FreePort();
  const int tls_port = FreePort();
  // A CA and a server certificate for 127.0.0.1, for the TLS figures.
  Capture({"sh", "-c",
           absl::StrCat("cd '", dir, "' && E='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && ",
                        "openssl req -x509 $E -keyout ca.key -out ca.crt -days 1 -subj /CN=bench-ca 2>/dev/null && ",
                        "openssl req $E -keyout server.key -out server.csr -subj /CN=bench 2>/dev/null && ",
                        "echo subjectAltName=IP:127.0.0.1 > ext && openssl x509 -req -in server.csr -CA ca.crt ",
                        "-CAkey ca.key -CAcreateserial -out server.crt -days 1 -extfile ext 2>/dev/null")});
  const store::RedisTlsSettings tls{.enabled = true, .ca_file = dir + "/ca.crt"};
  pid_t redis_pid = 0;
  {
    std::vector<std::string> a{"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--dir", dir,
                               "--save", "", "--appendonly", "no", "--logfile", dir + "/redis.log",
                               "--tls-port", std::to_string(tls_port), "--tls-cert-file", dir + "/server.crt",
                               "--tls-key-file", dir + "/server.key", "--tls-ca-cert-file", dir + "/ca.crt",
                               "--tls-auth-clients", "no", "--enable-debug-command", "local"};
    std::vector<char*> args;
    for (std::string& s : a) args.push_back(s.data());
    args.push_back(nullptr);
    posix_spawnp(&redis_pid, args[0], nullptr, nullptr, args.data(), environ);
  }
  store::RedisContextPtr admin;
  for (int i = 0; i < 200 && (admin == nullptr || admin->err != 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));  // start-up poll
    admin.reset(redisConnect("127.0.0.1", port));
  }
  const std::string sha =
      store::RedisReplyPtr(static_cast<redisReply*>(redisCommand(admin.get(), "SCRIPT LOAD %b", store::kCheckLua.data(),
                                                                 store::kCheckLua.size())))->str;
  const std::string marker = BenchMarker(o, "2026.11.1", BenchPlan(), SystemClock().Now());
  if (o.ballast > 0) {
    store::RedisReplyPtr(static_cast<redisReply*>(redisCommand(admin.get(), "DEBUG POPULATE %d ballast 16", o.ballast)));
    store::RedisReplyPtr(static_cast<redisReply*>(redisCommand(
        admin.get(), "EVAL %s 0 %d",
        "for i = 0, tonumber(ARGV[1]) - 1 do redis.call('PEXPIRE', 'ballast:' .. i, 86400000) end", o.ballast)));
  }
  if (o.memory_only) {
    Memory(admin.get(), port, o);
    o.cpu_only = true;  // and nothing else
  } else if (o.probe_only) {
    ProbeCost(redis_pid, port, admin.get(), o, sha, marker);
  } else {
    CpuPerDecision(redis_pid, port, admin.get(), o);
  }
  if (o.cpu_only || o.probe_only) {
    kill(redis_pid, SIGTERM);
    waitpid(redis_pid, nullptr, 0);
    std::filesystem::remove_all(dir, ec);
    return 0;
  }

  std::vector<double> raw1, rawp, ours1, oursp, ourss, us_legacy, us_none, us_off;
  for (int r = 0; r < o.rounds; ++r) {  // interleaved, so drift hits both sides alike
    redisCommand(admin.get(), "CONFIG RESETSTAT");
    raw1.push_back(RawEvalsha(port, o, 1, sha, marker));
    us_legacy.push_back(EvalshaMicros(admin.get()));
    redisCommand(admin.get(), "FLUSHALL");
    redisCommand(admin.get(), "CONFIG RESETSTAT");
    RawEvalsha(port, o, 1, sha, marker, /*legacy=*/"");
    us_none.push_back(EvalshaMicros(admin.get()));
    redisCommand(admin.get(), "FLUSHALL");
    redisCommand(admin.get(), "CONFIG RESETSTAT");
    RawEvalsha(port, o, 1, sha, marker, /*legacy=*/"-");  // redis.older_layouts false
    us_off.push_back(EvalshaMicros(admin.get()));
    ours1.push_back(Ours(port, o, 1, RedisSettings::Batching::kPipelined));
    rawp.push_back(RawEvalsha(port, o, o.batch, sha, marker));
    oursp.push_back(Ours(port, o, o.batch, RedisSettings::Batching::kPipelined));
    ourss.push_back(Ours(port, o, o.batch, RedisSettings::Batching::kOneScript));
    redisCommand(admin.get(), "FLUSHALL");
  }
  const double r1 = Median(raw1), rp = Median(rawp), o1 = Median(ours1), op = Median(oursp), os = Median(ourss);
  const double ul = Median(us_legacy), un = Median(us_none);
  std::printf("store.legacy_keys ratio=%.2f redis_us_per_check with_legacy=%.1f without=%.1f (new customers; "
              "redis.legacy_keys=false saves the difference)\n",
              ul / un, ul, un);
  const double uo = Median(us_off);
  std::printf("store.older_layouts ratio=%.2f redis_us_per_check on=%.1f off=%.1f (new customers, legacy_keys off; "
              "redis.older_layouts=false saves the difference)\n",
              un / uo, un, uo);
  std::printf("store.single ratio=%.2f ours=%.0f/s raw_evalsha=%.0f/s connections=%d\n", o1 / r1, o1, r1,
              o.connections);
  std::printf("store.pipelined ratio=%.2f ours=%.0f/s raw_evalsha_pipelined=%.0f/s batch=%d connections=%d\n",
              op / rp, op, rp, o.batch, o.connections);
  std::printf("store.batch_script ratio=%.2f ours=%.0f/s raw_evalsha_pipelined=%.0f/s vs_unpipelined=%.2f "
              "batch=%d connections=%d\n",
              os / rp, os, rp, os / r1, o.batch, o.connections);

  // TLS vs plaintext, same server, rounds interleaved: CPU per decision on both sides.
  for (const int batch : {1, o.batch}) {
    std::vector<double> plain_redis, tls_redis, plain_client, tls_client, plain_rate, tls_rate;
    for (int r = 0; r < o.rounds; ++r) {
      const CpuRun p = MeasureCpu(redis_pid, port, o, batch, {});
      const CpuRun t = MeasureCpu(redis_pid, tls_port, o, batch, tls);
      plain_redis.push_back(p.redis_us);
      tls_redis.push_back(t.redis_us);
      plain_client.push_back(p.client_us);
      tls_client.push_back(t.client_us);
      plain_rate.push_back(p.rate);
      tls_rate.push_back(t.rate);
      redisCommand(admin.get(), "FLUSHALL");
    }
    const double pr = Median(plain_redis), tr = Median(tls_redis), pc = Median(plain_client),
                 tc = Median(tls_client);
    std::printf("%s ratio=%.2f redis_us_per_decision tls=%.1f plain=%.1f client_ratio=%.2f client_us_per_decision "
                "tls=%.1f plain=%.1f rate tls=%.0f/s plain=%.0f/s batch=%d connections=%d\n",
                batch == 1 ? "store.tls_single" : "store.tls_batch", tr / pr, tr, pr, tc / pc, tc, pc,
                Median(tls_rate), Median(plain_rate), batch, o.connections);
  }

  Memory(admin.get(), port, o);

  kill(redis_pid, SIGTERM);
  waitpid(redis_pid, nullptr, 0);
  std::filesystem::remove_all(dir, ec);
  return 0;
}

}  // namespace
}  // namespace tact::bench

int main(int argc, char** argv) { return tact::bench::Main(argc, argv); }
