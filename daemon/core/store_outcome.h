#pragma once

// What the counter store saw for one check, in the order of the check's signal checks and limits. Pure data
// that both the store port (daemon/store/counter_store.h) returns and the policy (policy::Decide) reads, so it
// lives here: neither part has to know the other's types, and no copy is made between them on the hot path.
#include <cstdint>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"

namespace tact {

struct SignalResult {
  bool hit = false;
  absl::Time until = absl::InfiniteFuture();  // when a hit stops holding; InfiniteFuture = not known
  // On a hit: the stored signal field that matched ("complaint:<ref>", "csat:2", ...) and when it was set; of
  // several matching fields, the one set last (equal times: the smallest name, bytewise). Empty / InfinitePast
  // when no field is known: no hit, or a duplicate's outcome (the stored outcome keeps only hit and until).
  std::string field;
  absl::Time at = absl::InfinitePast();
};

struct LimitUsage {
  int64_t used = 0;                            // already counted in the window, before this event
  absl::Time frees_at = absl::InfinitePast();  // when a slot frees up (only when used >= count)
};

// Inline sizes as the plan's (a realistic event has up to about 6 limits and 6 conditions).
struct StoreOutcome {
  absl::InlinedVector<SignalResult, 8> signals;
  absl::InlinedVector<LimitUsage, 8> usage;
  bool reserved = false;  // the store counted this event in every limit (a RELEASE that was not a dry run)
};

}  // namespace tact
