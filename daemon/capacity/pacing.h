#pragma once

// A released plan's cumulative allowance (pure): how many messages the schedule lets out by `now`. The decision
// path's gate (daemon/decision/campaign_gate.h) does NOT use it: it enforces each interval's own batch (a batch
// not used in its interval is not carried over, since the model placed that batch's contacts in that interval).
// This is the catch-up view, for reporting how far a campaign runs behind its plan.
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
