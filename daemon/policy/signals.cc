#include "daemon/policy/signals.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact::policy {
namespace {

constexpr std::pair<std::string_view, SignalKind> kKinds[] = {
    {"csat", SignalKind::kCsat},
    {"complaint_opened", SignalKind::kComplaintOpened},
    {"complaint_closed", SignalKind::kComplaintClosed},
    {"escalation", SignalKind::kEscalation},
    {"callback_requested", SignalKind::kCallbackRequested},
    {"callback_done", SignalKind::kCallbackDone},
    {"opt_out", SignalKind::kOptOut},
    {"opt_in", SignalKind::kOptIn},
};

}  // namespace

std::string_view SignalKindName(SignalKind k) {
  for (const auto& [name, kind] : kKinds) {
    if (kind == k) return name;
  }
  return "unknown";
}

bool ParseSignalKind(std::string_view name, SignalKind* out) {
  for (const auto& [n, kind] : kKinds) {
    if (n == name) {
      *out = kind;
      return true;
    }
  }
  return false;
}

absl::StatusOr<SignalWrite> ToSignalWrite(const Signal& s) {
  if (s.at == absl::InfinitePast() || s.at == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("signal.at: required");
  }
  SignalWrite w;
  w.at_ms = absl::ToUnixMillis(s.at);
  w.expires_ms = s.expires_at == absl::InfiniteFuture() ? 0 : absl::ToUnixMillis(s.expires_at);
  if (w.expires_ms == 0 && (s.kind == SignalKind::kCsat || s.kind == SignalKind::kEscalation)) {
    w.expires_ms = absl::ToUnixMillis(s.at + kDefaultTimedSignalLife);  // a time-based fact can't count forever
  }
  if (w.expires_ms != 0 && w.expires_ms <= w.at_ms) {
    return absl::InvalidArgumentError("signal.expires_at: must be after signal.at");
  }
  const bool needs_ref = s.kind == SignalKind::kComplaintOpened || s.kind == SignalKind::kComplaintClosed ||
                         s.kind == SignalKind::kCallbackRequested || s.kind == SignalKind::kCallbackDone;
  if (needs_ref && (s.ref.empty() || s.ref.size() > kMaxIdLength)) {
    return absl::InvalidArgumentError("signal.ref: required (the ticket or callback id), at most 256 characters");
  }
  const std::string channel =
      s.channel == v1::CHANNEL_UNSPECIFIED ? "" : absl::StrCat(":", AsAbsl(ChannelName(s.channel)));
  switch (s.kind) {
    case SignalKind::kCsat:
      if (s.csat < 1 || s.csat > 5) {
        return absl::InvalidArgumentError("signal.csat: must be 1..5");  // the value is the sender's: not quoted
      }
      w.field = absl::StrCat("csat:", s.csat);
      break;
    case SignalKind::kComplaintOpened: w.field = absl::StrCat("complaint:", s.ref); break;
    case SignalKind::kComplaintClosed: w.field = absl::StrCat("complaint:", s.ref); w.remove = true; break;
    case SignalKind::kEscalation: w.field = "escalation"; break;
    case SignalKind::kCallbackRequested: w.field = absl::StrCat("callback:", s.ref); break;
    case SignalKind::kCallbackDone: w.field = absl::StrCat("callback:", s.ref); w.remove = true; break;
    case SignalKind::kOptOut: w.field = "opt_out" + channel; break;
    case SignalKind::kOptIn: w.field = "opt_out" + channel; w.remove = true; break;
  }
  return w;
}

}  // namespace tact::policy
