#include "daemon/ops/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "daemon/core/clock.h"
#include "daemon/core/json_string.h"

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

void FormatLogLine(absl::Time now, LogLevel level, std::string_view event, std::span<const LogField> fields,
                   std::string* out) {
  // The timestamp's seconds are formatted once per second per thread; the access log writes one line per call.
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached_text[24];
  const int64_t ms = absl::ToUnixMillis(now);
  const int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (second != cached_second) {
    const absl::CivilSecond cs = absl::ToCivilSecond(absl::FromUnixSeconds(second), absl::UTCTimeZone());
    absl::SNPrintF(cached_text, sizeof cached_text, "%04d-%02d-%02dT%02d:%02d:%02d", cs.year(), cs.month(),
                   cs.day(), cs.hour(), cs.minute(), cs.second());
    cached_second = second;
  }
  const int milli = static_cast<int>(ms - second * 1000);
  out->append("{\"ts\":\"");
  out->append(cached_text);
  out->push_back('.');
  out->push_back(static_cast<char>('0' + milli / 100));
  out->push_back(static_cast<char>('0' + milli / 10 % 10));
  out->push_back(static_cast<char>('0' + milli % 10));
  out->append("Z\",\"level\":\"");
  out->append(LevelName(level));
  out->append("\",\"event\":");
  AppendJsonString(event, out);
  for (const auto& [k, v] : fields) {
    out->push_back(',');
    AppendJsonString(k, out);
    out->push_back(':');
    AppendJsonString(v, out);
  }
  out->append("}\n");
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

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
  LogFields(level, event, std::span<const LogField>(fields.begin(), fields.size()));
}

void LogFields(LogLevel level, std::string_view event, std::span<const LogField> fields) {
  if (!LogEnabled(level)) {
    return;
  }
  // Presentation only; decision time comes from the injected Clock.
  static const SystemClock kWallClock;
  thread_local std::string line;
  line.clear();
  FormatLogLine(kWallClock.Now(), level, event, fields, &line);
  std::fwrite(line.data(), 1, line.size(), stderr);  // stderr is unbuffered: one write per line
  if (line.capacity() > 64 * 1024) {
    line = std::string();  // one huge line does not pin its buffer on this thread
  }
}

}  // namespace tact::ops
