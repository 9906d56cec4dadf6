// RedisCounterStore with redis.checks compare_and_set (RedisSettings::Checks): tactd decides, Redis keeps the state.
// On a single node (CasCheckAndReserve; a Redis Cluster's rounds: ClusterCasCheckAndReserve, redis_cas_cluster.cc):
//   1. MGET of every check's marker key and every customer's key (one command for the whole call). With no older
//      layout looked in, the customers this process does not know (KnownCustomers; in a call of several, only while
//      most such customers were new lately: NewCustomerShare, ToGuess) are also decided as new (GuessNew), and their
//      keys created (SET NX PX) in this round-trip: a customer the MGET finds nothing of is done (settled); one whose
//      key exists is decided on what was read (steps 2-3); one with a marker of its event but no key has its create
//      taken back (TakeBack) and is check.lua's (step 4). The other customers' keys are WATCHed before the MGET;
//   1b. while the older layouts are looked in (not sealed), for a customer without a store-v2 key (or moved from an
//      older layout less than the marker TTL ago): EXISTS of what check.lua's probe reads there; when they hold
//      nothing, tactd decides the customer, else check.lua does (step 4);
//   2. each customer's checks decided in order on its key (CustomerDraft, check.lua's check in tactd);
//   3. every changed key is written only if it is unchanged since 1: the watched customers' in one MULTI/EXEC (all
//      or, when one changed, none); a guessed customer's whose key existed by cas.lua (compare and set);
//   4. check.lua decides the checks of the customers tactd leaves to it (CustomerDraft::Check: nullopt) and again
//      those of a customer whose key changed in between (another call or instance wrote it: nothing of theirs was
//      written).
// Dry runs and deferrals write nothing: a call of those is step 1 alone.
#include <algorithm>
#include <functional>
#include <ranges>

#include "absl/strings/str_cat.h"
#include "daemon/store/customer_draft.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_cas_parts.h"
#include "daemon/store/redis_check_call.h"
#include "daemon/store/redis_counter_store.h"

namespace tact::store {
namespace {

// The writes of a call of several customers as MULTI ... EXEC: their keys were WATCHed before they were read, so EXEC
// writes all of them or none (nil: one changed since). Returns the commands and how many replies they get.
std::string TransactionWrite(const std::vector<Customer>& customers, const std::vector<size_t>& writes,
                             const std::vector<std::string>& prefixes, size_t* replies) {
  std::string wire = RedisCommand({"MULTI"}).wire;
  *replies = 2;  // MULTI's and EXEC's
  for (size_t w : writes) {
    const Customer& c = customers[w];
    const CustomerDraft& d = *c.draft;
    RespArgs set;
    if (d.write() == CustomerDraft::Write::kDelete) {
      set.Add("DEL");
      set.Add(c.key);
    } else {
      set.Add("SET");
      set.Add(c.key);
      set.Add(*d.value());
      if (d.write() == CustomerDraft::Write::kSet) {
        set.Add("PX");
        set.Add(d.ttl_ms());
      }
    }
    wire += set.Command().wire;
    ++*replies;
    for (const CustomerDraft::Moved& m : d.moved()) {
      RespArgs move;
      move.Add("SET");
      move.Add(SeenKey(prefixes[c.checks.front()], m.event_id));
      move.Add(m.payload);
      move.Add("PX");
      move.Add(m.ttl_ms);
      wire += move.Command().wire;
      ++*replies;
    }
  }
  wire += RedisCommand({"EXEC"}).wire;
  return wire;
}

// Round-trip 1, sent: [UNWATCH, WATCH of the watched customers' keys,] MGET of every check's marker key, then every
// customer's key.
void SendRead(RedisConnection& redis, std::span<const CustomerCheck> checks, const std::vector<std::string>& prefixes,
              const std::vector<Customer>& customers, bool watch) {
  if (watch) {  // no key of an earlier call stays watched (UNWATCH); these are, before they are read
    RespArgs w;
    w.Add("WATCH");
    for (const Customer& c : customers) {
      if (c.watched) w.Add(c.key);
    }
    redis.Append(RedisCommand({"UNWATCH"}).wire);
    w.Command().AppendTo(redis);
  }
  RespArgs mget;
  mget.Add("MGET");
  for (size_t i = 0; i < checks.size(); ++i) mget.Add(SeenKey(prefixes[i], checks[i].event_id));
  for (const Customer& c : customers) mget.Add(c.key);
  mget.Command().AppendTo(redis);  // one round-trip with the WATCH
}

// Round-trip 1, its replies (SendRead's): the MGET's (`values` values). Every one is read before one fails the call,
// or the stream is out of step.
absl::StatusOr<RedisReplyPtr> ReceiveRead(RedisConnection& redis, size_t values, bool watch) {
  absl::Status watched;
  for (const char* what : {"UNWATCH", "WATCH"}) {
    if (!watch) break;
    absl::StatusOr<RedisReplyPtr> ok = redis.GetReply(what);
    if (!ok.ok()) return ok.status();
    if ((*ok)->type == REDIS_REPLY_ERROR && watched.ok()) watched = ErrorReply(**ok);
  }
  absl::StatusOr<RedisReplyPtr> read = redis.GetReply("MGET");
  if (!read.ok()) return read.status();
  if (!watched.ok()) return watched;
  const redisReply& r = **read;
  if (r.type == REDIS_REPLY_ERROR) return ErrorReply(r);
  if (r.type != REDIS_REPLY_ARRAY || r.elements != values) {
    return absl::InternalError("redis MGET: unexpected reply");
  }
  return read;
}

// Round-trip 1b, with the older layouts looked in (redis.older_layouts, not sealed): for the checks `probe` of
// customers without a store-v2 key, or moved from an older layout less than the marker TTL ago
// (CustomerDraft::LooksInOlderLayouts), whether the older layouts hold anything of theirs, as check.lua's probe finds
// it (OlderLayoutProbe). Sets nothing_older[i] for each check they hold nothing of.
// Those keys need no WATCH: only tactds of earlier versions write them, and those never read store v2's key, so one
// written after this read is as if written after this call, which a check.lua that found nothing there would not
// read again either (check.lua looks again only at a customer it moved: st.old).
absl::Status ProbeOlderLayouts(RedisConnection& redis, std::span<const CustomerCheck> checks,
                               const std::vector<std::string>& prefixes, const std::vector<size_t>& probe,
                               bool legacy_keys, std::vector<char>& nothing_older) {
  for (size_t i : probe) OlderLayoutProbe(checks[i], prefixes[i], legacy_keys).AppendTo(redis);
  absl::Status failed;  // every reply is read, or the stream is out of step
  for (size_t i : probe) {
    absl::StatusOr<RedisReplyPtr> r = redis.GetReply("EXISTS");
    if (!r.ok()) return r.status();
    if ((*r)->type == REDIS_REPLY_ERROR && failed.ok()) failed = ErrorReply(**r);
    nothing_older[i] = NothingOlder(**r);
  }
  return failed;
}

// Round-trip 2 for the watched customers: MULTI, their writes, EXEC; when a watched key changed (EXEC nil) nothing
// was written and every writer is check.lua's.
absl::Status WriteTransaction(RedisConnection& redis, std::vector<Customer>& customers,
                              const std::vector<size_t>& writes, const std::vector<std::string>& prefixes) {
  size_t replies = 0;
  redis.Append(TransactionWrite(customers, writes, prefixes, &replies));
  absl::Status failed;
  for (size_t r = 0; r < replies; ++r) {  // every reply is read, or the stream is out of step
    absl::StatusOr<RedisReplyPtr> reply = redis.GetReply(r + 1 == replies ? "EXEC" : "MULTI");
    if (!reply.ok()) return reply.status();
    if ((*reply)->type == REDIS_REPLY_ERROR && failed.ok()) failed = ErrorReply(**reply);  // EXECABORT, a NOPERM
    if (r + 1 == replies && (*reply)->type == REDIS_REPLY_NIL) {
      for (size_t w : writes) customers[w].script = true;
    }
  }
  return failed;
}

// `command` (cas.lua's, or a SET) sent and its reply read; on NOSCRIPT (Redis restarted, or SCRIPT FLUSH) cas.lua
// loaded (`load`) and the command sent once more.
absl::StatusOr<RedisReplyPtr> SendCas(RedisConnection& redis, const RedisCommand& command, std::string_view what,
                                      const std::function<absl::Status()>& load) {
  command.AppendTo(redis);
  absl::StatusOr<RedisReplyPtr> reply = redis.GetReply(what);
  if (reply.ok() && IsNoScript(**reply)) {
    if (absl::Status s = load(); !s.ok()) return s;
    command.AppendTo(redis);
    reply = redis.GetReply(what);
  }
  return reply;
}

// Round-trip 2 for the customers not watched: cas.lua, or SET NX for one new key (WriteCommand), sent again once after
// `load` on NOSCRIPT; a key changed since it was read makes its customer check.lua's.
absl::Status WriteCas(RedisConnection& redis, const std::string& cas_sha, std::vector<Customer>& customers,
                      const std::vector<size_t>& writes, const std::vector<std::string>& prefixes,
                      const std::function<absl::Status()>& load) {
  bool set_nx = false;
  const RedisCommand write = WriteCommand(cas_sha, customers, writes, prefixes, &set_nx);
  absl::StatusOr<RedisReplyPtr> reply = SendCas(redis, write, set_nx ? "SET" : "EVALSHA cas", load);
  if (!reply.ok()) return reply.status();
  absl::StatusOr<std::vector<bool>> written = Written(**reply, writes.size(), set_nx);
  if (!written.ok()) return written.status();
  for (size_t w = 0; w < writes.size(); ++w) {
    if (!(*written)[w]) customers[writes[w]].script = true;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RedisCounterStore::RunScriptChecks(RedisConnection& c, std::span<const CustomerCheck> checks,
                                                std::span<const std::string> prefixes, std::span<const size_t> items,
                                                bool older_layouts, std::vector<CheckResult>& results) {
  if (items.empty()) return absl::OkStatus();
  const bool one_script = items.size() > 1 && settings_.batching == RedisSettings::Batching::kOneScript &&
                          std::all_of(items.begin(), items.end(),
                                      [&](size_t i) { return checks[i].now == checks[items.front()].now; });
  absl::StatusOr<std::vector<CheckResult>> got;
  if (one_script) {
    got = RunBatchScript(
        c, BuildCall(script_sha_, checks, prefixes, items, settings_.seen_ttl, settings_.legacy_keys, older_layouts),
        items.size());
  } else {
    std::vector<RedisCommand> commands;
    for (const size_t& i : items) {
      commands.push_back(BuildCall(script_sha_, checks, prefixes, std::span(&i, 1), settings_.seen_ttl,
                                   settings_.legacy_keys, older_layouts));
    }
    got = RunChecks(c, commands);
  }
  if (!got.ok()) return got.status();
  for (size_t k = 0; k < items.size(); ++k) results[items[k]] = std::move((*got)[k]);
  return absl::OkStatus();
}

namespace {

// The customers of a call decided as if they were new, before their keys are read: their results, and the SET NX PX
// that creates each one's key, sent in the read's round-trip (compare_and_set's second round-trip, saved when the read
// finds nothing of them: nearly half of Redis' CPU per decision at a moderate rate, docs/benchmarks.md
// "store.one_trip").
struct NewGuess {
  std::vector<Customer> customers;  // the call's, each with its draft on no key
  std::vector<size_t> created;      // the customers whose key is created (the others' guess writes nothing)
  std::vector<CheckResult> results;
  std::string creates;  // their SET NX PX, in `created`'s order
};

// The guess for the customers `guessed` (no older layouts looked in), or nullopt when none of theirs would create
// its key: decided as new, each writes nothing (a dry run, a deferral) or is check.lua's.
std::optional<NewGuess> GuessNew(std::span<const CustomerCheck> checks, const std::vector<Customer>& customers,
                                 const std::vector<char>& guessed, const std::vector<std::string>& prefixes,
                                 const std::string& cas_sha, int64_t seen_ttl_ms) {
  if (std::none_of(guessed.begin(), guessed.end(), [](char g) { return g != 0; })) return std::nullopt;
  redisReply none{};
  none.type = REDIS_REPLY_NIL;
  const std::vector<const redisReply*> seen(checks.size(), &none);
  const std::vector<char> nothing_older(checks.size(), 0);
  NewGuess g{.results = std::vector<CheckResult>(checks.size())};
  std::vector<size_t> probe;
  g.customers.reserve(customers.size());
  for (size_t c = 0; c < customers.size(); ++c) {
    g.customers.push_back(Customer{.key = customers[c].key, .checks = customers[c].checks});
    if (!guessed[c]) continue;
    Draft(checks, none, /*older_layouts=*/false, g.customers[c], probe);
    if (!Decide(checks, seen, g.customers[c], nothing_older, seen_ttl_ms, g.results)) continue;
    bool set_nx = false;
    const RedisCommand create = WriteCommand(cas_sha, g.customers, {c}, prefixes, &set_nx);
    if (!set_nx) continue;
    g.created.push_back(c);
    g.creates += create.wire;
  }
  if (g.created.empty()) return std::nullopt;
  return g;
}

// The read (`values`: the MGET's reply, `n` marker keys first) found nothing of customer `c`: its key and its checks'
// marker keys none.
bool NothingRead(const redisReply& values, size_t n, size_t c, const Customer& customer) {
  const auto none = [&](size_t v) { return values.element[v]->type == REDIS_REPLY_NIL; };
  return none(n + c) && std::all_of(customer.checks.begin(), customer.checks.end(), none);
}

// The guesses of customers `which` taken back (cas.lua: DEL of each key that still holds the guess), sent again once
// after `load` on NOSCRIPT. A key written on top of since is left as it is.
absl::Status TakeBack(RedisConnection& redis, const std::string& cas_sha, const NewGuess& g,
                      const std::vector<size_t>& which, const std::function<absl::Status()>& load) {
  CasCall cas;
  for (size_t c : which) cas.Add(g.customers[c].key, *g.customers[c].draft->value(), 'D', "", 0);
  absl::StatusOr<RedisReplyPtr> reply = SendCas(redis, cas.Command(cas_sha), "EVALSHA cas", load);
  if (!reply.ok()) return reply.status();
  return Written(**reply, which.size(), /*set_nx=*/false).status();
}

// Every customer's draft on its key as read (`values`: the MGET's reply), but a settled one's, and round-trip 1b
// (ProbeOlderLayouts) for the checks that would look in the older layouts.
absl::Status DraftAll(RedisConnection& redis, std::span<const CustomerCheck> checks,
                      const std::vector<std::string>& prefixes, const redisReply& values, bool older_layouts,
                      bool legacy_keys, std::vector<Customer>& customers, std::vector<char>& nothing_older) {
  std::vector<size_t> probe;  // checks that would look in the older layouts
  for (size_t c = 0; c < customers.size(); ++c) {
    if (!customers[c].settled) Draft(checks, *values.element[checks.size() + c], older_layouts, customers[c], probe);
  }
  if (probe.empty()) return absl::OkStatus();
  return ProbeOlderLayouts(redis, checks, prefixes, probe, legacy_keys, nothing_older);
}

// Round-trip 1 (SendRead), with the guess's creates in it when there is one (`guess`, nullable). A customer whose key
// it created and of whom the read found nothing is settled: the guess's results are its. One whose key exists (its
// create did nothing) is decided on what was read and written by cas.lua (a WATCH would see the call's own creates).
// One whose key it created though the read found a marker of its event (a key deleted or evicted before its moved
// markers expired) has its guess taken back and is check.lua's, which decides on what is there then (with the guess
// counted, when another call wrote on top of it in between: the safe direction).
absl::StatusOr<RedisReplyPtr> Read(RedisConnection& redis, std::span<const CustomerCheck> checks,
                                   const std::vector<std::string>& prefixes, std::vector<Customer>& customers,
                                   const NewGuess* guess, const std::string& cas_sha,
                                   const std::function<absl::Status()>& load, std::vector<CheckResult>& results) {
  const bool watch = std::any_of(customers.begin(), customers.end(), [](const Customer& c) { return c.watched; });
  SendRead(redis, checks, prefixes, customers, watch);
  if (guess != nullptr) redis.Append(guess->creates);
  absl::StatusOr<RedisReplyPtr> read = ReceiveRead(redis, checks.size() + customers.size(), watch);
  if (guess == nullptr) return read;
  absl::Status failed = read.status();
  std::vector<size_t> take_back;
  for (size_t c : guess->created) {  // every reply is read, or the stream is out of step
    absl::StatusOr<RedisReplyPtr> created = redis.GetReply("SET");
    if (!created.ok()) return created.status();
    if ((*created)->type == REDIS_REPLY_ERROR && failed.ok()) failed = ErrorReply(**created);
    if (!failed.ok() || (*created)->type != REDIS_REPLY_STATUS) continue;
    if (NothingRead(**read, checks.size(), c, customers[c])) {
      customers[c].settled = true;
      for (size_t i : customers[c].checks) results[i] = guess->results[i];
    } else {
      customers[c].script = true;
      take_back.push_back(c);
    }
  }
  if (!failed.ok()) return failed;
  if (!take_back.empty()) {
    if (absl::Status s = TakeBack(redis, cas_sha, *guess, take_back, load); !s.ok()) return s;
  }
  return read;
}

// Which customers are decided as new before their keys are read: none while the older layouts are looked in; else
// every one (kAlways), none (kNever), or (kAuto) those this process does not know (`unknown`), while at least 3/4 of
// such customers read lately had no key (`guess_unknown`: a returning customer guessed new costs Redis more than a
// new one guessed saves, store.guess_new). The customer of a call of one is guessed new when unknown, whatever the
// share (a wrong guess costs it one SET NX that does nothing). A known customer is not: its key is gone only when
// Redis lost it (deleted, evicted, flushed), and then the store forgets (ForgetWhenMostAreGone).
std::vector<char> ToGuess(RedisSettings::Guess mode, bool older_layouts, const std::vector<char>& unknown,
                          bool guess_unknown) {
  if (older_layouts || mode == RedisSettings::Guess::kNever) return std::vector<char>(unknown.size(), 0);
  if (mode == RedisSettings::Guess::kAlways) return std::vector<char>(unknown.size(), 1);
  std::vector<char> guessed(unknown.size());
  for (size_t c = 0; c < unknown.size(); ++c) guessed[c] = unknown[c] && (guess_unknown || unknown.size() == 1);
  return guessed;
}

// Once this many known customers were read, and at least 3/4 of the last few hundred of them had no key (a flushed,
// evicted or restarted Redis), every customer this process knows is forgotten: customers it knew are then guessed as
// any unknown one, and those it reads or writes from then on are known again. Not sooner: a customer deleted alone
// (`tactctl customer forget`) does not clear the table.
constexpr uint32_t kForgetAfter = 64;
void ForgetWhenMostAreGone(KnownCustomers& known, NewCustomerShare& known_gone, StoreStats* stats) {
  if (known_gone.Count() < kForgetAfter || !known_gone.Guess()) return;
  known.Forget();
  known_gone.Reset();
  if (stats != nullptr) stats->redis_known_forgotten_total.Inc({});
}

// What the read found of the customers the guess created (Read): nothing (settled: new), their keys (existed), or a
// marker of their event (taken back).
void CountGuess(const NewGuess& guess, const std::vector<Customer>& customers, StoreStats* stats) {
  if (stats == nullptr) return;
  double fresh = 0, existed = 0, taken_back = 0;
  for (size_t c : guess.created) {
    if (customers[c].settled) {
      ++fresh;
    } else if (customers[c].script) {
      ++taken_back;
    } else {
      ++existed;
    }
  }
  stats->redis_guessed_total.Inc({"new"}, fresh);
  stats->redis_guessed_total.Inc({"existed"}, existed);
  stats->redis_guessed_total.Inc({"taken_back"}, taken_back);
}

// The customers the read (`values`, `n` marker keys first) found, by whether this process knew them: how many, and
// how many of those without a key.
struct ReadCounts {
  uint32_t unknown = 0, unknown_none = 0, known = 0, known_none = 0;
};
ReadCounts CountRead(const redisReply& values, size_t n, const std::vector<char>& unknown) {
  ReadCounts counts;
  for (size_t c = 0; c < unknown.size(); ++c) {
    const bool none = values.element[n + c]->type == REDIS_REPLY_NIL;
    ++(unknown[c] ? counts.unknown : counts.known);
    if (none) ++(unknown[c] ? counts.unknown_none : counts.known_none);
  }
  return counts;
}

// The customers whose keys exist once the call is done, made known until their keys expire: written (or created by
// the guess: `guess`, nullable) with their expiry; only read, or check.lua's, for kReadHorizon (their expiry unread).
constexpr int64_t kReadHorizonMs = 10 * 60 * 1000;
void Remember(const redisReply& values, std::span<const CustomerCheck> checks, const std::vector<Customer>& customers,
              const NewGuess* guess, KnownCustomers& known) {
  for (size_t c = 0; c < customers.size(); ++c) {
    const Customer& x = customers[c];
    const int64_t now_ms = absl::ToUnixMillis(checks[x.checks.front()].now);
    const CustomerDraft* draft = x.settled ? &*guess->customers[c].draft : x.draft ? &*x.draft : nullptr;
    const CustomerDraft::Write write = draft != nullptr ? draft->write() : CustomerDraft::Write::kNone;
    const bool read = values.element[checks.size() + c]->type != REDIS_REPLY_NIL;
    if (x.script || write == CustomerDraft::Write::kNone) {
      if (x.script || read) known.Saw(x.key, now_ms + kReadHorizonMs);
    } else if (write == CustomerDraft::Write::kSet) {
      known.Saw(x.key, now_ms + draft->ttl_ms());
    } else if (write == CustomerDraft::Write::kSetForever) {
      known.Saw(x.key, INT64_MAX);
    }
  }
}

// The customers WATCHed before they are read, and written in MULTI/EXEC: those whose keys the guess does not create,
// but a customer of dry runs alone (it writes nothing) and the customer of a call of one this process does not know
// (not guessed, while the older layouts are looked in: a new key is created by SET NX, with no WATCH).
void Watch(std::span<const CustomerCheck> checks, std::vector<Customer>& customers, const std::vector<char>& unknown,
           const NewGuess* guess) {
  for (size_t c = 0; c < customers.size(); ++c) {
    Customer& x = customers[c];
    x.watched = !(customers.size() == 1 && unknown[c]) &&
                !std::all_of(x.checks.begin(), x.checks.end(), [&](size_t i) { return checks[i].dry_run; });
  }
  if (guess == nullptr) return;
  for (size_t c : guess->created) customers[c].watched = false;
}

// Steps 2 and 3: each customer's checks decided on its key as read (`seen`: each check's marker key as read), and the
// changed keys written: the watched customers' in MULTI/EXEC, the others' with cas.lua.
absl::Status DecideAndWrite(RedisConnection& redis, std::span<const CustomerCheck> checks,
                            const std::vector<std::string>& prefixes, std::span<const redisReply* const> seen,
                            std::vector<Customer>& customers, const std::vector<char>& nothing_older,
                            int64_t seen_ttl_ms, const std::string& cas_sha, const std::function<absl::Status()>& load,
                            std::vector<CheckResult>& results) {
  std::vector<size_t> in_transaction, by_cas;  // customers whose key changes: watched, or not
  for (size_t c = 0; c < customers.size(); ++c) {
    if (Decide(checks, seen, customers[c], nothing_older, seen_ttl_ms, results)) {
      (customers[c].watched ? in_transaction : by_cas).push_back(c);
    }
  }
  if (!in_transaction.empty()) {
    if (absl::Status s = WriteTransaction(redis, customers, in_transaction, prefixes); !s.ok()) return s;
  }
  if (by_cas.empty()) return absl::OkStatus();
  return WriteCas(redis, cas_sha, customers, by_cas, prefixes, load);
}

}  // namespace

absl::StatusOr<std::vector<CheckResult>> RedisCounterStore::CasCheckAndReserve(std::span<const CustomerCheck> checks,
                                                                                absl::Time deadline) {
  const size_t n = checks.size();
  const bool older_layouts = LooksInOlderLayouts();  // one answer for the whole call
  std::vector<std::string> prefixes;
  std::vector<Customer> customers = Group(checks, keys_, prefixes);
  absl::StatusOr<RedisConnectionPtr> conn = BorrowUntil(deadline);
  if (!conn.ok()) {
    return conn.status();
  }
  RedisConnection& redis = **conn;
  auto done = [&](absl::StatusOr<std::vector<CheckResult>> results) {
    if (!redis.broken()) Return(*std::move(conn));  // a connection that saw an I/O error is dropped
    return results;
  };
  const auto load = [&] { return LoadScript(redis); };
  const int64_t seen_ttl_ms = absl::ToInt64Milliseconds(settings_.seen_ttl);
  // The customers this process does not know are decided as new, and their keys created in the read's round-trip
  // (ToGuess, Read). The others are WATCHed before they are read and written in one MULTI/EXEC: plain commands, no
  // script for Redis to run (per returning customer 0.5-0.6x cas.lua's Redis CPU in batches of 32, 0.8x one per call;
  // WATCH and MULTI/EXEC ride in the read's and the write's round-trips: docs/benchmarks.md, "store.guess_new").
  std::vector<char> unknown(customers.size());
  for (size_t c = 0; c < customers.size(); ++c) {
    unknown[c] = !known_.Known(customers[c].key, absl::ToUnixMillis(checks[customers[c].checks.front()].now));
  }
  const std::vector<char> guessed = ToGuess(settings_.guess_new, older_layouts, unknown, unknown_new_.Guess());
  const std::optional<NewGuess> guess = GuessNew(checks, customers, guessed, prefixes, cas_sha_, seen_ttl_ms);
  const NewGuess* const g = guess ? &*guess : nullptr;
  Watch(checks, customers, unknown, g);
  std::vector<CheckResult> results(n);
  absl::StatusOr<RedisReplyPtr> read = Read(redis, checks, prefixes, customers, g, cas_sha_, load, results);
  if (!read.ok()) {
    return done(read.status());
  }
  if (g != nullptr) CountGuess(*g, customers, settings_.stats);
  const ReadCounts counts = CountRead(**read, n, unknown);
  unknown_new_.Saw(counts.unknown_none, counts.unknown);
  known_gone_.Saw(counts.known_none, counts.known);
  ForgetWhenMostAreGone(known_, known_gone_, settings_.stats);
  std::vector<char> nothing_older(n, 0);
  if (absl::Status s = DraftAll(redis, checks, prefixes, **read, older_layouts, settings_.legacy_keys, customers,
                                nothing_older);
      !s.ok()) {
    return done(s);
  }
  std::vector<const redisReply*> seen(n);
  for (size_t i = 0; i < n; ++i) seen[i] = (*read)->element[i];
  if (absl::Status s = DecideAndWrite(redis, checks, prefixes, seen, customers, nothing_older, seen_ttl_ms, cas_sha_,
                                     load, results);
      !s.ok()) {
    return done(s);
  }
  const std::vector<size_t> again = ScriptChecks(customers, std::views::iota(size_t{0}, customers.size()));
  if (absl::Status s = RunScriptChecks(redis, checks, prefixes, again, older_layouts, results); !s.ok()) {
    return done(s);
  }
  Remember(**read, checks, customers, g, known_);
  return done(std::move(results));
}

}  // namespace tact::store
