#pragma once

// Shared by the tactctl verb tests: captured streams, a scratch directory, a small policy with one rule of each
// effect (its output does not change when policies/default does).
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

#include "daemon/cli/cli.h"

namespace tact::cli::testing {

struct Captured {
  std::ostringstream out;
  std::ostringstream err;
  Streams io{out, err};
};

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tact-cli-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) == nullptr ? "" : tmpl;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `text` to <dir>/<name> (directories created) and returns its path.
  std::string Write(const std::string& name, const std::string& text) const {
    const std::filesystem::path p = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  std::string path_;
};

inline constexpr char kSmallPolicy[] = R"(version: "t.1"
defaults:
  timezone: UTC
rules:
  - id: promo-csat
    description: No promotions after a bad rating.
    match:
      message_class: PROMOTION
    suppress_if:
      csat_at_most: 2
      csat_within: 30d
  - id: promo-1-per-day
    description: One promotion a day.
    match:
      message_class: PROMOTION
    limit:
      count: 1
      kind: calendar
      window: day
      scope: customer
    on_exceed: suppress
  - id: sms-quiet
    description: No SMS at night.
    mode: shadow
    match:
      channel: [SMS]
    quiet_hours:
      start: "21:00"
      end: "08:00"
    on_exceed: defer
)";

inline std::string SourceDir() { return TACT_SOURCE_DIR; }

}  // namespace tact::cli::testing

namespace tact::cli {
using nlohmann::json;
using testing::Captured;
using testing::ScratchDir;
using ::testing::HasSubstr;
}  // namespace tact::cli
