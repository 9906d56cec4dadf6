#include "daemon/store/customer_blob.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "daemon/core/strings.h"

namespace tact::store {
bool BlobInt(std::string_view s, int64_t* out) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

namespace {

// The header "2 <old_until>\n": its number's text into `old_text`, the position after it. npos when malformed.
size_t ReadHeader(std::string_view v, std::string_view* old_text, int64_t* old) {
  if (!v.starts_with("2 ")) return std::string_view::npos;
  const size_t e = v.find('\n', 2);
  if (e == std::string_view::npos) return e;
  *old_text = v.substr(2, e - 2);
  return BlobInt(*old_text, old) ? e + 1 : std::string_view::npos;
}

}  // namespace

std::optional<int64_t> OlderLayoutsUntil(std::string_view value) {
  std::string_view text;
  int64_t old = 0;
  if (ReadHeader(value, &text, &old) == std::string_view::npos) return std::nullopt;
  return old;
}

bool ReadCustomerKey(std::string_view v, CustomerKeyView* p) {
  size_t pos = ReadHeader(v, &p->old_text, &p->old);
  if (pos == std::string_view::npos) return false;
  while (pos < v.size()) {
    const char tag = v[pos];
    // <tag><a> <b> <c>\n<bytes>
    const size_t s1 = v.find(' ', pos + 1);
    const size_t s2 = s1 == std::string_view::npos ? s1 : v.find(' ', s1 + 1);
    const size_t nl = s2 == std::string_view::npos ? s2 : v.find('\n', s2 + 1);
    if (nl == std::string_view::npos) return false;
    int64_t a = 0;
    int64_t b = 0;
    const std::string_view c = v.substr(s2 + 1, nl - s2 - 1);
    if (!BlobInt(v.substr(pos + 1, s1 - pos - 1), &a) || a < 0) return false;
    int64_t bytes = a;
    if (tag == 'm') {
      int64_t lp = 0;
      if (!BlobInt(v.substr(s1 + 1, s2 - s1 - 1), &lp) || lp < 0) return false;
      bytes += lp;
    } else if (tag == 'k' || tag == 'g') {
      if (!BlobInt(v.substr(s1 + 1, s2 - s1 - 1), &b)) return false;
    } else {
      return false;
    }
    if (static_cast<uint64_t>(bytes) > v.size() - nl - 1) return false;
    const size_t last = nl + 1 + static_cast<size_t>(bytes);  // one past the entry
    const std::string_view raw = v.substr(pos, last - pos);
    const std::string_view tail = v.substr(nl + 1, static_cast<size_t>(a));
    if (tag == 'k') {
      p->counters.push_back({.suffix = tail, .empty_at = b, .data = c, .raw = raw});
    } else if (tag == 'g') {
      int64_t expires = 0;
      if (!BlobInt(c, &expires)) return false;
      p->signals.push_back({.field = tail, .at = b, .expires = expires, .raw = raw});
    } else {
      int64_t expires = 0;
      if (!BlobInt(c, &expires)) return false;
      p->markers.push_back(
          {.event_id = tail, .expires = expires, .payload = v.substr(nl + 1 + tail.size(), last - nl - 1 - tail.size()),
           .raw = raw});
    }
    pos = last;
  }
  return true;
}


std::optional<CustomerBlob> ParseCustomerBlob(std::string_view s) {
  CustomerKeyView k;
  if (!ReadCustomerKey(s, &k)) return std::nullopt;
  CustomerBlob b;
  b.old_until_ms = k.old;
  for (const CustomerKeyView::Counter& c : k.counters) {
    CustomerBlob::Counter& out = b.counters.emplace_back();
    out.suffix = std::string(c.suffix);
    out.empty_at_ms = c.empty_at;
    if (!out.rolling()) {
      if (!BlobInt(c.data, &out.count)) return std::nullopt;
      continue;
    }
    for (size_t at = 0; at < c.data.size();) {
      const size_t comma = std::min(c.data.find(',', at), c.data.size());
      if (!BlobInt(c.data.substr(at, comma - at), &out.times.emplace_back())) return std::nullopt;
      at = comma + 1;
    }
  }
  for (const CustomerKeyView::Signal& g : k.signals) {
    b.signals.push_back({.field = std::string(g.field), .at_ms = g.at, .expires_ms = g.expires});
  }
  for (const CustomerKeyView::Marker& m : k.markers) {
    b.markers.push_back(
        {.event_id = std::string(m.event_id), .payload = std::string(m.payload), .expires_ms = m.expires});
  }
  if (!b.markers.empty()) b.marker = b.markers.back();
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
