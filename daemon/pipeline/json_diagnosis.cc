#include "daemon/pipeline/json_diagnosis.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "daemon/core/strings.h"

namespace tact::pipeline {
namespace {

// The scanner behind JsonErrorReason (see json_diagnosis.h): one pass over the text, at most kMaxDepth levels deep.
class JsonDiagnosis {
 public:
  JsonDiagnosis(std::string_view text, bool allow_unknown) : s_(text), allow_unknown_(allow_unknown) {}

  // The first problem found: ": syntax error at byte 17: expected ':'" or ": customer_id: expected a string at
  // byte 42" (a value of the wrong kind), to follow "invalid JSON event"; empty when none is found (the caller
  // then gives a fixed reason).
  std::string Find(const google::protobuf::Descriptor& type) {
    SkipSpace();
    if (Peek() != '{') return Syntax("expected an object");
    if (!Message(type, "", 0)) return problem_;
    SkipSpace();
    if (i_ != s_.size()) return Syntax("text after the object");
    return "";
  }

 private:
  static constexpr int kMaxDepth = 64;

  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  std::string Syntax(std::string_view what) {
    problem_ = absl::StrCat(": syntax error at byte ", i_, ": ", AsAbsl(what));
    return problem_;
  }
  bool Fail(std::string_view what) {
    Syntax(what);
    return false;
  }
  bool FieldFail(std::string_view path, size_t at, std::string_view what) {
    problem_ = absl::StrCat(": ", AsAbsl(path), ": ", AsAbsl(what), " at byte ", at);
    return false;
  }

  // A JSON string at i_, decoded into `out` (when not null). Checks escapes and UTF-8.
  bool String(std::string* out) {
    if (Peek() != '"') return Fail("expected a string");
    ++i_;
    while (i_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return Fail("control character in a string");
      if (c == '\\') {
        if (i_ + 1 >= s_.size()) break;
        const char e = s_[i_ + 1];
        if (e == 'u') {
          if (i_ + 6 > s_.size()) return Fail("invalid \\u escape");
          for (size_t k = i_ + 2; k < i_ + 6; ++k) {
            if (!absl::ascii_isxdigit(static_cast<unsigned char>(s_[k]))) return Fail("invalid \\u escape");
          }
          if (out != nullptr) out->push_back('?');  // only names are compared: an escape matches none
          i_ += 6;
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) return Fail("invalid escape");
        if (out != nullptr) out->push_back(e == '"' || e == '\\' || e == '/' ? e : '?');
        i_ += 2;
        continue;
      }
      const size_t n = Utf8Length(i_);
      if (n == 0) return Fail("invalid UTF-8 in a string");
      if (out != nullptr) out->append(s_.substr(i_, n));
      i_ += n;
    }
    return Fail("unterminated string");
  }
  // Bytes of the UTF-8 sequence at `at`, 0 when invalid.
  size_t Utf8Length(size_t at) const {
    const unsigned char c = static_cast<unsigned char>(s_[at]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || at + n > s_.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s_[at + k]) & 0xC0) != 0x80) return 0;
    }
    if (n == 2 && c < 0xC2) return 0;  // overlong
    if (n == 3) {
      const unsigned char c1 = static_cast<unsigned char>(s_[at + 1]);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) return 0;  // overlong, surrogate
    }
    if (n == 4) {
      const unsigned char c1 = static_cast<unsigned char>(s_[at + 1]);
      if ((c == 0xF0 && c1 < 0x90) || c > 0xF4 || (c == 0xF4 && c1 >= 0x90)) return 0;
    }
    return n;
  }
  bool Number() {
    const size_t start = i_;
    if (Peek() == '-') ++i_;
    if (Peek() == '0') {
      ++i_;
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) {
      while (absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) ++i_;
    } else {
      i_ = start;
      return Fail("invalid number");
    }
    if (Peek() == '.') {
      ++i_;
      if (!absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) return Fail("invalid number");
      while (absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) ++i_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++i_;
      if (Peek() == '+' || Peek() == '-') ++i_;
      if (!absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) return Fail("invalid number");
      while (absl::ascii_isdigit(static_cast<unsigned char>(Peek()))) ++i_;
    }
    return true;
  }
  bool Word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return Fail("expected a value");
    i_ += w.size();
    return true;
  }
  // Any JSON value, syntax only.
  bool Value(int depth) {
    if (depth > kMaxDepth) return Fail("nested too deeply");
    SkipSpace();
    switch (Peek()) {
      case '"': return String(nullptr);
      case '{': return Members(depth, [&](std::string_view, size_t) { return Value(depth + 1); });
      case '[': return Elements(depth, [&] { return Value(depth + 1); });
      case 't': return Word("true");
      case 'f': return Word("false");
      case 'n': return Word("null");
      default: return Number();
    }
  }
  // An object at i_; `member(key, key_offset)` reads each value (i_ at its first byte, spaces skipped).
  template <typename F>
  bool Members(int depth, F member) {
    if (depth > kMaxDepth) return Fail("nested too deeply");
    ++i_;  // '{'
    SkipSpace();
    if (Peek() == '}') {
      ++i_;
      return true;
    }
    for (;;) {
      SkipSpace();
      const size_t key_at = i_;
      std::string key;
      if (!String(&key)) return false;
      SkipSpace();
      if (Peek() != ':') return Fail("expected ':'");
      ++i_;
      SkipSpace();
      if (!member(key, key_at)) return false;
      SkipSpace();
      if (Peek() == ',') {
        ++i_;
        continue;
      }
      if (Peek() == '}') {
        ++i_;
        return true;
      }
      return Fail("expected ',' or '}'");
    }
  }
  template <typename F>
  bool Elements(int depth, F element) {
    if (depth > kMaxDepth) return Fail("nested too deeply");
    ++i_;  // '['
    SkipSpace();
    if (Peek() == ']') {
      ++i_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (!element()) return false;
      SkipSpace();
      if (Peek() == ',') {
        ++i_;
        continue;
      }
      if (Peek() == ']') {
        ++i_;
        return true;
      }
      return Fail("expected ',' or ']'");
    }
  }

  bool Message(const google::protobuf::Descriptor& type, const std::string& path, int depth) {
    return Members(depth, [&](std::string_view key, size_t key_at) {
      const google::protobuf::FieldDescriptor* f = nullptr;
      for (int k = 0; k < type.field_count() && f == nullptr; ++k) {
        const google::protobuf::FieldDescriptor* c = type.field(k);
        if (key == c->json_name() || key == c->name()) f = c;
      }
      if (f == nullptr) {
        if (allow_unknown_) return Value(depth + 1);
        // The key is the sender's text: not quoted.
        return FieldFail(path.empty() ? std::string_view("(object)") : std::string_view(path), key_at,
                         "unknown field");
      }
      const std::string name = path.empty() ? f->name() : absl::StrCat(path, ".", f->name());
      if (Peek() == 'n') return Word("null");  // null: the field's default
      if (f->is_map()) {
        if (Peek() != '{') return FieldFail(name, i_, "expected an object");
        const google::protobuf::FieldDescriptor* value = f->message_type()->map_value();
        return Members(depth + 1, [&](std::string_view, size_t) { return Single(*value, name, depth + 2); });
      }
      if (f->is_repeated()) {
        if (Peek() != '[') return FieldFail(name, i_, "expected an array");
        return Elements(depth + 1, [&] { return Single(*f, name, depth + 2); });
      }
      return Single(*f, name, depth + 1);
    });
  }

  // One value of field `f` (an element, for repeated fields and map values).
  bool Single(const google::protobuf::FieldDescriptor& f, const std::string& name, int depth) {
    using FD = google::protobuf::FieldDescriptor;
    const size_t at = i_;
    const char c = Peek();
    switch (f.cpp_type()) {
      case FD::CPPTYPE_STRING:
        if (c != '"') return FieldFail(name, at, "expected a string");
        return String(nullptr);
      case FD::CPPTYPE_BOOL:
        if (c != 't' && c != 'f') return FieldFail(name, at, "expected true or false");
        return Value(depth);
      case FD::CPPTYPE_ENUM: {
        if (c == '"') {
          std::string v;
          if (!String(&v)) return false;
          if (f.enum_type()->FindValueByName(v) == nullptr) return FieldFail(name, at, "unknown enum value");
          return true;
        }
        if (c != '-' && !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
          return FieldFail(name, at, "expected an enum value name");
        }
        return Number();
      }
      case FD::CPPTYPE_MESSAGE: {
        const std::string& type = f.message_type()->full_name();
        if (type == "google.protobuf.Timestamp") {
          if (c != '"') return FieldFail(name, at, "expected an RFC 3339 time");
          std::string v;
          if (!String(&v)) return false;
          absl::Time t;
          if (!absl::ParseTime(absl::RFC3339_full, v, &t, nullptr)) {
            return FieldFail(name, at, "expected an RFC 3339 time");
          }
          return true;
        }
        if (c != '{') return FieldFail(name, at, "expected an object");
        if (f.message_type()->file()->package() == "google.protobuf") return Value(depth);  // other well-known types
        return Message(*f.message_type(), name, depth);
      }
      default:  // numbers: a JSON number or a string holding one
        if (c == '"') {
          std::string v;
          if (!String(&v)) return false;
          double d = 0;
          if (!absl::SimpleAtod(v, &d)) return FieldFail(name, at, "expected a number");
          return true;
        }
        if (c != '-' && !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
          return FieldFail(name, at, "expected a number");
        }
        return Number();
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  const bool allow_unknown_;
  std::string problem_;
};

}  // namespace

std::string JsonErrorReason(std::string_view json, const google::protobuf::Descriptor& type, std::string_view what,
                            bool allow_unknown) {
  std::string problem = JsonDiagnosis(json, allow_unknown).Find(type);
  if (problem.empty()) {
    problem = absl::StrCat(": not a valid ", type.full_name());
  }
  return absl::StrCat("invalid JSON ", AsAbsl(what), problem);
}

}  // namespace tact::pipeline
