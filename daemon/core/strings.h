#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace tact {

// Debian's Abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW=0: absl::string_view is its own type.
inline absl::string_view AsAbsl(std::string_view sv) { return absl::string_view(sv.data(), sv.size()); }
inline std::string_view AsStd(absl::string_view sv) { return std::string_view(sv.data(), sv.size()); }

}  // namespace tact
