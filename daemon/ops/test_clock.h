#pragma once

// A wall clock that tests can move from outside the process: real time plus an offset read from a file.
// Enabled only by `test.clock_offset_file` (never in production); tactd logs a warning when it is in use.
// The file holds one absl duration ("0s", "8h", "-90m"); rewriting it moves Now() at once (the file is checked
// at most every 5 ms of real time). A missing, empty or unreadable file means no offset. Monotonic() is the real
// steady clock: timeouts and intervals are not affected by the offset.
#include <atomic>
#include <string>

#include "daemon/core/clock.h"

namespace tact::ops {

// Thread-safety: any thread.
class OffsetFileClock final : public Clock {
 public:
  explicit OffsetFileClock(std::string path) : path_(std::move(path)) {}
  absl::Time Now() const override;
  std::chrono::steady_clock::time_point Monotonic() const override { return std::chrono::steady_clock::now(); }

  // Parses the file's text; false when it is not a duration.
  static bool ParseOffset(std::string_view text, absl::Duration* out);

 private:
  absl::Duration Offset() const;

  const std::string path_;
  mutable absl::Mutex mu_;
  mutable int64_t checked_ns_ ABSL_GUARDED_BY(mu_) = 0;  // steady clock of the last file check
  mutable int64_t mtime_ns_ ABSL_GUARDED_BY(mu_) = -1;
  mutable absl::Duration offset_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
};

}  // namespace tact::ops
