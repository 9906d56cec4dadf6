#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tact {

// Strict duration: a sequence of <int><unit> with unit in s, m, h, d, w ("7d", "1d12h", "90m"). Positive.
// Used by policy files (windows, quiet hours) and by tactd's settings (redis.seen_ttl, deferred.*).
absl::StatusOr<absl::Duration> ParseDuration(std::string_view text);

// A duration ParseDuration reads back: "72h", "15m", "1h30m", "45s" (whole seconds; absl::FormatDuration).
std::string DurationText(absl::Duration d);

}  // namespace tact
