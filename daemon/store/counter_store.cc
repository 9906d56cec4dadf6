#include "daemon/store/counter_store.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace tact::store {
namespace {

enum class Decisive { kNone, kSignal, kLimit, kHold };

// The first decisive thing that holds (see ShouldReserve); `limit` receives a full limit's index.
Decisive FindDecisive(const CheckSpec& spec, const StoreOutcome& o, size_t* limit) {
  for (size_t i = 0; i < spec.signals.size() && i < o.signals.size(); ++i) {
    if (spec.signals[i].decisive && o.signals[i].hit) return Decisive::kSignal;
  }
  for (size_t i = 0; i < spec.limits.size() && i < o.usage.size(); ++i) {
    if (spec.limits[i].decisive && o.usage[i].used >= spec.limits[i].count) {
      *limit = i;
      return Decisive::kLimit;
    }
  }
  return spec.hold == Hold::kNone ? Decisive::kNone : Decisive::kHold;
}

bool ParseInt(std::string_view s, int64_t* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

}  // namespace

bool ShouldReserve(const CheckSpec& spec, const StoreOutcome& outcome) {
  size_t limit = 0;
  return FindDecisive(spec, outcome, &limit) == Decisive::kNone;
}

bool IsFinal(const CheckSpec& spec, const StoreOutcome& outcome) {
  size_t limit = 0;
  switch (FindDecisive(spec, outcome, &limit)) {
    case Decisive::kLimit: return spec.limits[limit].suppress_on_exceed;
    case Decisive::kHold: return spec.hold == Hold::kSuppress;
    case Decisive::kSignal:
    case Decisive::kNone: return true;
  }
  return true;
}

absl::Status CheckSignalWrite(const SignalWrite& w) {
  if (w.field.empty()) {
    return absl::InvalidArgumentError("signal write: field is required");
  }
  return absl::OkStatus();
}

absl::Status CheckArchiveName(std::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("archive name: empty (1 to 128 bytes of [0-9a-z_.-])");
  }
  if (name.size() > kMaxArchiveNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("archive name: ", name.size(), " bytes, more than ", kMaxArchiveNameLength));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(name[i]);
    const bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || ch == '_' || ch == '.' || ch == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("archive name: byte ", i + 1, " (0x",
                                                     absl::Hex(ch, absl::kZeroPad2), ") is not one of [0-9a-z_.-]"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckArchiveTtl(absl::Duration ttl) {
  if (ttl < absl::Milliseconds(1) || ttl > kMaxArchiveTtl || ttl % absl::Milliseconds(1) != absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("archive ttl: ", absl::FormatDuration(ttl),
                                                   " is not a whole number of milliseconds from 1ms to ",
                                                   absl::FormatDuration(kMaxArchiveTtl)));
  }
  return absl::OkStatus();
}

bool ParseSignalValue(std::string_view value, int64_t* at_ms, int64_t* expires_ms) {
  const size_t colon = value.find(':');
  if (colon == std::string_view::npos) return false;
  return ParseInt(value.substr(0, colon), at_ms) && ParseInt(value.substr(colon + 1), expires_ms);
}

}  // namespace tact::store
