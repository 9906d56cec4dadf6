#include "daemon/ops/log.h"

#include <atomic>
#include <cstdio>

#include "daemon/core/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace tact::ops {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool ParseLogLevel(std::string_view name, LogLevel* out) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (name == LevelName(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) {
    return;
  }
  nlohmann::ordered_json line;
  // Presentation only; decision time comes from the injected Clock.
  static const SystemClock kWallClock;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", kWallClock.Now(), absl::UTCTimeZone());
  line["level"] = LevelName(level);
  line["event"] = event;
  for (const auto& [k, v] : fields) {
    line[std::string(k)] = v;
  }
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace tact::ops
