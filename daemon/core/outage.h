#pragma once

#include "absl/status/status.h"

namespace tact {

// A store failure that may pass (UNAVAILABLE: unreachable; DEADLINE_EXCEEDED: missed the deadline): effects
// unknown, the call is safe to retry. Fail-closed decisions are held and retried on it, never dead-lettered.
inline bool IsOutage(const absl::Status& s) { return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s); }

}  // namespace tact
