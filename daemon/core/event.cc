#include "daemon/core/event.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"

namespace tact {
namespace {

absl::Status FieldError(std::string_view prefix, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(prefix), AsAbsl(field), ": ", AsAbsl(what)));
}

absl::Status CheckId(std::string_view prefix, std::string_view field, const std::string& value) {
  if (value.empty()) {
    return FieldError(prefix, field, "required");
  }
  if (value.size() > kMaxIdLength) {
    return FieldError(prefix, field, absl::StrCat("longer than ", kMaxIdLength, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsValidTenantId(std::string_view tenant) {
  if (tenant.empty() || tenant.size() > kMaxIdLength) return false;
  for (char c : tenant) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status CheckTenantId(std::string_view field, std::string_view tenant) {
  if (tenant.empty()) return FieldError("", field, "required");
  if (tenant.size() > kMaxIdLength) return FieldError("", field, absl::StrCat("longer than ", kMaxIdLength, " bytes"));
  if (!IsValidTenantId(tenant)) return FieldError("", field, "may contain only letters, digits, '.', '_' and '-'");
  return absl::OkStatus();
}

absl::StatusOr<Event> EventFromProto(const v1::OutboundEvent& proto, std::string_view prefix) {
  if (auto s = CheckId(prefix, "event_id", proto.event_id()); !s.ok()) return s;
  if (auto s = CheckTenantId(absl::StrCat(AsAbsl(prefix), "tenant"), proto.tenant()); !s.ok()) return s;
  if (auto s = CheckId(prefix, "customer_id", proto.customer_id()); !s.ok()) return s;
  if (proto.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(proto.channel())) {
    return FieldError(prefix, "channel", "required: one of EMAIL, SMS, PUSH, IN_APP");
  }
  if (proto.message_class() == v1::MESSAGE_CLASS_UNSPECIFIED || !v1::MessageClass_IsValid(proto.message_class())) {
    return FieldError(prefix, "message_class",
                      "required: one of TRANSACTIONAL, SERVICE, PROACTIVE_SERVICE, PROMOTION");
  }
  if (proto.campaign_id().size() > kMaxIdLength) {
    return FieldError(prefix, "campaign_id", absl::StrCat("longer than ", kMaxIdLength, " bytes"));
  }
  if (proto.template_id().size() > kMaxIdLength) {
    return FieldError(prefix, "template_id", absl::StrCat("longer than ", kMaxIdLength, " bytes"));
  }
  if (proto.customer_timezone().size() > 64) {
    return FieldError(prefix, "customer_timezone", "longer than 64 bytes");
  }
  if (proto.attributes_size() > static_cast<int>(kMaxAttributes)) {
    return FieldError(prefix, "attributes", absl::StrCat("more than ", kMaxAttributes, " entries"));
  }
  Event ev;
  ev.event_id = proto.event_id();
  ev.tenant = proto.tenant();
  ev.customer_id = proto.customer_id();
  ev.channel = proto.channel();
  ev.message_class = proto.message_class();
  ev.campaign_id = proto.campaign_id();
  ev.template_id = proto.template_id();
  ev.customer_timezone = proto.customer_timezone();
  ev.priority = proto.priority();
  for (const auto& [k, v] : proto.attributes()) {
    if (k.size() + v.size() > kMaxAttributeBytes) {
      return FieldError(prefix, absl::StrCat("attributes[", k.substr(0, 64), "]"),
                        absl::StrCat("key + value longer than ", kMaxAttributeBytes, " bytes"));
    }
    ev.attributes.emplace(k, v);
  }
  if (proto.has_created_at()) {
    ev.created_at = TimeFromProto(proto.created_at());
  }
  return ev;
}

std::string_view ChannelName(Channel c) {
  switch (c) {
    case v1::EMAIL: return "EMAIL";
    case v1::SMS: return "SMS";
    case v1::PUSH: return "PUSH";
    case v1::IN_APP: return "IN_APP";
    default: return "CHANNEL_UNSPECIFIED";
  }
}

std::string_view ClassName(MessageClass c) {
  switch (c) {
    case v1::TRANSACTIONAL: return "TRANSACTIONAL";
    case v1::SERVICE: return "SERVICE";
    case v1::PROACTIVE_SERVICE: return "PROACTIVE_SERVICE";
    case v1::PROMOTION: return "PROMOTION";
    default: return "MESSAGE_CLASS_UNSPECIFIED";
  }
}

}  // namespace tact
