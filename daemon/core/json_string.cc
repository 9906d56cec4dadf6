#include "daemon/core/json_string.h"

#include <cstdint>
#include <cstring>

namespace tact {

size_t Utf8SequenceLength(std::string_view s, size_t i) {
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

namespace {

// The index of the first byte of s[from...] that is not plain ASCII (a control character, '"', '\\' or a byte of
// 0x80 and up), or s.size(): eight bytes at a time (a word's bytes tested at once), then byte by byte.
size_t PlainRun(std::string_view s, size_t from) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  // High bit of each byte of v that is zero (no false positives below the first such byte).
  const auto zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  size_t i = from;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const uint64_t special = (w & kHigh) | ((w - 0x20 * kOnes) & ~w & kHigh) | zero(w ^ ('"' * kOnes)) |
                             zero(w ^ ('\\' * kOnes));
    if (special != 0) break;
  }
  for (; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
  }
  return i;
}

}  // namespace

bool AppendJsonString(std::string_view s, std::string* out, bool replace_invalid) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = PlainRun(s, 0);
  if (i == s.size()) {  // the common case: one copy, quotes included
    const size_t at = out->size();
    out->resize(at + s.size() + 2);
    char* p = out->data() + at;
    *p = '"';
    std::memcpy(p + 1, s.data(), s.size());
    p[s.size() + 1] = '"';
    return true;
  }
  out->push_back('"');
  out->append(s.data(), i);
  while (i < s.size()) {
    const size_t run = PlainRun(s, i);  // plain ASCII in runs
    out->append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (const size_t n = Utf8SequenceLength(s, i); n > 0) {
        out->append(s.data() + i, n);
        i += n;
      } else if (replace_invalid) {
        out->append("\xEF\xBF\xBD");  // U+FFFD
        ++i;
      } else {
        return false;
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
  return true;
}

}  // namespace tact
