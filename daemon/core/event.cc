#include "daemon/core/event.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
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

// The zone names the installed tzdata has (every file below $TZDIR, default /usr/share/zoneinfo, by relative
// path), read once. cctz remembers every name it is asked for, known or not, for the life of the process, so
// asking it only for installed names keeps that memory bounded whatever names events carry. Empty when the
// directory cannot be read (then cctz is asked directly: without tzdata it knows only UTC).
const absl::flat_hash_set<std::string>& InstalledZoneNames() {
  static const absl::flat_hash_set<std::string>* const names = [] {
    namespace fs = std::filesystem;
    auto* out = new absl::flat_hash_set<std::string>();
    const char* env = std::getenv("TZDIR");
    const fs::path root = env != nullptr && *env != '\0' ? fs::path(env) : fs::path("/usr/share/zoneinfo");
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
    for (const fs::recursive_directory_iterator end; !ec && it != end && out->size() < 100'000; it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec) && !type_ec) {
        out->insert(it->path().lexically_relative(root).string());
      }
    }
    return out;
  }();
  return *names;
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
  if (proto.customer_timezone().size() > kMaxTimeZoneLength) {
    return FieldError(prefix, "customer_timezone", absl::StrCat("longer than ", kMaxTimeZoneLength, " bytes"));
  }
  if (!proto.customer_timezone().empty() && !IsKnownTimeZone(proto.customer_timezone())) {
    return FieldError(prefix, "customer_timezone", "unknown time zone");
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
      // The key is the sender's text: not quoted.
      return FieldError(prefix, "attributes",
                        absl::StrCat("an entry's key + value longer than ", kMaxAttributeBytes, " bytes"));
    }
    ev.attributes.emplace(k, v);
  }
  if (proto.has_created_at()) {
    ev.created_at = TimeFromProto(proto.created_at());
  }
  return ev;
}

absl::Status CheckCreatedAt(const Event& event, absl::Time now, std::string_view prefix,
                            absl::Duration max_future_skew) {
  if (event.created_at != absl::InfinitePast() && event.created_at > now + max_future_skew) {
    return FieldError(prefix, "created_at",
                      absl::StrCat("more than ", absl::FormatDuration(max_future_skew), " in the future"));
  }
  return absl::OkStatus();
}

bool IsKnownTimeZone(std::string_view name) {
  if (name.empty() || name.size() > kMaxTimeZoneLength) return false;
  // IANA names are letters, digits and "/_+-" ("America/Port-au-Prince", "Etc/GMT+5"); cctz would also open an
  // absolute path or a "file:" name, so anything else is refused before it reaches the file system.
  if (name.front() == '/' || name.find("..") != std::string_view::npos) return false;
  for (const char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
                    c == '_' || c == '+' || c == '-';
    if (!ok) return false;
  }
  // cctz resolves zones behind a global mutex (and remembers unknown names too): a per-thread answer keeps the
  // hot path lock-free. Bounded: cleared past 1024 names.
  const std::string key(name);
  if (const auto& installed = InstalledZoneNames(); !installed.empty() && !installed.contains(key) && key != "UTC") {
    return false;
  }
  thread_local absl::flat_hash_map<std::string, bool> known;
  if (auto it = known.find(key); it != known.end()) return it->second;
  absl::TimeZone tz;
  const bool loaded = absl::LoadTimeZone(key, &tz);
  if (known.size() > 1024) known.clear();
  known.emplace(key, loaded);
  return loaded;
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
