#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tact/v1/event.pb.h"

namespace tact {

using Channel = v1::Channel;
using MessageClass = v1::MessageClass;

// The core view of one outbound message: validated, no payload (the adapters keep the bytes).
struct Event {
  std::string event_id;
  std::string tenant;
  std::string customer_id;
  Channel channel = v1::CHANNEL_UNSPECIFIED;
  MessageClass message_class = v1::MESSAGE_CLASS_UNSPECIFIED;
  std::string campaign_id;
  std::string template_id;
  absl::Time created_at = absl::InfinitePast();
  std::string customer_timezone;
  int priority = 0;
  std::map<std::string, std::string> attributes;
};

inline constexpr size_t kMaxIdLength = 256;
inline constexpr size_t kMaxAttributes = 64;
inline constexpr size_t kMaxAttributeBytes = 1024;
inline constexpr size_t kMaxTimeZoneLength = 64;
// created_at further ahead of tactd's clock than this is invalid, on the Kafka path and over gRPC alike.
inline constexpr absl::Duration kMaxFutureSkew = absl::Hours(24);

// Tenant ids, on every path that takes one (events, signals, gRPC requests, the clients file): 1..kMaxIdLength
// bytes of ASCII letters, digits, '.', '_' and '-'. With no ':' in a tenant, the Kafka key "<tenant>:<customer_id>"
// names one customer (split at the first ':'); with no '{' or '}', tact:cap:{<tenant>}: keeps its hash tag.
bool IsValidTenantId(std::string_view tenant);
// OK, or INVALID_ARGUMENT naming `field`: "<field>: required", "<field>: longer than 256 bytes",
// "<field>: may contain only letters, digits, '.', '_' and '-'" (the value is not echoed).
absl::Status CheckTenantId(std::string_view field, std::string_view tenant);

// Validates a decoded OutboundEvent into an Event. Errors are INVALID_ARGUMENT naming the field,
// e.g. "customer_id: required". `field_prefix` is prepended to field names ("event." on the gRPC path).
// An event's customer_timezone must be empty or a zone tzdata knows ("customer_timezone: unknown time zone"):
// an unknown zone is never replaced by another one. No message quotes the event's text.
absl::StatusOr<Event> EventFromProto(const v1::OutboundEvent& proto, std::string_view field_prefix = "");

// The one created_at rule of both paths (Kafka: tact.dlq, gRPC: INVALID_ARGUMENT): a created_at more than
// `max_future_skew` ahead of `now` is invalid ("created_at: more than 24h in the future"). Unset is valid.
absl::Status CheckCreatedAt(const Event& event, absl::Time now, std::string_view field_prefix = "",
                            absl::Duration max_future_skew = kMaxFutureSkew);

// True when `name` is an IANA zone name tzdata has (absl::LoadTimeZone), and not a path or other text that
// cctz would also try to open. Cached per thread (LoadTimeZone reads files). Thread-safety: any thread.
bool IsKnownTimeZone(std::string_view name);

std::string_view ChannelName(Channel c);
std::string_view ClassName(MessageClass c);

}  // namespace tact
