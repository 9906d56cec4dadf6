#include "daemon/core/duration.h"

#include <charconv>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact {

absl::StatusOr<absl::Duration> ParseDuration(std::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError("empty duration (expected e.g. 30m, 24h, 7d)");
  }
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    if (i == start || i == text.size() || i - start > 6) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad duration '", AsAbsl(text), "' (expected e.g. 30m, 24h, 7d, 1d12h)"));
    }
    int64_t n = 0;
    std::from_chars(text.data() + start, text.data() + i, n);
    switch (text[i]) {
      case 's': total += absl::Seconds(n); break;
      case 'm': total += absl::Minutes(n); break;
      case 'h': total += absl::Hours(n); break;
      case 'd': total += absl::Hours(24 * n); break;
      case 'w': total += absl::Hours(24 * 7 * n); break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("bad duration '", AsAbsl(text), "' (expected e.g. 30m, 24h, 7d, 1d12h)"));
    }
    ++i;
  }
  if (total <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("duration '", AsAbsl(text), "' must be longer than zero"));
  }
  return total;
}

std::string DurationText(absl::Duration d) { return absl::FormatDuration(d); }

}  // namespace tact
