// RedisCounterStore with redis.checks compare_and_set (RedisSettings::Checks): tactd decides, Redis keeps the state.
// On a single node (CasCheckAndReserve; a Redis Cluster's rounds: ClusterCasCheckAndReserve, redis_cas_cluster.cc):
//   1. MGET of every check's marker key and every customer's key (one command for the whole call); a call of one
//      customer with no older layout looked in also decides it as new (GuessNew) and creates its key (SET NX PX) in
//      this round-trip, done when the MGET finds nothing of the customer; a create that found a marker of the event
//      but no key is taken back (TakeBack) and the customer read again;
//   1b. while the older layouts are looked in (not sealed), for a customer without a store-v2 key (or moved from an
//      older layout less than the marker TTL ago): EXISTS of what check.lua's probe reads there; when they hold
//      nothing, tactd decides the customer, else check.lua does (step 4);
//   2. each customer's checks decided in order on its key (CustomerDraft, check.lua's check in tactd);
//   3. every changed key is written only if it is unchanged since 1: a call of several customers WATCHes their keys
//      before 1 and writes them in one MULTI/EXEC (all or, when one changed, none); a call of one customer writes it
//      with cas.lua (compare and set), or SET NX PX when it was read as none;
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

// Round-trip 1, sent: [UNWATCH, WATCH of the customers' keys,] MGET of every check's marker key, then every
// customer's key.
void SendRead(RedisConnection& redis, std::span<const CustomerCheck> checks, const std::vector<std::string>& prefixes,
              const std::vector<Customer>& customers, bool watch) {
  if (watch) {  // no key of an earlier call stays watched (UNWATCH); these are, before they are read
    RespArgs w;
    w.Add("WATCH");
    for (const Customer& c : customers) w.Add(c.key);
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

// Round-trip 1: the MGET's reply (checks.size() + customers.size() values).
absl::StatusOr<RedisReplyPtr> ReadKeys(RedisConnection& redis, std::span<const CustomerCheck> checks,
                                       const std::vector<std::string>& prefixes,
                                       const std::vector<Customer>& customers, bool watch) {
  SendRead(redis, checks, prefixes, customers, watch);
  return ReceiveRead(redis, checks.size() + customers.size(), watch);
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

// Round-trip 2 for several customers: MULTI, their writes, EXEC; when a watched key changed (EXEC nil) nothing was
// written and every writer is check.lua's.
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

// Round-trip 2 for one customer: cas.lua or SET NX (WriteCommand), sent again once after `load` on NOSCRIPT; a key
// changed since it was read makes the customer check.lua's.
absl::Status WriteOne(RedisConnection& redis, const std::string& cas_sha, std::vector<Customer>& customers,
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

// A call of one customer decided as if the customer were new, before its key is read: its results, and the SET NX PX
// that creates its key, sent in the read's round-trip (compare_and_set's second round-trip, saved when the read finds
// nothing of the customer: nearly half of Redis' CPU per decision at a moderate rate, docs/benchmarks.md
// "store.one_trip").
struct NewGuess {
  std::vector<Customer> customer;  // one: the customer decided on no key
  std::vector<CheckResult> results;
  RedisCommand create;
};

// The guess for a call of one customer (no older layouts looked in), or nullopt: a call of several, or deciding the
// customer as new writes nothing (a dry run, a deferral) or is check.lua's.
std::optional<NewGuess> GuessNew(std::span<const CustomerCheck> checks, const std::vector<Customer>& customers,
                                 const std::vector<std::string>& prefixes, const std::string& cas_sha,
                                 int64_t seen_ttl_ms) {
  if (customers.size() != 1) return std::nullopt;
  const Customer& customer = customers[0];
  redisReply none{};
  none.type = REDIS_REPLY_NIL;
  NewGuess g{.customer = {Customer{.key = customer.key, .checks = customer.checks}},
             .results = std::vector<CheckResult>(checks.size())};
  std::vector<size_t> probe;
  Draft(checks, none, /*older_layouts=*/false, g.customer[0], probe);
  const std::vector<const redisReply*> seen(checks.size(), &none);
  if (!Decide(checks, seen, g.customer[0], std::vector<char>(checks.size(), 0), seen_ttl_ms, g.results)) {
    return std::nullopt;
  }
  bool set_nx = false;
  g.create = WriteCommand(cas_sha, g.customer, {0}, prefixes, &set_nx);
  if (!set_nx) return std::nullopt;
  return g;
}

// The read found nothing of the customer: every marker key and the customer's key none.
bool NothingRead(const redisReply& values) {
  return std::all_of(values.element, values.element + values.elements,
                     [](const redisReply* v) { return v->type == REDIS_REPLY_NIL; });
}

// The guess's key taken back (cas.lua: DEL if it still holds the guess), sent again once after `load` on NOSCRIPT.
// False when it changed since (another call wrote on top of it).
absl::StatusOr<bool> TakeBack(RedisConnection& redis, const std::string& cas_sha, const NewGuess& g,
                              const std::function<absl::Status()>& load) {
  const CustomerDraft& d = *g.customer[0].draft;
  RespArgs args;
  for (std::string_view a : {std::string_view("EVALSHA"), std::string_view(cas_sha), std::string_view("1"),
                             std::string_view(g.customer[0].key), std::string_view("1"), std::string_view("0"),
                             std::string_view(*d.value()), std::string_view("D"), std::string_view(""),
                             std::string_view("0")}) {
    args.Add(a);
  }
  absl::StatusOr<RedisReplyPtr> reply = SendCas(redis, args.Command(), "EVALSHA cas", load);
  if (!reply.ok()) return reply.status();
  absl::StatusOr<std::vector<bool>> taken = Written(**reply, 1, /*set_nx=*/false);
  if (!taken.ok()) return taken.status();
  return (*taken)[0];
}

// Every customer's draft on its key as read (`values`: the MGET's reply), and round-trip 1b (ProbeOlderLayouts) for
// the checks that would look in the older layouts.
absl::Status DraftAll(RedisConnection& redis, std::span<const CustomerCheck> checks,
                      const std::vector<std::string>& prefixes, const redisReply& values, bool older_layouts,
                      bool legacy_keys, std::vector<Customer>& customers, std::vector<char>& nothing_older) {
  std::vector<size_t> probe;  // checks that would look in the older layouts
  for (size_t c = 0; c < customers.size(); ++c) {
    Draft(checks, *values.element[checks.size() + c], older_layouts, customers[c], probe);
  }
  if (probe.empty()) return absl::OkStatus();
  return ProbeOlderLayouts(redis, checks, prefixes, probe, legacy_keys, nothing_older);
}

// Round-trip 1 of a call of one customer (`customers`) with the guess's create in it. `*stands` when the read found
// nothing of the customer: the guess's results are the call's. Else the read to decide the customer on: this one
// when the create did nothing (its key exists), or a second one after the guess was taken back (the read found a
// marker of the event but no key); a guess written on top of since makes the customer check.lua's.
absl::StatusOr<RedisReplyPtr> ReadWithGuess(RedisConnection& redis, std::span<const CustomerCheck> checks,
                                            const std::vector<std::string>& prefixes,
                                            std::vector<Customer>& customers, const NewGuess& guess,
                                            const std::string& cas_sha, const std::function<absl::Status()>& load,
                                            bool* stands) {
  SendRead(redis, checks, prefixes, customers, /*watch=*/false);
  guess.create.AppendTo(redis);
  absl::StatusOr<RedisReplyPtr> read = ReceiveRead(redis, checks.size() + 1, /*watch=*/false);
  absl::StatusOr<RedisReplyPtr> created = redis.GetReply("SET");  // read whatever the MGET's was: in step
  if (!read.ok()) return read;
  if (!created.ok()) return created.status();
  if ((*created)->type == REDIS_REPLY_ERROR) return ErrorReply(**created);
  if ((*created)->type != REDIS_REPLY_STATUS) return read;  // its key exists: decided on what was read
  *stands = NothingRead(**read);
  if (*stands) return read;
  absl::StatusOr<bool> taken = TakeBack(redis, cas_sha, guess, load);
  if (!taken.ok()) return taken.status();
  if (!*taken) customers[0].script = true;  // written on top of since: check.lua decides on what is there now
  return ReadKeys(redis, checks, prefixes, customers, /*watch=*/false);
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
  // Several customers: their keys are WATCHed before they are read and written in one MULTI/EXEC (plain commands:
  // no script for Redis to run; 0.5-0.6x cas.lua's Redis CPU per returning customer, docs/benchmarks.md). One
  // customer: cas.lua (or SET NX), which needs no WATCH first: two commands fewer where each costs Redis a read
  // event of its own at a moderate rate (the gRPC path).
  const bool transaction = customers.size() > 1;
  const int64_t seen_ttl_ms = absl::ToInt64Milliseconds(settings_.seen_ttl);
  // One customer, no older layout looked in: decided as new, and its key created in the read's round-trip. Kept when
  // the read finds nothing of the customer; when its key exists the create does nothing and the customer is decided
  // on what was read. When the read found a marker of this event but no key (a key deleted or evicted before its
  // moved markers expired), the guess is taken back and the customer read again.
  const std::optional<NewGuess> guess =
      older_layouts ? std::nullopt : GuessNew(checks, customers, prefixes, cas_sha_, seen_ttl_ms);
  bool stands = false;
  absl::StatusOr<RedisReplyPtr> read =
      guess ? ReadWithGuess(redis, checks, prefixes, customers, *guess, cas_sha_, [&] { return LoadScript(redis); },
                            &stands)
            : ReadKeys(redis, checks, prefixes, customers, transaction);
  if (!read.ok()) {
    return done(read.status());
  }
  if (stands) {
    return done(guess->results);
  }
  std::vector<CheckResult> results(n);
  std::vector<char> nothing_older(n, 0);
  if (absl::Status s = DraftAll(redis, checks, prefixes, **read, older_layouts, settings_.legacy_keys, customers,
                                nothing_older);
      !s.ok()) {
    return done(s);
  }
  std::vector<const redisReply*> seen(n);
  for (size_t i = 0; i < n; ++i) seen[i] = (*read)->element[i];
  std::vector<size_t> writes;  // customers whose key changes
  for (size_t c = 0; c < customers.size(); ++c) {
    if (Decide(checks, seen, customers[c], nothing_older, seen_ttl_ms, results)) {
      writes.push_back(c);
    }
  }
  if (!writes.empty()) {
    absl::Status written = transaction ? WriteTransaction(redis, customers, writes, prefixes)
                                       : WriteOne(redis, cas_sha_, customers, writes, prefixes,
                                                  [&] { return LoadScript(redis); });
    if (!written.ok()) {
      return done(written);
    }
  }
  const std::vector<size_t> again = ScriptChecks(customers, std::views::iota(size_t{0}, customers.size()));
  if (absl::Status s = RunScriptChecks(redis, checks, prefixes, again, older_layouts, results); !s.ok()) {
    return done(s);
  }
  return done(std::move(results));
}


}  // namespace tact::store
