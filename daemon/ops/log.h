#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace tact::ops {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// One JSON object per line on stderr: {"ts":…,"level":…,"event":"store.unavailable",…fields}.
// Field values are strings; customers appear only as `cust_h` (CustomerHasher). Thread-safety: any thread.
using LogField = std::pair<std::string_view, std::string>;
void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
void SetLogLevel(LogLevel level);
bool ParseLogLevel(std::string_view name, LogLevel* out);

}  // namespace tact::ops
