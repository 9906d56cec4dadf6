#include "daemon/store/customer_draft.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/store/customer_blob.h"
#include "daemon/store/keys.h"

namespace tact::store {
namespace {

// check.lua keeps the last of two counters of one suffix in the first one's place: such a key is check.lua's.
bool CountersDistinct(const CustomerKeyView& k) {
  for (size_t i = 0; i < k.counters.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (k.counters[j].suffix == k.counters[i].suffix) return false;
    }
  }
  return true;
}

bool Live(int64_t expires, int64_t now) { return expires == 0 || expires > now; }

// check.lua's check_signals: each signal check against the customer's fields (EvaluateSignal), into `out`; returns
// the stored text of each ("1:<until ms, -1 none>" / "0:-1", comma-separated) and sets `decisive` when a decisive one
// holds.
std::string CheckSignals(const CheckSpec& spec, const CustomerKeyView& k, int64_t now, StoreOutcome& out, bool& decisive) {
  std::string text;
  for (size_t i = 0; i < spec.signals.size(); ++i) {
    const SignalResult& r = out.signals.emplace_back(EvaluateSignal(
        [&](auto fn) {
          for (const CustomerKeyView::Signal& g : k.signals) fn(SignalFieldView{g.field, g.at, g.expires});
        },
        spec.signals[i], now));
    if (i > 0) text += ',';
    if (!r.hit) {
      text += "0:-1";
      continue;
    }
    absl::StrAppend(&text, "1:", r.until == absl::InfiniteFuture() ? -1 : absl::ToUnixMillis(r.until));
    if (spec.signals[i].decisive) decisive = true;
  }
  return text;
}

std::string NoSignalsText(size_t n) {
  std::string text;
  for (size_t i = 0; i < n; ++i) text += i == 0 ? "0:-1" : ",0:-1";
  return text;
}

// Whether this file decides `spec` as check.lua would: every limit counts at least 1 (check.lua fails on a rolling
// one of 0) and has its own counter (check.lua's shortcut does not apply then; its full path keeps the last).
bool Decidable(const CheckSpec& spec) {
  for (size_t i = 0; i < spec.limits.size(); ++i) {
    if (spec.limits[i].count < 1) return false;
    for (size_t j = 0; j < i; ++j) {
      if (spec.limits[j].counter == spec.limits[i].counter) return false;
    }
  }
  return true;
}

// One limit's usage (check.lua: rolling, the times in its window, kept as their text; calendar, the period's count).
// False: a count check.lua would read otherwise.
bool LimitUsed(const LimitSpec& l, const CustomerKeyView::Counter* c, int64_t now, std::vector<std::string_view>& live,
               int64_t* used, int64_t* frees) {
  *used = 0;
  *frees = 0;
  if (l.kind == WindowKind::kCalendar) {
    if (c != nullptr && c->empty_at > now && !BlobInt(c->data, used)) return false;
    if (*used >= l.count) *frees = PeriodEndMs(l);
    return true;
  }
  const int64_t window = absl::ToInt64Milliseconds(l.window);
  if (c != nullptr && !c->data.empty()) {
    for (size_t p = 0;;) {
      const size_t comma = c->data.find(',', p);
      const std::string_view t = c->data.substr(p, comma == std::string_view::npos ? comma : comma - p);
      int64_t ms = 0;
      if (!BlobInt(t, &ms)) return false;
      if (ms > now - window) live.push_back(t);
      if (comma == std::string_view::npos) break;
      p = comma + 1;
    }
  }
  *used = static_cast<int64_t>(live.size());
  if (*used >= l.count) {
    int64_t first = 0;
    BlobInt(live[static_cast<size_t>(*used - l.count)], &first);
    *frees = first + window;
  }
  return true;
}

// The limits as read, and what decides.
struct Usage {
  absl::InlinedVector<const CustomerKeyView::Counter*, 8> counters;     // each limit's counter in the key (null: none)
  absl::InlinedVector<std::vector<std::string_view>, 8> live;  // rolling: the times in its window
  std::string signal_text;  // the stored outcome's parts
  std::string limit_text;
  bool blocked = false;       // a decisive check applies: nothing is reserved
  std::optional<bool> final;  // the first decisive thing's say
};

struct Rewrite {
  std::string value;
  int64_t latest = 0;  // when the last thing in it expires
  bool forever = false;
};

// Every limit's usage into `o` and `u` (check.lua's loop over the limits). False: check.lua must decide.
bool ReadUsage(const CheckSpec& spec, const CustomerKeyView& k, int64_t now, StoreOutcome& o, Usage& u) {
  for (size_t i = 0; i < spec.limits.size(); ++i) {
    const LimitSpec& l = spec.limits[i];
    const CustomerKeyView::Counter* c = nullptr;
    for (const CustomerKeyView::Counter& each : k.counters) {
      if (each.suffix == l.counter) c = &each;
    }
    u.counters.push_back(c);
    int64_t used = 0;
    int64_t frees = 0;
    if (!LimitUsed(l, c, now, u.live.emplace_back(), &used, &frees)) return false;
    if (used >= l.count && l.decisive) {
      u.blocked = true;
      if (!u.final) u.final = l.suppress_on_exceed;
    }
    o.usage.push_back({.used = used, .frees_at = FromMillisOrPast(frees)});
    absl::StrAppend(&u.limit_text, i == 0 ? "" : ",", used, ":", frees);
  }
  return true;
}

// The key again, up to its markers (check.lua's store()): the header, live signals, counters (those counted in
// written anew, new ones last); with the time of the last thing in it.
Rewrite Encode(const CheckSpec& spec, const CustomerKeyView& k, const Usage& u, const StoreOutcome& o, int64_t now) {
  Rewrite w;
  w.value = absl::StrCat("2 ", AsAbsl(k.old_text), "\n");
  for (const CustomerKeyView::Signal& g : k.signals) {
    if (!Live(g.expires, now)) continue;
    w.value.append(g.raw);
    if (g.expires == 0) {
      w.forever = true;
    } else {
      w.latest = std::max(w.latest, g.expires);
    }
  }
  const std::string now_text = absl::StrCat(now);
  // a counter: as read (limit none), or limit i's counted in now
  auto counter = [&](std::string_view suffix, std::string_view raw, std::optional<size_t> limit, int64_t empty_at) {
    if (empty_at + kCounterKeepMs <= now) return;
    w.latest = std::max(w.latest, empty_at + kCounterKeepMs);
    if (!limit) {
      w.value.append(raw);
      return;
    }
    absl::StrAppend(&w.value, "k", suffix.size(), " ", empty_at, " ");
    if (spec.limits[*limit].kind == WindowKind::kRolling) {
      for (std::string_view t : u.live[*limit]) absl::StrAppend(&w.value, AsAbsl(t), ",");
      w.value.append(now_text);
    } else {
      absl::StrAppend(&w.value, o.usage[*limit].used + 1);
    }
    absl::StrAppend(&w.value, "\n", AsAbsl(suffix));
  };
  for (const CustomerKeyView::Counter& c : k.counters) {
    std::optional<size_t> limit;
    for (size_t i = 0; o.reserved && i < spec.limits.size(); ++i) {
      if (u.counters[i] == &c) limit = i;
    }
    counter(c.suffix, c.raw, limit, limit ? EmptyAtMs(spec.limits[*limit], now) : c.empty_at);
  }
  for (size_t i = 0; o.reserved && i < spec.limits.size(); ++i) {
    if (u.counters[i] == nullptr) counter(spec.limits[i].counter, "", i, EmptyAtMs(spec.limits[i], now));
  }
  return w;
}

}  // namespace

std::optional<CheckResult> EarlierDecision(std::string_view stored) {
  // check.lua: '^([^|]*|[^|]*|[^|]*)|(.*)$', the whole text as the outcome when it does not match
  size_t bar = std::string_view::npos;
  for (int i = 0, from = 0; i < 3; ++i, from = static_cast<int>(bar) + 1) {
    bar = stored.find('|', static_cast<size_t>(from));
    if (bar == std::string_view::npos) break;
  }
  absl::StatusOr<StoreOutcome> outcome =
      ParseStoredOutcome(bar == std::string_view::npos ? stored : stored.substr(0, bar));
  if (!outcome.ok()) return std::nullopt;
  CheckResult r;
  r.duplicate = true;
  r.outcome = *std::move(outcome);
  if (bar != std::string_view::npos) r.marker = std::string(stored.substr(bar + 1));
  return r;
}

bool CustomerDraft::LooksInOlderLayouts(int64_t now_ms) const {
  if (!older_layouts_) return false;
  if (!value_) return true;
  const std::optional<int64_t> until = OlderLayoutsUntil(*value_);
  return until && *until > now_ms;
}

std::optional<CheckResult> CustomerDraft::Check(const CustomerCheck& check, std::optional<std::string_view> seen,
                                                int64_t seen_ttl_ms, bool nothing_older) {
  const int64_t now = absl::ToUnixMillis(check.now);
  // A marker an earlier check of this call moved out is in its own key by now (check.lua reads it there).
  for (auto m = moved_.rbegin(); m != moved_.rend(); ++m) {
    if (m->event_id == check.event_id) return EarlierDecision(m->payload);
  }
  if (seen) return EarlierDecision(*seen);
  CustomerKeyView k;
  if (value_ && (!ReadCustomerKey(*value_, &k) || !CountersDistinct(k))) return std::nullopt;
  for (const CustomerKeyView::Marker& m : k.markers) {
    if (m.event_id == check.event_id && m.expires > now) return EarlierDecision(m.payload);
  }
  if (older_layouts_ && (!value_ || k.old > now) && !nothing_older) {
    return std::nullopt;  // check.lua looks in the older layouts
  }
  const CheckSpec& spec = check.spec;
  if (!Decidable(spec)) return std::nullopt;

  CheckResult result;
  StoreOutcome& o = result.outcome;
  Usage u;
  if (!spec.signals.empty() && !k.signals.empty()) {
    bool decisive = false;
    u.signal_text = CheckSignals(spec, k, now, o, decisive);
    if (decisive) u.blocked = true, u.final = true;
  } else {
    o.signals.assign(spec.signals.size(), {.hit = false, .until = absl::InfiniteFuture()});
    u.signal_text = NoSignalsText(spec.signals.size());
  }
  if (!ReadUsage(spec, k, now, o, u)) return std::nullopt;
  if (spec.hold != Hold::kNone) {
    if (!u.final) u.final = spec.hold == Hold::kSuppress;
    u.blocked = true;
  }
  if (!u.blocked) u.final = true;
  if (check.dry_run || !*u.final) return result;  // a dry run or a deferral writes nothing (a reservation is final)

  o.reserved = !u.blocked;
  // A final decision: the key keeps kMarkersInCustomerKey live markers with this one; the oldest others move to
  // their own keys, with the time they have left (expired ones are dropped).
  Rewrite w = Encode(spec, k, u, o, now);
  size_t live = 0;
  for (const CustomerKeyView::Marker& m : k.markers) live += m.expires > now ? 1 : 0;
  for (const CustomerKeyView::Marker& m : k.markers) {
    if (m.expires <= now) continue;
    if (live >= static_cast<size_t>(kMarkersInCustomerKey)) {
      moved_.push_back({.event_id = std::string(m.event_id), .payload = std::string(m.payload),
                        .ttl_ms = m.expires - now});
      --live;
    } else {
      w.value.append(m.raw);
      w.latest = std::max(w.latest, m.expires);
    }
  }
  const int64_t seen_exp = now + seen_ttl_ms;
  const std::string stored = absl::StrCat(o.reserved ? "1|" : "0|", u.signal_text, "|", u.limit_text, "|");
  absl::StrAppend(&w.value, "m", check.event_id.size(), " ", stored.size() + check.marker.size(), " ", seen_exp,
                  "\n", check.event_id, stored, check.marker);
  w.latest = std::max(w.latest, seen_exp);
  Keep(std::move(w.value), w.forever, w.latest, now);
  return result;
}

void CustomerDraft::Keep(std::string value, bool forever, int64_t latest, int64_t now) {
  if (forever) {
    value_ = std::move(value);
    write_ = Write::kSetForever;
  } else if (latest > now) {
    value_ = std::move(value);
    write_ = Write::kSet;
    ttl_ms_ = latest - now;
  } else if (value_) {
    value_.reset();
    write_ = Write::kDelete;
  }
}

}  // namespace tact::store
