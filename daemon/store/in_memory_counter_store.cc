#include "daemon/store/in_memory_counter_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/store/keys.h"

namespace tact::store {
namespace {

absl::Time FreesFromMs(int64_t ms) { return ms == 0 ? absl::InfinitePast() : absl::FromUnixMillis(ms); }

}  // namespace

absl::StatusOr<std::vector<CheckResult>> InMemoryCounterStore::CheckAndReserve(std::span<const CustomerCheck> checks,
                                                                               absl::Time /*deadline*/) {
  absl::MutexLock lock(&mu_);
  std::vector<CheckResult> out;
  out.reserve(checks.size());
  for (const CustomerCheck& c : checks) {
    out.push_back(CheckOne(c));
  }
  return out;
}

// Mirrors check.lua step by step, in integer milliseconds.
CheckResult InMemoryCounterStore::CheckOne(const CustomerCheck& c) {
  const int64_t now = absl::ToUnixMillis(c.now);
  const std::string prefix = keys_.CustomerPrefix(c.tenant, c.customer_id);
  const std::string seen_key = SeenKey(prefix, c.event_id);
  if (auto it = seen_.find(seen_key); it != seen_.end()) {
    if (it->second.expires_ms > now) {
      return CheckResult{.duplicate = true, .marker = it->second.marker, .outcome = it->second.outcome};
    }
    seen_.erase(it);
  }
  CheckResult r;
  const CheckSpec& spec = c.spec;
  if (!spec.signals.empty()) {
    const auto& fields = signals_[SignalsKey(prefix)];
    for (const SignalSpec& s : spec.signals) {
      r.outcome.signals.push_back(CheckSignal(fields, s, now));
    }
  }
  for (const LimitSpec& l : spec.limits) {
    r.outcome.usage.push_back(ReadUsage(absl::StrCat(prefix, AsAbsl(l.counter)), l, now));
  }
  if (c.dry_run) {
    return r;
  }
  if (ShouldReserve(spec, r.outcome)) {
    Reserve(prefix, c.event_id, spec, now);
    r.outcome.reserved = true;
  }
  if (IsFinal(spec, r.outcome)) {
    StoreOutcome stored = r.outcome;
    for (SignalResult& s : stored.signals) {  // as check.lua stores it: hit and until only
      s.field.clear();
      s.at = absl::InfinitePast();
    }
    seen_[seen_key] = Seen{c.marker, std::move(stored), now + absl::ToInt64Milliseconds(kDefaultSeenTtl)};
  }
  return r;
}

SignalResult InMemoryCounterStore::CheckSignal(const std::map<std::string, SignalValue>& fields, const SignalSpec& s,
                                               int64_t now) {
  return EvaluateSignal(
      [&](auto fn) {
        for (const auto& [name, v] : fields) fn(SignalFieldView{name, v.at_ms, v.expires_ms});
      },
      s, now);
}

LimitUsage InMemoryCounterStore::ReadUsage(const std::string& key, const LimitSpec& l, int64_t now) {
  LimitUsage u;
  if (l.kind == WindowKind::kRolling) {
    const int64_t window = absl::ToInt64Milliseconds(l.window);
    auto& zset = windows_[key];
    zset.erase(zset.begin(), zset.upper_bound(now - window));  // ZREMRANGEBYSCORE -inf (now - window)
    u.used = static_cast<int64_t>(zset.size());
    if (u.used >= l.count) {
      auto it = zset.begin();
      std::advance(it, u.used - l.count);
      u.frees_at = FreesFromMs(it->first + window);
    }
    return u;
  }
  auto it = calendars_.find(key);
  if (it != calendars_.end() && it->second.expires_ms <= now) {
    calendars_.erase(it);
    it = calendars_.end();
  }
  u.used = it == calendars_.end() ? 0 : it->second.count;
  if (u.used >= l.count) u.frees_at = FreesFromMs(PeriodEndMs(l));
  return u;
}

void InMemoryCounterStore::Reserve(const std::string& prefix, const std::string& event_id, const CheckSpec& spec,
                                   int64_t now) {
  for (const LimitSpec& l : spec.limits) {
    const std::string key = absl::StrCat(prefix, AsAbsl(l.counter));
    if (l.kind == WindowKind::kRolling) {
      windows_[key].emplace(now, event_id);  // one more message (check.lua keeps its time; dedupe is the marker's)
    } else {
      Calendar& cal = calendars_[key];
      cal.count += 1;
      cal.expires_ms = PeriodEndMs(l);
    }
  }
  if (!spec.limits.empty()) {
    auto& index = index_[prefix];
    for (const LimitSpec& l : spec.limits) {
      index[std::string(l.counter)] =
          l.kind == WindowKind::kRolling ? now + absl::ToInt64Milliseconds(l.window) : PeriodEndMs(l);
    }
    std::erase_if(index, [now](const auto& e) { return e.second <= now; });
  }
}

absl::StatusOr<CustomerState> InMemoryCounterStore::ReadCustomer(const CustomerRead& read, absl::Time /*deadline*/) {
  const int64_t now = absl::ToUnixMillis(read.now);
  const std::string prefix = keys_.CustomerPrefix(read.tenant, read.customer_id);
  CustomerState state;
  absl::MutexLock lock(&mu_);
  if (auto idx = index_.find(prefix); idx != index_.end()) {
    for (const auto& [suffix, empty_at] : idx->second) {  // std::map: sorted by suffix, as promised
      if (empty_at <= now) continue;
      const CounterFamily* family = nullptr;
      for (const CounterFamily& f : read.families) {
        if (InFamily(suffix, f)) {
          family = &f;
          break;
        }
      }
      if (family == nullptr) continue;
      CounterState cs{.rule_id = family->rule_id, .counter = suffix};
      const std::string key = prefix + suffix;
      if (family->kind == WindowKind::kRolling) {
        const int64_t window = absl::ToInt64Milliseconds(family->window);
        if (auto w = windows_.find(key); w != windows_.end()) {
          for (auto it = w->second.upper_bound(now - window); it != w->second.end(); ++it) {
            if (cs.used++ == 0) cs.frees_at = absl::FromUnixMillis(it->first + window);
          }
        }
      } else {
        if (auto c = calendars_.find(key); c != calendars_.end() && c->second.expires_ms > now) {
          cs.used = c->second.count;
        }
        cs.frees_at = absl::FromUnixMillis(empty_at);
      }
      if (cs.used > 0) state.counters.push_back(std::move(cs));
    }
  }
  if (auto sig = signals_.find(SignalsKey(prefix)); sig != signals_.end()) {
    for (const auto& [field, v] : sig->second) {
      if (v.expires_ms != 0 && v.expires_ms <= now) continue;
      state.signals.push_back({.field = field,
                               .at = absl::FromUnixMillis(v.at_ms),
                               .expires_at = v.expires_ms == 0 ? absl::InfiniteFuture()
                                                               : absl::FromUnixMillis(v.expires_ms)});
    }
  }
  return state;
}

absl::Status InMemoryCounterStore::PutSignal(const SignalWrite& w, absl::Time now, absl::Time /*deadline*/) {
  if (absl::Status valid = CheckSignalWrite(w); !valid.ok()) return valid;
  const int64_t now_ms = absl::ToUnixMillis(now);
  absl::MutexLock lock(&mu_);
  auto& fields = signals_[SignalsKey(keys_.CustomerPrefix(w.tenant, w.customer_id))];
  if (w.remove) {
    fields.erase(w.field);
  } else {
    fields[w.field] = SignalValue{w.at_ms, w.expires_ms};
  }
  for (auto it = fields.begin(); it != fields.end();) {  // prune expired fields, as the Redis script does
    it = (it->second.expires_ms != 0 && it->second.expires_ms <= now_ms) ? fields.erase(it) : std::next(it);
  }
  return absl::OkStatus();
}

namespace {

// Erases the entries of `map` whose key starts with `prefix`; counts those `live` holds for (state Redis keeps).
template <typename Map, typename Live>
int64_t EraseByPrefix(Map& map, const std::string& prefix, Live live) {
  int64_t removed = 0;
  for (auto it = map.lower_bound(prefix); it != map.end() && it->first.starts_with(prefix);) {
    removed += live(it->second) ? 1 : 0;
    it = map.erase(it);
  }
  return removed;
}

}  // namespace

// Store v2's keys (check.lua): the customer's one key `s` holds its counters, signals and last
// kMarkersInCustomerKey decision markers; each earlier marker is a `seen:<event_id>` key of its own. So: 1 when
// anything is stored, plus the markers but those.
absl::StatusOr<int64_t> InMemoryCounterStore::ForgetCustomer(std::span<const std::string> prefixes,
                                                             absl::Time /*deadline*/) {
  absl::MutexLock lock(&mu_);
  int64_t removed = 0;
  auto non_empty = [](const auto& container) { return !container.empty(); };
  for (const std::string& prefix : prefixes) {
    if (prefix.empty()) continue;  // never everything
    int64_t state = EraseByPrefix(windows_, prefix, non_empty);
    state += EraseByPrefix(calendars_, prefix, [](const Calendar&) { return true; });
    state += EraseByPrefix(signals_, prefix, non_empty);
    state += EraseByPrefix(index_, prefix, non_empty);  // keyed by the prefix itself
    const int64_t markers = EraseByPrefix(seen_, prefix, [](const Seen&) { return true; });
    if (state + markers > 0) removed += 1 + std::max<int64_t>(markers - kMarkersInCustomerKey, 0);
  }
  return removed;
}

absl::Status InMemoryCounterStore::PutArchived(std::string_view name, std::string_view text, absl::Duration ttl,
                                               absl::Time /*deadline*/) {
  if (absl::Status s = CheckArchiveName(name); !s.ok()) return s;
  if (absl::Status s = CheckArchiveTtl(ttl); !s.ok()) return s;
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  std::erase_if(archive_, [now](const auto& e) { return now > e.second.expires_at; });  // as Redis: after PX
  archive_.insert_or_assign(std::string(name), Archived{std::string(text), now + ttl});
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> InMemoryCounterStore::GetArchived(std::string_view name,
                                                                             absl::Time /*deadline*/) {
  if (absl::Status s = CheckArchiveName(name); !s.ok()) return s;
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  const auto it = archive_.find(name);
  if (it == archive_.end()) return std::optional<std::string>();
  if (now > it->second.expires_at) {  // redis-server: a key is expired once now > its expiry time
    archive_.erase(it);
    return std::optional<std::string>();
  }
  return std::optional<std::string>(it->second.text);
}

void InMemoryCounterStore::SeedUsage(const std::string& tenant, const std::string& customer_id,
                                     const LimitSpec& limit, int64_t used, absl::Time now) {
  absl::MutexLock lock(&mu_);
  const std::string key = absl::StrCat(keys_.CustomerPrefix(tenant, customer_id), AsAbsl(limit.counter));
  if (limit.kind == WindowKind::kRolling) {
    auto& zset = windows_[key];
    zset.clear();
    for (int64_t i = 0; i < used; ++i) zset.emplace(absl::ToUnixMillis(now) - 1, absl::StrCat("seed-", i));
  } else {
    calendars_[key] = Calendar{.count = used, .expires_ms = PeriodEndMs(limit)};
  }
}

}  // namespace tact::store
