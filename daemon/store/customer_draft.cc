#include "daemon/store/customer_draft.h"

#include <algorithm>
#include <charconv>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/store/customer_blob.h"
#include "daemon/store/keys.h"

namespace tact::store {
namespace {

// The key as check.lua's parse() reads it (its header has the encoding), each entry kept as the text it was read as
// (check.lua writes an entry it did not change back as it was). Views into the value.
struct Parsed {
  struct Signal {
    std::string_view field;
    int64_t at = 0;
    int64_t expires = 0;  // 0 = never
    std::string_view raw;
  };
  struct Counter {
    std::string_view suffix;
    int64_t empty_at = 0;
    std::string_view data;  // rolling: the times, comma-separated; calendar: the count
    std::string_view raw;
  };
  struct Marker {
    std::string_view event_id;
    int64_t expires = 0;
    std::string_view payload;
    std::string_view raw;
  };
  std::string_view old_text = "0";  // no key: no older layout to look in
  int64_t old = 0;
  absl::InlinedVector<Signal, 4> signals;
  absl::InlinedVector<Counter, 8> counters;
  absl::InlinedVector<Marker, 2> markers;
};

bool Int(std::string_view s, int64_t* out) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

// Strict: false for anything check.lua would read otherwise than written (it decides such a key itself).
bool Parse(std::string_view v, Parsed* p) {
  if (!v.starts_with("2 ")) return false;
  const size_t e = v.find('\n', 2);
  if (e == std::string_view::npos) return false;
  p->old_text = v.substr(2, e - 2);
  if (!Int(p->old_text, &p->old)) return false;
  size_t pos = e + 1;
  while (pos < v.size()) {
    const char tag = v[pos];
    // <tag><a> <b> <c>\n<bytes>
    const size_t s1 = v.find(' ', pos + 1);
    const size_t s2 = s1 == std::string_view::npos ? s1 : v.find(' ', s1 + 1);
    const size_t nl = s2 == std::string_view::npos ? s2 : v.find('\n', s2 + 1);
    if (nl == std::string_view::npos) return false;
    int64_t a = 0;
    int64_t b = 0;
    const std::string_view c = v.substr(s2 + 1, nl - s2 - 1);
    if (!Int(v.substr(pos + 1, s1 - pos - 1), &a) || a < 0) return false;
    int64_t bytes = a;
    if (tag == 'm') {
      int64_t lp = 0;
      if (!Int(v.substr(s1 + 1, s2 - s1 - 1), &lp) || lp < 0) return false;
      bytes += lp;
    } else if (tag == 'k' || tag == 'g') {
      if (!Int(v.substr(s1 + 1, s2 - s1 - 1), &b)) return false;
    } else {
      return false;
    }
    if (static_cast<uint64_t>(bytes) > v.size() - nl - 1) return false;
    const size_t last = nl + 1 + static_cast<size_t>(bytes);  // one past the entry
    const std::string_view raw = v.substr(pos, last - pos);
    const std::string_view tail = v.substr(nl + 1, static_cast<size_t>(a));
    if (tag == 'k') {
      for (const Parsed::Counter& other : p->counters) {
        if (other.suffix == tail) return false;  // check.lua keeps the last one in the first one's place
      }
      p->counters.push_back({.suffix = tail, .empty_at = b, .data = c, .raw = raw});
    } else if (tag == 'g') {
      int64_t expires = 0;
      if (!Int(c, &expires)) return false;
      p->signals.push_back({.field = tail, .at = b, .expires = expires, .raw = raw});
    } else {
      int64_t expires = 0;
      if (!Int(c, &expires)) return false;
      p->markers.push_back(
          {.event_id = tail, .expires = expires, .payload = v.substr(nl + 1 + tail.size(), last - nl - 1 - tail.size()),
           .raw = raw});
    }
    pos = last;
  }
  return true;
}

bool Live(int64_t expires, int64_t now) { return expires == 0 || expires > now; }

// check.lua's check_signals: each signal check against the customer's live fields, into `out`; returns the stored
// text of each ("1:<until>" / "0:-1", comma-separated) and sets `decisive` when a decisive one holds.
std::string CheckSignals(const CheckSpec& spec, const Parsed& k, int64_t now, StoreOutcome& out, bool& decisive) {
  std::string text;
  for (size_t i = 0; i < spec.signals.size(); ++i) {
    const SignalSpec& s = spec.signals[i];
    const int64_t since = SinceMs(s);
    const int64_t hold = absl::ToInt64Milliseconds(s.hold);
    std::optional<int64_t> best;  // -1: holds with no known end; else ms when it stops
    const Parsed::Signal* named = nullptr;
    for (const Parsed::Signal& f : k.signals) {
      if (!Live(f.expires, now) || f.at < since) continue;
      for (const std::string& pattern : s.fields) {
        const bool matches = pattern.ends_with('*')
                                 ? f.field.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1))
                                 : f.field == pattern;
        if (!matches) continue;
        int64_t u = f.expires != 0 ? f.expires : -1;
        if (hold > 0 && (u == -1 || f.at + hold < u)) u = f.at + hold;
        if (!best) {
          best = u;
        } else if (*best != -1 && (u == -1 || u > *best)) {
          best = u;
        }
        if (named == nullptr || f.at > named->at || (f.at == named->at && f.field < named->field)) named = &f;
        break;
      }
    }
    if (i > 0) text += ',';
    SignalResult& r = out.signals.emplace_back();
    if (!best) {
      text += "0:-1";
      continue;
    }
    r.hit = true;
    r.until = FromMillisOrFuture(*best);
    r.field = std::string(named->field);
    r.at = absl::FromUnixMillis(named->at);
    absl::StrAppend(&text, "1:", *best);
    if (s.decisive) decisive = true;
  }
  return text;
}

std::string NoSignalsText(size_t n) {
  std::string text;
  for (size_t i = 0; i < n; ++i) text += i == 0 ? "0:-1" : ",0:-1";
  return text;
}

int64_t EmptyAt(const LimitSpec& l, int64_t now) {
  return l.kind == WindowKind::kRolling ? now + absl::ToInt64Milliseconds(l.window) : PeriodEndMs(l);
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

std::optional<CheckResult> CustomerDraft::Check(const CustomerCheck& check, std::optional<std::string_view> seen,
                                                int64_t seen_ttl_ms) {
  const int64_t now = absl::ToUnixMillis(check.now);
  // A marker an earlier check of this call moved out is in its own key by now (check.lua reads it there).
  for (auto m = moved_.rbegin(); m != moved_.rend(); ++m) {
    if (m->event_id == check.event_id) return EarlierDecision(m->payload);
  }
  if (seen) return EarlierDecision(*seen);
  Parsed k;
  if (value_ && !Parse(*value_, &k)) return std::nullopt;
  for (const Parsed::Marker& m : k.markers) {
    if (m.event_id == check.event_id && m.expires > now) return EarlierDecision(m.payload);
  }
  if (older_layouts_ && (!value_ || k.old > now)) return std::nullopt;  // check.lua looks in the older layouts
  const CheckSpec& spec = check.spec;
  for (size_t i = 0; i < spec.limits.size(); ++i) {
    if (spec.limits[i].count < 1) return std::nullopt;
    for (size_t j = 0; j < i; ++j) {
      if (spec.limits[j].counter == spec.limits[i].counter) return std::nullopt;
    }
  }

  CheckResult result;
  StoreOutcome& o = result.outcome;
  bool blocked = false;             // a decisive check applies: nothing is reserved
  std::optional<bool> final;        // the first decisive thing's say
  std::string sig_text;
  if (!spec.signals.empty() && !k.signals.empty()) {
    bool decisive = false;
    sig_text = CheckSignals(spec, k, now, o, decisive);
    if (decisive) blocked = true, final = true;
  } else {
    o.signals.assign(spec.signals.size(), {.hit = false, .until = absl::InfiniteFuture()});
    sig_text = NoSignalsText(spec.signals.size());
  }
  std::string lim_text;
  absl::InlinedVector<const Parsed::Counter*, 8> counters;
  absl::InlinedVector<std::vector<std::string_view>, 8> live;  // rolling: the times in the window
  for (size_t i = 0; i < spec.limits.size(); ++i) {
    const LimitSpec& l = spec.limits[i];
    const Parsed::Counter* c = nullptr;
    for (const Parsed::Counter& each : k.counters) {
      if (each.suffix == l.counter) c = &each;
    }
    counters.push_back(c);
    std::vector<std::string_view>& ts = live.emplace_back();
    int64_t used = 0;
    int64_t frees = 0;
    if (l.kind == WindowKind::kRolling) {
      const int64_t window = absl::ToInt64Milliseconds(l.window);
      const int64_t cut = now - window;
      if (c != nullptr && !c->data.empty()) {
        for (size_t p = 0;;) {
          const size_t comma = c->data.find(',', p);
          const std::string_view t = c->data.substr(p, comma == std::string_view::npos ? comma : comma - p);
          int64_t ms = 0;
          if (!Int(t, &ms)) return std::nullopt;
          if (ms > cut) ts.push_back(t);
          if (comma == std::string_view::npos) break;
          p = comma + 1;
        }
      }
      used = static_cast<int64_t>(ts.size());
      if (used >= l.count) {
        int64_t first = 0;
        Int(ts[static_cast<size_t>(used - l.count)], &first);
        frees = first + window;
      }
    } else {
      if (c != nullptr && c->empty_at > now && !Int(c->data, &used)) return std::nullopt;
      if (used >= l.count) frees = PeriodEndMs(l);
    }
    if (used >= l.count && l.decisive) {
      blocked = true;
      if (!final) final = l.suppress_on_exceed;
    }
    o.usage.push_back({.used = used, .frees_at = FromMillisOrPast(frees)});
    absl::StrAppend(&lim_text, i == 0 ? "" : ",", used, ":", frees);
  }
  if (spec.hold != Hold::kNone) {
    if (!final) final = spec.hold == Hold::kSuppress;
    blocked = true;
  }
  if (!blocked) final = true;
  if (check.dry_run) return result;  // writes nothing

  const bool reserve = !blocked;
  if (!*final) return result;  // deferred: nothing changes (a reservation is final)
  o.reserved = reserve;
  const std::string now_text = absl::StrCat(now);
  // The key again (check.lua's store()): the header, live signals, counters (changed ones written anew, new ones
  // last), live markers not moved out, then this decision's marker; it expires with the last thing in it.
  std::string out = absl::StrCat("2 ", AsAbsl(k.old_text), "\n");
  int64_t latest = 0;
  bool forever = false;
  for (const Parsed::Signal& g : k.signals) {
    if (!Live(g.expires, now)) continue;
    out.append(g.raw);
    if (g.expires == 0) {
      forever = true;
    } else {
      latest = std::max(latest, g.expires);
    }
  }
  auto counter = [&](std::string_view suffix, int64_t empty_at, std::string_view raw, size_t limit) {
    if (empty_at + kCounterKeepMs <= now) return;
    latest = std::max(latest, empty_at + kCounterKeepMs);
    if (limit == spec.limits.size()) {
      out.append(raw);
      return;
    }
    const LimitSpec& l = spec.limits[limit];
    absl::StrAppend(&out, "k", suffix.size(), " ", empty_at, " ");
    if (l.kind == WindowKind::kRolling) {
      for (std::string_view t : live[limit]) absl::StrAppend(&out, AsAbsl(t), ",");
      out.append(now_text);
    } else {
      absl::StrAppend(&out, o.usage[limit].used + 1);
    }
    absl::StrAppend(&out, "\n", AsAbsl(suffix));
  };
  for (const Parsed::Counter& c : k.counters) {
    size_t limit = spec.limits.size();  // none: written back as read
    if (reserve) {
      for (size_t i = 0; i < spec.limits.size(); ++i) {
        if (counters[i] == &c) limit = i;
      }
    }
    counter(c.suffix, limit == spec.limits.size() ? c.empty_at : EmptyAt(spec.limits[limit], now), c.raw, limit);
  }
  if (reserve) {
    for (size_t i = 0; i < spec.limits.size(); ++i) {
      if (counters[i] == nullptr) counter(spec.limits[i].counter, EmptyAt(spec.limits[i], now), "", i);
    }
  }
  // A final decision (every one that writes: a reservation is final too): the markers in the key move to their own
  // keys, and the key keeps this one (kMarkersInCustomerKey).
  for (const Parsed::Marker& m : k.markers) {
    if (m.expires > now) {
      moved_.push_back({.event_id = std::string(m.event_id), .payload = std::string(m.payload),
                        .ttl_ms = m.expires - now});
    }
  }
  const int64_t seen_exp = now + seen_ttl_ms;
  const std::string stored = absl::StrCat(reserve ? "1|" : "0|", sig_text, "|", lim_text, "|");
  absl::StrAppend(&out, "m", check.event_id.size(), " ", stored.size() + check.marker.size(), " ", seen_exp, "\n",
                  check.event_id, stored, check.marker);
  latest = std::max(latest, seen_exp);
  const bool existed = value_.has_value();
  if (forever) {
    value_ = std::move(out);
    write_ = Write::kSetForever;
  } else if (latest > now) {
    value_ = std::move(out);
    write_ = Write::kSet;
    ttl_ms_ = latest - now;
  } else if (existed) {
    value_.reset();
    write_ = Write::kDelete;
  }
  return result;
}

}  // namespace tact::store
