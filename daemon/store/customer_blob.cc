#include "daemon/store/customer_blob.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "daemon/core/strings.h"

namespace tact::store {
namespace {

// Reads a decimal integer (optionally negative) at `pos`, then expects `sep`.
bool ReadInt(std::string_view s, size_t& pos, char sep, int64_t* out) {
  const char* begin = s.data() + pos;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, *out);
  if (ec != std::errc() || ptr == begin || ptr == end || *ptr != sep) return false;
  pos = static_cast<size_t>(ptr - s.data()) + 1;
  return true;
}

bool ReadBytes(std::string_view s, size_t& pos, int64_t len, std::string* out) {
  if (len < 0 || static_cast<size_t>(len) > s.size() - pos) return false;
  out->assign(s.substr(pos, static_cast<size_t>(len)));
  pos += static_cast<size_t>(len);
  return true;
}

bool ReadCounter(std::string_view s, size_t& pos, CustomerBlob::Counter* c) {
  int64_t len = 0;
  if (!ReadInt(s, pos, ' ', &len) || !ReadInt(s, pos, ' ', &c->empty_at_ms)) return false;
  const size_t nl = s.find('\n', pos);
  if (nl == std::string_view::npos) return false;
  const std::string_view data = s.substr(pos, nl - pos);
  pos = nl + 1;
  if (!ReadBytes(s, pos, len, &c->suffix)) return false;
  if (!c->rolling()) {
    auto [ptr, ec] = std::from_chars(data.data(), data.data() + data.size(), c->count);
    return ec == std::errc() && ptr == data.data() + data.size();
  }
  for (size_t at = 0; at < data.size();) {
    const size_t comma = std::min(data.find(',', at), data.size());
    int64_t t = 0;
    auto [ptr, ec] = std::from_chars(data.data() + at, data.data() + comma, t);
    if (ec != std::errc() || ptr != data.data() + comma) return false;
    c->times.push_back(t);
    at = comma + 1;
  }
  return true;
}

}  // namespace

std::optional<CustomerBlob> ParseCustomerBlob(std::string_view s) {
  CustomerBlob b;
  if (!s.starts_with("2 ")) return std::nullopt;
  size_t pos = 2;
  if (!ReadInt(s, pos, '\n', &b.old_until_ms)) return std::nullopt;
  while (pos < s.size()) {
    const char tag = s[pos++];
    if (tag == 'k') {
      CustomerBlob::Counter c;
      if (!ReadCounter(s, pos, &c)) return std::nullopt;
      b.counters.push_back(std::move(c));
    } else if (tag == 'g') {
      CustomerBlob::Signal g;
      int64_t len = 0;
      if (!ReadInt(s, pos, ' ', &len) || !ReadInt(s, pos, ' ', &g.at_ms) || !ReadInt(s, pos, '\n', &g.expires_ms) ||
          !ReadBytes(s, pos, len, &g.field)) {
        return std::nullopt;
      }
      b.signals.push_back(std::move(g));
    } else if (tag == 'm') {
      CustomerBlob::Marker m;
      int64_t le = 0;
      int64_t lp = 0;
      if (!ReadInt(s, pos, ' ', &le) || !ReadInt(s, pos, ' ', &lp) || !ReadInt(s, pos, '\n', &m.expires_ms) ||
          !ReadBytes(s, pos, le, &m.event_id) || !ReadBytes(s, pos, lp, &m.payload)) {
        return std::nullopt;
      }
      b.markers.push_back(m);
      b.marker = std::move(m);
    } else {
      return std::nullopt;
    }
  }
  return b;
}

// "<reserved>|<hit>:<until>,...|<used>:<frees_at>,..." as stored in the seen marker by check.lua.
absl::StatusOr<StoreOutcome> ParseStoredOutcome(std::string_view text) {
  const absl::Status malformed = absl::InternalError("check.lua: malformed stored outcome");
  std::vector<absl::string_view> sections = absl::StrSplit(AsAbsl(text), '|');
  if (sections.size() != 3 || (sections[0] != "0" && sections[0] != "1")) {
    return malformed;
  }
  StoreOutcome out;
  out.reserved = sections[0] == "1";
  auto pairs = [&](absl::string_view section, auto add) -> bool {
    if (section.empty()) return true;
    for (absl::string_view part : absl::StrSplit(section, ',')) {
      std::pair<absl::string_view, absl::string_view> ab = absl::StrSplit(part, absl::MaxSplits(':', 1));
      int64_t a = 0;
      int64_t b = 0;
      if (!absl::SimpleAtoi(ab.first, &a) || !absl::SimpleAtoi(ab.second, &b)) return false;
      add(a, b);
    }
    return true;
  };
  if (!pairs(sections[1], [&](int64_t hit, int64_t until) {
        out.signals.push_back({.hit = hit == 1, .until = FromMillisOrFuture(until)});
      }) ||
      !pairs(sections[2], [&](int64_t used, int64_t frees) { out.usage.push_back({used, FromMillisOrPast(frees)}); })) {
    return malformed;
  }
  return out;
}

}  // namespace tact::store
