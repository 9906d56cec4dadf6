#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/core/store_outcome.h"

namespace tact::store {

// ---- What one check asks of the store: the store's own types (decision::ToCheckSpec builds them from a plan) --

enum class WindowKind { kRolling, kCalendar };

// One counter to read, and to count the event in when it is reserved.
struct LimitSpec {
  // The counter's name (suffix) inside the customer's state: "r:<rule>[:<scope value>]" (rolling: the times of the
  // messages counted in the window) or "c:<rule>[:<scope value>]:<period>" (calendar: a count, empty at the period
  // end). Borrowed.
  std::string_view counter;
  int64_t count = 0;
  WindowKind kind = WindowKind::kRolling;
  absl::Duration window;                         // rolling
  absl::Time period_end = absl::InfinitePast();  // calendar: the counter expires and frees up then
  bool decisive = true;                          // false: counted and reported, never stops a reservation
  bool suppress_on_exceed = true;                // when decisive and full: final (SUPPRESS) or not (DEFER)
};

// One condition: it holds when the customer has a live signal field (not expired at `now`) named in
// `fields` (a trailing '*' matches a prefix) set at or after `since`.
struct SignalSpec {
  std::span<const std::string> fields;  // borrowed
  absl::Time since = absl::InfinitePast();
  absl::Duration hold = absl::ZeroDuration();  // >0: the condition stops holding at field time + hold
  bool decisive = true;                        // false: reported, never stops a reservation
};

// A hold in force that is not the store's to check (quiet hours): no reservation while it applies.
enum class Hold { kNone = 0, kDefer = 1, kSuppress = 2 };

// Everything one check needs, in the order the results come back (StoreOutcome::signals / ::usage).
struct CheckSpec {
  absl::InlinedVector<SignalSpec, 8> signals;
  absl::InlinedVector<LimitSpec, 8> limits;
  Hold hold = Hold::kNone;
};

// One customer's atomic dedupe + check + reserve.
struct CustomerCheck {
  std::string tenant;
  std::string customer_id;
  std::string event_id;
  absl::Time now;
  CheckSpec spec;  // its views borrowed for the duration of the call
  // Decide without writing anything (gRPC dry_run).
  bool dry_run = false;
  // Opaque text stored with a final decision (RELEASE or SUPPRESS) and returned when the same event_id
  // comes again, so the earlier decision can be rebuilt exactly.
  std::string marker;
};

// What the store does for one check (both stores implement exactly this; see check.lua):
//  1. an event_id decided before returns that decision's outcome and marker (duplicate);
//  2. every signal spec is evaluated against the customer's live signal fields;
//  3. every limit's usage is read (rolling: the messages in the window; calendar: the period's count);
//  4. when ShouldReserve holds and it is not a dry run, the event is counted in every limit;
//  5. when IsFinal holds and it is not a dry run, the marker is stored.
struct CheckResult {
  // Not OK: this check alone failed (UNAVAILABLE / DEADLINE_EXCEEDED: on Redis Cluster, the node of its customer's
  // slot did not answer) while others of the call succeeded; its other fields are empty. A call whose every check
  // failed returns the failure instead.
  absl::Status status;
  bool duplicate = false;
  std::string marker;     // on duplicate: the marker stored with the earlier decision
  StoreOutcome outcome;   // on duplicate: the outcome stored with the earlier decision
};

// A stored signal field as EvaluateSignal reads it.
struct SignalFieldView {
  std::string_view field;
  int64_t at_ms = 0;
  int64_t expires_ms = 0;  // 0 = never
};

// One signal check against a customer's stored fields, in both stores (check.lua's check_signals does the same):
// over the live fields set at or after `since` that match a pattern (a trailing '*': a prefix), the hit lasts until
// the latest end (-1, no known end, wins; `hold` caps each field's), and names the matching field set last (equal
// times: the smallest name, bytewise). `for_each(fn)` calls fn(SignalFieldView) for every stored field, in any order.
template <typename ForEach>
SignalResult EvaluateSignal(ForEach for_each, const SignalSpec& s, int64_t now) {
  const int64_t since = s.since == absl::InfinitePast() ? 0 : absl::ToUnixMillis(s.since);
  const int64_t hold = absl::ToInt64Milliseconds(s.hold);
  std::optional<int64_t> best;  // -1: holds with no known end; else ms when it stops
  std::optional<SignalFieldView> named;
  for_each([&](const SignalFieldView& f) {
    if ((f.expires_ms != 0 && f.expires_ms <= now) || f.at_ms < since) return;
    for (const std::string& pattern : s.fields) {
      const bool matches = pattern.ends_with('*')
                               ? f.field.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1))
                               : f.field == pattern;
      if (!matches) continue;
      int64_t u = f.expires_ms != 0 ? f.expires_ms : -1;
      if (hold > 0 && (u == -1 || f.at_ms + hold < u)) u = f.at_ms + hold;
      if (!best || (*best != -1 && (u == -1 || u > *best))) best = u;
      if (!named || f.at_ms > named->at_ms || (f.at_ms == named->at_ms && f.field < named->field)) named = f;
      return;
    }
  });
  if (!named) return {.hit = false, .until = absl::InfiniteFuture()};
  return {.hit = true,
          .until = *best == -1 ? absl::InfiniteFuture() : absl::FromUnixMillis(*best),
          .field = std::string(named->field),
          .at = absl::FromUnixMillis(named->at_ms)};
}

// Steps 4-5 as data (check.lua implements the same): the first decisive thing that holds, in this order: a
// condition that holds, a limit already at its count, the hold. Reserve ⇔ there is none; the decision is final
// (a marker is stored) ⇔ there is none, or it is a condition, a limit that suppresses or a suppressing hold.
// (The policy's Decide releases exactly when ShouldReserve holds, and suppresses or releases exactly when IsFinal.)
bool ShouldReserve(const CheckSpec& spec, const StoreOutcome& outcome);
bool IsFinal(const CheckSpec& spec, const StoreOutcome& outcome);

// How a customer signal changes the customer's signals: set `field` to at_ms / expires_ms (expires 0 = never), or
// delete it.
struct SignalWrite {
  std::string tenant;
  std::string customer_id;
  std::string field;
  bool remove = false;
  int64_t at_ms = 0;
  int64_t expires_ms = 0;  // 0 = never
};

// INVALID_ARGUMENT when `w` has no field (both stores check this before writing).
absl::Status CheckSignalWrite(const SignalWrite& w);

// Reads one stored signal field value "<at_ms>:<expires_ms>". False when malformed.
bool ParseSignalValue(std::string_view value, int64_t* at_ms, int64_t* expires_ms);

// The counters of one limit rule: every counter whose suffix is `prefix` ("r:<rule>" / "c:<rule>") or starts
// with `prefix` + ':' (a scope value, a calendar period).
struct CounterFamily {
  std::string rule_id;
  std::string prefix;
  WindowKind kind = WindowKind::kRolling;
  absl::Duration window;  // rolling: the window its usage is counted in
};

struct CustomerRead {
  std::string tenant;
  std::string customer_id;
  absl::Time now;
  std::vector<CounterFamily> families;
};

struct CounterState {
  std::string rule_id;
  std::string counter;  // key suffix
  int64_t used = 0;
  // Rolling: when the oldest counted message leaves the window; calendar: the period end.
  absl::Time frees_at = absl::InfinitePast();
};

struct SignalState {
  std::string field;
  absl::Time at;
  absl::Time expires_at = absl::InfiniteFuture();  // InfiniteFuture = until ended
};

// Counters sorted by suffix (only those with used > 0); signals sorted by field (only live ones).
struct CustomerState {
  std::vector<CounterState> counters;
  std::vector<SignalState> signals;
};

// The customer's counters are listed with when each is empty again (the last reservation + window, or the calendar
// period end): in the Redis store's one key per customer (check.lua), the in-memory store's index.
// True when `suffix` belongs to `family`.
inline bool InFamily(std::string_view suffix, const CounterFamily& family) {
  return suffix.starts_with(family.prefix) &&
         (suffix.size() == family.prefix.size() || suffix[family.prefix.size()] == ':');
}

// The port the decision service needs from the counter backend.
// Thread-safety: implementations are safe to call concurrently from any thread.
class CounterStore {
 public:
  virtual ~CounterStore() = default;
  // Results follow `checks` order. Each check is atomic on its own. UNAVAILABLE if the backend cannot be
  // reached or missed `deadline` (an outage, daemon/core/outage.h): effects unknown, retrying is safe (dedupe by
  // event_id).
  virtual absl::StatusOr<std::vector<CheckResult>> CheckAndReserve(std::span<const CustomerCheck> checks,
                                                                   absl::Time deadline) = 0;
  // Records a customer signal's effect (CSAT, complaint opened/closed, escalation, callback, opt-out) in the
  // customer's signals; expired fields are dropped. INVALID_ARGUMENT for a write without a
  // field.
  virtual absl::Status PutSignal(const SignalWrite& write, absl::Time now, absl::Time deadline) = 0;
  // Reads one customer's live counters (those of `families` with something counted in their window, by counter
  // suffix) and live signals, without writing anything and without scanning the keyspace. UNAVAILABLE / DEADLINE_EXCEEDED as CheckAndReserve.
  virtual absl::StatusOr<CustomerState> ReadCustomer(const CustomerRead& read, absl::Time deadline);
  // Erasure (GDPR Art. 17, `tactctl customer forget`): deletes every key whose name starts with one of
  // `prefixes` (CustomerPrefixes: one customer's), whatever its suffix (counters, the counter index, signals,
  // decision markers, legacy keys, keys of layouts to come), and returns how many keys it removed (0: nothing was
  // stored). Idempotent. Not atomic with checks of the same customer running meanwhile (those may write new keys:
  // stop the customer's traffic first, or run it again). UNAVAILABLE / DEADLINE_EXCEEDED as CheckAndReserve (some
  // keys may be gone already; running it again is safe).
  virtual absl::StatusOr<int64_t> ForgetCustomer(std::span<const std::string> prefixes, absl::Time deadline);
  // The archive (decision/policy_archive.h): opaque texts kept beside the counters, each under a `name` of
  // [0-9a-z_.-] (at most 128 bytes), so any instance can read what another one put. PutArchived stores `text`
  // for `ttl` from now, replacing what was there (Redis: "tact:archive:{<name>}", SET PX; on a Cluster routed by
  // that hash tag). GetArchived gives the text, or nullopt when nothing is stored under `name`.
  // INVALID_ARGUMENT for a bad name or ttl; UNAVAILABLE / DEADLINE_EXCEEDED as CheckAndReserve.
  virtual absl::Status PutArchived(std::string_view name, std::string_view text, absl::Duration ttl,
                                   absl::Time deadline);
  virtual absl::StatusOr<std::optional<std::string>> GetArchived(std::string_view name, absl::Time deadline);
  // Cheap reachability probe for readiness.
  virtual bool Healthy() = 0;
};
using CounterStorePtr = std::unique_ptr<CounterStore>;

inline absl::StatusOr<CustomerState> CounterStore::ReadCustomer(const CustomerRead&, absl::Time) {
  return absl::UnimplementedError("this counter store cannot read customer state");
}

inline absl::Status CounterStore::PutArchived(std::string_view, std::string_view, absl::Duration, absl::Time) {
  return absl::UnimplementedError("this counter store has no archive");
}

inline absl::StatusOr<std::optional<std::string>> CounterStore::GetArchived(std::string_view, absl::Time) {
  return absl::UnimplementedError("this counter store has no archive");
}

// The archive's arguments, checked by every store before it does anything: a name of 1..128 bytes of [0-9a-z_.-]
// ("archive name: ..."), a ttl of whole milliseconds from 1 ms to kMaxArchiveTtl ("archive ttl: ..."); else
// INVALID_ARGUMENT naming the field (never echoing the name).
inline constexpr size_t kMaxArchiveNameLength = 128;
inline constexpr absl::Duration kMaxArchiveTtl = absl::Hours(24 * 36500);  // no overflow of Redis' PX
absl::Status CheckArchiveName(std::string_view name);
absl::Status CheckArchiveTtl(absl::Duration ttl);

inline absl::StatusOr<int64_t> CounterStore::ForgetCustomer(std::span<const std::string>, absl::Time) {
  return absl::UnimplementedError("this counter store cannot forget a customer");
}

// Spec values as the stores use them (integer milliseconds, as check.lua receives them).
inline int64_t SinceMs(const SignalSpec& s) {
  return s.since == absl::InfinitePast() ? 0 : absl::ToUnixMillis(s.since);
}
inline int64_t PeriodEndMs(const LimitSpec& l) {
  return l.period_end == absl::InfinitePast() ? 0 : absl::ToUnixMillis(l.period_end);
}
// When a limit's counter is empty again once an event is counted in it now: rolling, now + its window; calendar, the
// period end.
inline int64_t EmptyAtMs(const LimitSpec& l, int64_t now_ms) {
  return l.kind == WindowKind::kRolling ? now_ms + absl::ToInt64Milliseconds(l.window) : PeriodEndMs(l);
}
// 0 none, 1 defer, 2 suppress.
inline int QuietCode(const CheckSpec& spec) { return static_cast<int>(spec.hold); }

// Decision markers live this long: longer than Kafka's redelivery horizon for uncommitted offsets.
inline constexpr absl::Duration kDefaultSeenTtl = absl::Hours(72);

}  // namespace tact::store
