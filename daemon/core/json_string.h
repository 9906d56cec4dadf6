#pragma once

#include <string>
#include <string_view>

namespace tact {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates, at most U+10FFFF),
// or 0 when there is none.
size_t Utf8SequenceLength(std::string_view s, size_t i);

// `s` as a JSON string literal, quotes included, appended to `out`: '"', '\\' and control characters escaped
// (the short forms where JSON has them, else \u00XX), well-formed UTF-8 copied as is. A byte that is not
// well-formed UTF-8 becomes U+FFFD when `replace_invalid`; otherwise the function stops there and returns false
// (what it appended is then incomplete).
bool AppendJsonString(std::string_view s, std::string* out, bool replace_invalid = true);

}  // namespace tact
