#pragma once

// Time zones for one compiled policy: each IANA zone is loaded once (absl::LoadTimeZone reads the system zoneinfo
// behind cctz's global mutex), and per zone the calendar facts of the local day last asked for are kept, so
// evaluating an event computes no civil time on the hot path. Owned by the policy (Policy::zones): a reload
// starts with a fresh cache, and a test can give a policy its own resolver (a loader that counts loads, or maps
// test names to fixed zones).
// Thread-safety: any thread. One reader/writer lock guards the cache; it is held for a lookup and a copy, never
// while a zone is loaded or a day computed. A std::shared_mutex, not absl::Mutex: Debian's Abseil is built in debug
// mode and runs its deadlock detector on every lock, which cost ~9% of PlanEvent in bench/policy_eval_bench.
#include <cstdint>
#include <cstring>
#include <functional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tact::policy {

// A short text kept inline (at most 23 bytes; longer text is cut), so a LocalDay copies without allocating.
class ShortText {
 public:
  ShortText() = default;
  explicit ShortText(std::string_view s) : size_(static_cast<uint8_t>(s.size() < kMax ? s.size() : kMax)) {
    std::memcpy(buf_, s.data(), size_);
  }
  std::string_view view() const { return {buf_, size_}; }

 private:
  static constexpr size_t kMax = 23;
  char buf_[kMax] = {};
  uint8_t size_ = 0;
};

// Everything about one local day in one zone that calendar windows and quiet hours need.
struct LocalDay {
  absl::Time start = absl::InfiniteFuture();  // [start, end): the instants of `day`; empty after an odd transition
  absl::Time end = absl::InfinitePast();
  absl::CivilDay day;
  bool uniform = false;     // one UTC offset all day: local minute = (t - start) / 1m
  ShortText day_label;    // "2026-11-23"
  ShortText week_label;   // "w2026-11-23" (its Monday)
  ShortText month_label;  // "2026-11"
  absl::Time week_end;
  absl::Time month_end;

  bool Holds(absl::Time t) const { return start <= t && t < end; }
};

// The local day holding `now` in `tz`. When a transition at midnight makes the day's bounds odd, start/end are
// left empty (InfiniteFuture/InfinitePast): such a day is never reused and is computed again for every event.
LocalDay ComputeLocalDay(const absl::TimeZone& tz, absl::Time now);

class ZoneResolver {
 public:
  // Loads the zone named `name` into `*tz`; false when there is no such zone.
  using Loader = std::function<bool(const std::string& name, absl::TimeZone* tz)>;

  // At most this many zones are kept; past it a zone is loaded for each use and its name is not kept.
  static constexpr size_t kMaxZones = 4096;
  // At most this many unknown names are remembered (then forgotten all at once).
  static constexpr size_t kMaxUnknown = 1024;

  ZoneResolver();  // absl::LoadTimeZone
  explicit ZoneResolver(Loader load);
  ZoneResolver(const ZoneResolver&) = delete;
  ZoneResolver& operator=(const ZoneResolver&) = delete;

  // The zone named `name` into `*tz`; false when unknown.
  bool Load(const std::string& name, absl::TimeZone* tz);

  struct Local {
    absl::TimeZone tz;
    std::string_view name;  // the resolver's copy of the name: valid while it lives; empty past kMaxZones
    LocalDay day;           // the local day holding `now`
  };
  // The zone named `name` and its local day at `now` into `*out`; false when unknown. `known`: the zone when the
  // caller has it already (the policy's defaults), so it is not loaded again.
  bool Resolve(const std::string& name, const absl::TimeZone* known, absl::Time now, Local* out);

  // How many zones were loaded through the loader (cache misses), for tests.
  size_t loads() const;

 private:
  struct Entry {
    absl::TimeZone tz;
    LocalDay today;
  };
  enum class Found { kCached, kUnknown, kMissing };
  Found Find(const std::string& name, absl::TimeZone* tz);  // with mu_ held (shared)
  bool LoadUncached(const std::string& name, absl::TimeZone* tz);
  // Keeps `tz` (and `day`) under `name`; the kept name, empty when the cache is full.
  std::string_view Keep(const std::string& name, const absl::TimeZone& tz, const LocalDay* day);

  const Loader load_;
  mutable std::shared_mutex mu_;  // guards the three below
  absl::node_hash_map<std::string, Entry> zones_;  // node: the keys (names) never move
  absl::flat_hash_set<std::string> unknown_;
  size_t loads_ = 0;
};

}  // namespace tact::policy
