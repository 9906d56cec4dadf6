#pragma once

// Enforcing a released plan, message by message (pure). The Kafka-path hook (not wired yet: DESIGN's
// "enforcement in the Kafka path") keeps one released-count per campaign and interval in Redis and asks this:
// release while the campaign has released fewer than `releasable`; otherwise defer to `next_batch`.
#include <cstdint>
#include <span>

#include "absl/time/time.h"
#include "daemon/capacity/plan.h"

namespace tact::capacity {

struct Allowance {
  int64_t releasable = 0;                          // batches whose interval has started, summed
  absl::Time next_batch = absl::InfiniteFuture();  // start of the next batch; InfiniteFuture when none is left
};

// `schedule` in time order (as PlanCampaign returns it).
Allowance AllowanceAt(std::span<const Batch> schedule, absl::Time now);

}  // namespace tact::capacity
