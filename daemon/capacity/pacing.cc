#include "daemon/capacity/pacing.h"

namespace tact::capacity {

Allowance AllowanceAt(std::span<const Batch> schedule, absl::Time now) {
  Allowance a;
  for (const Batch& b : schedule) {
    if (b.start <= now) {
      a.releasable += b.messages;
    } else {
      a.next_batch = b.start;
      break;
    }
  }
  return a;
}

}  // namespace tact::capacity
