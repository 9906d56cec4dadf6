#include "daemon/decision/signal_intake.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/event.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"
#include "daemon/decision/store_spec.h"
#include "daemon/ops/log.h"

namespace tact::decision {
namespace {

absl::Status FieldError(std::string_view prefix, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(prefix), AsAbsl(field), ": ", AsAbsl(what)));
}

absl::Status CheckId(std::string_view prefix, std::string_view field, const std::string& value, bool required) {
  if (required && value.empty()) return FieldError(prefix, field, "required");
  if (value.size() > kMaxIdLength) {
    return FieldError(prefix, field, absl::StrCat("longer than ", kMaxIdLength, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<policy::Signal> SignalFromProto(const v1::Signal& proto, absl::Time now,
                                               std::string_view prefix, bool* writes_customer) {
  if (auto s = CheckTenantId(absl::StrCat(AsAbsl(prefix), "tenant"), proto.tenant()); !s.ok()) return s;
  if (auto s = CheckId(prefix, "customer_id", proto.customer_id(), true); !s.ok()) return s;
  if (auto s = CheckId(prefix, "campaign_id", proto.campaign_id(), false); !s.ok()) return s;
  if (auto s = CheckId(prefix, "signal_id", proto.signal_id(), false); !s.ok()) return s;
  if (!proto.has_at()) return FieldError(prefix, "at", "required (when it happened)");
  policy::Signal out;
  out.tenant = proto.tenant();
  out.customer_id = proto.customer_id();
  out.csat = proto.csat();
  out.ref = proto.ref();
  out.at = TimeFromProto(proto.at());
  if (out.at > now + kMaxSignalSkew) {
    return FieldError(prefix, "at", "more than 5 minutes in the future");
  }
  if (proto.has_expires_at()) out.expires_at = TimeFromProto(proto.expires_at());
  if (!v1::Channel_IsValid(proto.channel())) {
    return FieldError(prefix, "channel", "unknown value: one of EMAIL, SMS, PUSH, IN_APP (or unset)");
  }
  out.channel = proto.channel();
  *writes_customer = true;
  switch (proto.kind()) {
    case v1::CSAT: out.kind = policy::SignalKind::kCsat; break;
    case v1::COMPLAINT_OPENED: out.kind = policy::SignalKind::kComplaintOpened; break;
    case v1::COMPLAINT_CLOSED: out.kind = policy::SignalKind::kComplaintClosed; break;
    case v1::ESCALATION: out.kind = policy::SignalKind::kEscalation; break;
    case v1::CALLBACK_REQUESTED: out.kind = policy::SignalKind::kCallbackRequested; break;
    case v1::CALLBACK_DONE: out.kind = policy::SignalKind::kCallbackDone; break;
    case v1::OPT_OUT: out.kind = policy::SignalKind::kOptOut; break;
    case v1::OPT_IN: out.kind = policy::SignalKind::kOptIn; break;
    case v1::CONTACT: *writes_customer = false; return out;
    default:
      return FieldError(prefix, "kind",
                        "required: one of CSAT, COMPLAINT_OPENED, COMPLAINT_CLOSED, ESCALATION, "
                        "CALLBACK_REQUESTED, CALLBACK_DONE, OPT_OUT, OPT_IN, CONTACT");
  }
  // The remaining checks (csat range, ref, expiry order) are the store's write rules; run them here so a bad
  // signal is refused before anything is written, with the field named after the caller's prefix.
  if (auto w = policy::ToSignalWrite(out); !w.ok()) {
    std::string msg(w.status().message());
    if (absl::StartsWith(msg, "signal.")) msg = absl::StrCat(AsAbsl(prefix), msg.substr(7));
    return absl::InvalidArgumentError(msg);
  }
  return out;
}

absl::Status SignalIntake::Put(const v1::Signal& signal, absl::Time now, absl::Time deadline,
                               std::string_view field_prefix) {
  bool writes_customer = false;
  absl::StatusOr<policy::Signal> parsed = SignalFromProto(signal, now, field_prefix, &writes_customer);
  if (!parsed.ok()) return parsed.status();
  if (writes_customer) {
    absl::StatusOr<store::SignalWrite> w = ToStoreSignal(*parsed);
    if (!w.ok()) return w.status();
    if (absl::Status s = store_.PutSignal(*w, now, deadline); !s.ok()) return s;
  }
  if (feedback_ != nullptr && !signal.campaign_id().empty()) {
    if (absl::Status s = feedback_->OnCampaignSignal(signal, now); !s.ok()) {
      ops::Log(ops::LogLevel::kWarning, "signal.campaign_feedback_failed",
               {{"campaign_id", signal.campaign_id()}, {"error", std::string(s.message())}});
    }
  }
  return absl::OkStatus();
}

}  // namespace tact::decision
