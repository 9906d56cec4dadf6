#pragma once

// A compact, self-delimiting text encoding for internal records on the hot path (decision markers stored in
// Redis with every final decision): a sequence of tokens, each an integer "<decimal>;" or a string
// "<length>:<bytes>". No escaping, no allocation per token, any bytes in strings. Readers check every token
// and fail (never read past the end) on malformed text.
//
//   TokenWriter w;  w.Int(3);  w.Str("cap");      // "3;3:cap"
//   TokenReader r(text);  int64_t n;  std::string_view s;  bool ok = r.Int(&n) && r.Str(&s) && r.Done();

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tact {

class TokenWriter {
 public:
  TokenWriter() { out_.reserve(512); }
  void Int(int64_t v) {
    char buf[absl::numbers_internal::kFastToBufferSize];
    char* end = absl::numbers_internal::FastIntToBuffer(v, buf);
    out_.append(buf, static_cast<size_t>(end - buf));
    out_.push_back(';');
  }
  void Str(std::string_view s) {
    char buf[absl::numbers_internal::kFastToBufferSize];
    char* end = absl::numbers_internal::FastIntToBuffer(static_cast<uint64_t>(s.size()), buf);
    out_.append(buf, static_cast<size_t>(end - buf));
    out_.push_back(':');
    out_.append(s);
  }
  void Raw(std::string_view s) { out_.append(s); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class TokenReader {
 public:
  explicit TokenReader(std::string_view text) : rest_(text) {}
  bool Int(int64_t* v) {
    uint64_t magnitude = 0;
    const bool negative = !rest_.empty() && rest_.front() == '-';
    size_t i = negative ? 1 : 0;
    const size_t first = i;
    for (; i < rest_.size() && rest_[i] >= '0' && rest_[i] <= '9'; ++i) {
      const uint64_t digit = static_cast<uint64_t>(rest_[i] - '0');
      if (magnitude > (static_cast<uint64_t>(INT64_MAX) - digit) / 10) return false;  // would not fit int64
      magnitude = magnitude * 10 + digit;
    }
    if (i == first || i >= rest_.size() || rest_[i] != ';') return false;
    *v = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
    rest_.remove_prefix(i + 1);
    return true;
  }
  bool Str(std::string_view* s) {
    size_t len = 0;
    size_t i = 0;
    for (; i < rest_.size() && rest_[i] >= '0' && rest_[i] <= '9' && i < 9; ++i) {
      len = len * 10 + static_cast<size_t>(rest_[i] - '0');
    }
    if (i == 0 || i >= rest_.size() || rest_[i] != ':' || rest_.size() - i - 1 < len) return false;
    *s = rest_.substr(i + 1, len);
    rest_.remove_prefix(i + 1 + len);
    return true;
  }
  // A count of items that follow, each at least one token long: bounded by what is left.
  bool Count(size_t* n) {
    int64_t v = 0;
    if (!Int(&v) || v < 0 || static_cast<uint64_t>(v) > rest_.size()) return false;
    *n = static_cast<size_t>(v);
    return true;
  }
  bool Literal(std::string_view prefix) {
    if (!rest_.starts_with(prefix)) return false;
    rest_.remove_prefix(prefix.size());
    return true;
  }
  bool Done() const { return rest_.empty(); }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

}  // namespace tact
