#include "daemon/cli/cli.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace tact::cli {

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path == "-" ? "/dev/stdin" : path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Rfc3339(absl::Time t) { return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone()); }

std::string Rfc3339Z(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

}  // namespace tact::cli
