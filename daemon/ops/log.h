#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/time.h"

namespace tact::ops {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// One JSON object per line on stderr: {"ts":…,"level":…,"event":"store.unavailable",…fields}.
// Field values are strings; customers appear only as `cust_h` (CustomerHasher). Thread-safety: any thread.
using LogField = std::pair<std::string_view, std::string>;
void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
// The same with fields built at run time (e.g. LogLimiter adding `suppressed`).
void LogFields(LogLevel level, std::string_view event, std::span<const LogField> fields);
void SetLogLevel(LogLevel level);
// Whether a line at `level` is written: callers with costly fields (a line per call) skip building them when not.
bool LogEnabled(LogLevel level);

// The line Log() writes, appended to `out` (exposed for tests). Strings are JSON-escaped (AppendJsonString); a
// byte that is not well-formed UTF-8 becomes U+FFFD, so every line parses.
void FormatLogLine(absl::Time now, LogLevel level, std::string_view event, std::span<const LogField> fields,
                   std::string* out);
inline void FormatLogLine(absl::Time now, LogLevel level, std::string_view event,
                          std::initializer_list<LogField> fields, std::string* out) {
  FormatLogLine(now, level, event, std::span<const LogField>(fields.begin(), fields.size()), out);
}
bool ParseLogLevel(std::string_view name, LogLevel* out);

}  // namespace tact::ops
