#include "daemon/ops/log_limiter.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact::ops {

bool LogLimiter::ShouldWrite(std::string_view event, std::string_view key, int64_t* suppressed) {
  const auto now = clock_.Monotonic();
  std::string id = absl::StrCat(AsAbsl(event), "\x1f", AsAbsl(key));
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    while (entries_.size() >= max_keys_ && !order_.empty()) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(id);
    entries_.emplace(std::move(id), Entry{.last_written = now});
    *suppressed = 0;
    return true;
  }
  Entry& e = it->second;
  if (now - e.last_written < absl::ToChronoNanoseconds(interval_)) {
    ++e.dropped;
    return false;
  }
  *suppressed = e.dropped;
  e.dropped = 0;
  e.last_written = now;
  return true;
}

void LogLimiter::Log(LogLevel level, std::string_view event, std::string_view key,
                     std::initializer_list<LogField> fields) {
  int64_t suppressed = 0;
  if (!ShouldWrite(event, key, &suppressed)) {
    return;
  }
  if (suppressed == 0) {
    ops::Log(level, event, fields);
    return;
  }
  std::vector<LogField> all(fields);
  all.emplace_back("suppressed", absl::StrCat(suppressed));
  LogFields(level, event, all);
}

}  // namespace tact::ops
