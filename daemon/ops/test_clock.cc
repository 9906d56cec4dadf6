#include "daemon/ops/test_clock.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "daemon/core/strings.h"

namespace tact::ops {

bool OffsetFileClock::ParseOffset(std::string_view text, absl::Duration* out) {
  const std::string trimmed(absl::StripAsciiWhitespace(AsAbsl(text)));
  if (trimmed.empty()) {
    *out = absl::ZeroDuration();
    return true;
  }
  return absl::ParseDuration(trimmed, out) && *out != absl::InfiniteDuration() && *out != -absl::InfiniteDuration();
}

absl::Duration OffsetFileClock::Offset() const {
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now().time_since_epoch()).count();
  absl::MutexLock lock(&mu_);
  if (now_ns - checked_ns_ < 5'000'000) return offset_;
  checked_ns_ = now_ns;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    offset_ = absl::ZeroDuration();
    mtime_ns_ = -1;
    return offset_;
  }
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (mtime == mtime_ns_) return offset_;
  std::ifstream in(path_);
  std::stringstream text;
  text << in.rdbuf();
  absl::Duration parsed;
  if (ParseOffset(text.str(), &parsed)) {
    offset_ = parsed;
    mtime_ns_ = mtime;
  }  // a half-written file is read again at the next check
  return offset_;
}

absl::Time OffsetFileClock::Now() const { return absl::Now() + Offset(); }

}  // namespace tact::ops
