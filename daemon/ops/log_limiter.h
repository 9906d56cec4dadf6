#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/core/clock.h"
#include "daemon/ops/log.h"

namespace tact::ops {

// A bounded log for errors that repeat (a retry loop's failures, librdkafka's error events): one line per distinct
// (event, key) per interval. The first occurrence is written at once; later ones within the interval are only
// counted, and the next line written for that (event, key) carries `"suppressed":"N"`, how many were dropped since
// the line before it. `key` is a closed set chosen by the caller (topic + error name): never customer data.
// At most `max_keys` keys are remembered (the least recently written go first), so memory stays bounded.
// Thread-safety: any thread.
class LogLimiter {
 public:
  LogLimiter(const Clock& clock, absl::Duration interval, size_t max_keys = 1024)
      : clock_(clock), interval_(interval), max_keys_(max_keys) {}

  // True when this occurrence is to be written; then *suppressed = the occurrences dropped since the last written
  // one of this (event, key). Exposed for tests; Log() is the usual way in.
  bool ShouldWrite(std::string_view event, std::string_view key, int64_t* suppressed) ABSL_LOCKS_EXCLUDED(mu_);

  // ops::Log(level, event, fields + {"suppressed", N} when N > 0) when admitted, else nothing.
  void Log(LogLevel level, std::string_view event, std::string_view key, std::initializer_list<LogField> fields)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point last_written;
    int64_t dropped = 0;
  };

  const Clock& clock_;
  const absl::Duration interval_;
  const size_t max_keys_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);  // keys in first-written order, for the bound
};

}  // namespace tact::ops
