#include "daemon/ops/log.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "daemon/core/clock.h"

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

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF), or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Plain ASCII in runs.
    size_t run = i;
    while (run < s.size()) {
      const unsigned char c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out->append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (const size_t n = Utf8Length(s, i); n > 0) {
        out->append(s.data() + i, n);
        i += n;
      } else {
        out->append("\xEF\xBF\xBD");  // U+FFFD for a byte that is not well-formed UTF-8
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
    ++i;
  }
  out->push_back('"');
}

void FormatLogLine(absl::Time now, LogLevel level, std::string_view event, std::initializer_list<LogField> fields,
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
