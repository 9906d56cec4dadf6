#include "daemon/pipeline/event_codec.h"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/core/utc_calendar.h"
#include "daemon/pipeline/json_diagnosis.h"
#include "google/protobuf/util/json_util.h"

namespace tact::pipeline {
namespace {

bool IsJsonType(std::string_view ct) { return ct.starts_with("application/json"); }
bool IsProtobufType(std::string_view ct) {
  return ct.starts_with("application/x-protobuf") || ct.starts_with("application/protobuf");
}

}  // namespace

absl::Status DecodeInput(std::string_view bytes, std::string_view content_type, std::string_view what,
                         google::protobuf::Message& out) {
  if (bytes.empty()) {
    return absl::InvalidArgumentError("empty message");
  }
  bool json = false;
  if (IsJsonType(content_type)) {
    json = true;
  } else if (IsProtobufType(content_type)) {
    json = false;
  } else if (!content_type.empty()) {
    return absl::InvalidArgumentError(  // the header's text is the sender's: not quoted
        "unsupported content-type (expected application/json or application/x-protobuf)");
  } else {
    const size_t first = bytes.find_first_not_of(" \t\r\n");
    json = first != std::string_view::npos && bytes[first] == '{';
  }
  if (json) {
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = false;
    const auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(bytes.data(), bytes.size()), &out, opts);
    if (!status.ok()) {  // its message quotes the text around the error: ours names the field and byte instead
      return absl::InvalidArgumentError(JsonErrorReason(bytes, *out.GetDescriptor(), what, false));
    }
  } else if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid protobuf ", AsAbsl(what), ": cannot parse ", out.GetTypeName()));
  }
  return absl::OkStatus();
}

namespace internal {
namespace {

void SkipSpace(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
}

// The value of enum E named `name` (as E_Parse finds it), from a table of E's names made once: E_Parse looks the
// name up in the descriptor pool, several hash lookups per event.
template <typename E>
bool ParseEnumName(const google::protobuf::EnumDescriptor* (*descriptor)(), std::string_view name, E* out) {
  static const std::vector<std::pair<std::string, E>> names = [&] {
    std::vector<std::pair<std::string, E>> v;
    const google::protobuf::EnumDescriptor* d = descriptor();
    for (int i = 0; i < d->value_count(); ++i) {
      v.emplace_back(d->value(i)->name(), static_cast<E>(d->value(i)->number()));
    }
    return v;
  }();
  for (const auto& [n, e] : names) {
    if (n == name) {
      *out = e;
      return true;
    }
  }
  return false;
}

// `message`'s enum field set (`set`) to the value named `name`; false for a name E does not have.
template <typename M, typename E>
bool PlainEnum(const google::protobuf::EnumDescriptor* (*descriptor)(), std::string_view name, M* message,
               void (M::*set)(E)) {
  E e;
  if (!ParseEnumName(descriptor, name, &e)) return false;
  (message->*set)(e);
  return true;
}

// A JSON string without escapes or non-ASCII bytes (anything else is left to the library).
bool PlainString(std::string_view s, size_t& i, std::string_view* out) {
  if (i >= s.size() || s[i] != '"') return false;
  const size_t start = ++i;
  for (; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      *out = s.substr(start, i - start);
      ++i;
      return true;
    }
    if (c == '\\' || c < 0x20 || c >= 0x80) return false;
  }
  return false;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The number the `n` digits of `v` from `at` spell (the caller checked that they are digits).
int Number(std::string_view v, size_t at, size_t n) {
  int x = 0;
  for (size_t k = at; k < at + n; ++k) x = x * 10 + (v[k] - '0');
  return x;
}

// An RFC 3339 time as producers write it, "YYYY-MM-DDThh:mm:ss[.f]Z" with 1 to 9 fraction digits, naming a real
// time of the years 1..9999. Anything else (an offset, lowercase letters, a leap second, a day its month has not)
// is left to the library, which reads or refuses it.
bool PlainTime(std::string_view v, google::protobuf::Timestamp* out) {
  static constexpr std::string_view kShape = "0000-00-00T00:00:00";  // '0': a digit; anything else: itself
  if (v.size() < kShape.size() + 1 || v.back() != 'Z') return false;
  for (size_t k = 0; k < kShape.size(); ++k) {
    if (kShape[k] == '0' ? !IsDigit(v[k]) : v[k] != kShape[k]) return false;
  }
  const CivilUtc c{.year = Number(v, 0, 4), .month = Number(v, 5, 2), .day = Number(v, 8, 2),
                   .hour = Number(v, 11, 2), .minute = Number(v, 14, 2), .second = Number(v, 17, 2)};
  int64_t seconds = 0;
  if (c.year < 1 || !FromCivilUtc(c, &seconds)) return false;
  const std::string_view fraction = v.substr(kShape.size(), v.size() - kShape.size() - 1);  // "" or ".f"
  int nanos = 0;
  if (!fraction.empty()) {
    const std::string_view digits = fraction.substr(1);
    const bool plain = fraction[0] == '.' && !digits.empty() && digits.size() <= 9 &&
                       std::all_of(digits.begin(), digits.end(), IsDigit);
    if (!plain) return false;
    nanos = Number(digits, 0, digits.size());
    for (size_t k = digits.size(); k < 9; ++k) nanos *= 10;
  }
  out->set_seconds(seconds);
  out->set_nanos(nanos);
  return true;
}

// A JSON integer in int32's range: an optional '-', then digits without a leading zero; a fraction or an exponent
// is left to the library.
bool PlainInt32(std::string_view s, size_t& i, int32_t* out) {
  const size_t start = i < s.size() && s[i] == '-' ? i + 1 : i;
  size_t end = start;
  while (end < s.size() && IsDigit(s[end])) ++end;
  const std::string_view digits = s.substr(start, end - start);
  const bool fraction_or_exponent = end < s.size() && (s[end] == '.' || s[end] == 'e' || s[end] == 'E');
  if (digits.empty() || digits.size() > 10 || (digits.size() > 1 && digits[0] == '0') || fraction_or_exponent) {
    return false;
  }
  int64_t v = 0;
  for (const char c : digits) v = v * 10 + (c - '0');
  if (start > i) v = -v;
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) return false;
  *out = static_cast<int32_t>(v);
  i = end;
  return true;
}

// `message`'s int32 field set (`set`) to the plain integer at `i` (PlainInt32).
template <typename M>
bool PlainInt32Field(std::string_view s, size_t& i, M* message, void (M::*set)(int32_t)) {
  int32_t v = 0;
  if (!PlainInt32(s, i, &v)) return false;
  (message->*set)(v);
  return true;
}

// A JSON object from `i` (its '{') whose keys are plain strings: `member(key)` is called with `i` at the member's
// value, reads it and returns false to give up. True when the object ended ('}' read).
template <typename Member>
bool PlainObject(std::string_view s, size_t& i, Member member) {
  if (i >= s.size() || s[i] != '{') return false;
  ++i;
  SkipSpace(s, i);
  if (i < s.size() && s[i] == '}') {
    ++i;
    return true;
  }
  for (;;) {
    std::string_view key;
    if (!PlainString(s, i, &key)) return false;
    SkipSpace(s, i);
    if (i >= s.size() || s[i++] != ':') return false;
    SkipSpace(s, i);
    if (!member(key)) return false;
    SkipSpace(s, i);
    if (i < s.size() && s[i] == ',') {
      ++i;
      SkipSpace(s, i);
      continue;
    }
    if (i < s.size() && s[i] == '}') {
      ++i;
      return true;
    }
    return false;
  }
}

// An object of plain strings, each key once (a repeated key is left to the library).
bool PlainStringMap(std::string_view s, size_t& i, google::protobuf::Map<std::string, std::string>* out) {
  return PlainObject(s, i, [&](std::string_view key) {
    std::string_view value;
    if (!PlainString(s, i, &value)) return false;
    std::string k(key);
    if (out->find(k) != out->end()) return false;
    (*out)[std::move(k)] = std::string(value);
    return true;
  });
}

// The whole of `s` as a JSON object of known fields, each once: `names` gives each accepted name (both spellings)
// its field number (below 32); `read(field, i)` reads that field's value at `i` into the message and returns false
// to leave the object to the library, as an unknown or repeated name does.
template <size_t N, typename Read>
bool PlainFields(std::string_view s, const std::pair<std::string_view, int> (&names)[N], Read read) {
  uint32_t seen = 0;
  size_t i = 0;
  auto member = [&](std::string_view key) {
    const auto* name = std::find_if(std::begin(names), std::end(names), [&](const auto& n) { return n.first == key; });
    if (name == std::end(names) || (seen & (1u << name->second)) != 0) return false;
    seen |= 1u << name->second;
    return read(name->second, i);
  };
  SkipSpace(s, i);
  if (!PlainObject(s, i, member)) return false;
  SkipSpace(s, i);
  return i == s.size();
}

}  // namespace

bool DecodeOutboundEventFast(std::string_view s, v1::OutboundEvent* ev) {
  enum Field {
    kEventId, kTenant, kCustomerId, kChannel, kMessageClass, kCampaignId, kTemplateId, kTimezone, kCreatedAt,
    kPriority, kAttributes
  };
  static constexpr std::pair<std::string_view, int> kNames[] = {
      {"eventId", kEventId},         {"event_id", kEventId},       {"tenant", kTenant},
      {"customerId", kCustomerId},   {"customer_id", kCustomerId}, {"channel", kChannel},
      {"messageClass", kMessageClass}, {"message_class", kMessageClass}, {"campaignId", kCampaignId},
      {"campaign_id", kCampaignId},  {"templateId", kTemplateId},  {"template_id", kTemplateId},
      {"customerTimezone", kTimezone}, {"customer_timezone", kTimezone}, {"createdAt", kCreatedAt},
      {"created_at", kCreatedAt},    {"priority", kPriority},      {"attributes", kAttributes}};
  return PlainFields(s, kNames, [&](int field, size_t& i) {
    if (field == kPriority) return PlainInt32Field(s, i, ev, &v1::OutboundEvent::set_priority);
    if (field == kAttributes) return PlainStringMap(s, i, ev->mutable_attributes());
    std::string_view value;
    if (!PlainString(s, i, &value)) return false;  // null, escapes, a value of another kind: the library
    switch (field) {
      case kCreatedAt: return PlainTime(value, ev->mutable_created_at());
      case kChannel: return PlainEnum(&v1::Channel_descriptor, value, ev, &v1::OutboundEvent::set_channel);
      case kMessageClass:
        return PlainEnum(&v1::MessageClass_descriptor, value, ev, &v1::OutboundEvent::set_message_class);
      case kEventId: ev->set_event_id(std::string(value)); break;
      case kTenant: ev->set_tenant(std::string(value)); break;
      case kCustomerId: ev->set_customer_id(std::string(value)); break;
      case kCampaignId: ev->set_campaign_id(std::string(value)); break;
      case kTemplateId: ev->set_template_id(std::string(value)); break;
      case kTimezone: ev->set_customer_timezone(std::string(value)); break;
    }
    return true;
  });
}

bool DecodeSignalFast(std::string_view s, v1::Signal* signal) {
  enum Field { kTenant, kCustomerId, kKind, kCsat, kRef, kChannel, kAt, kExpiresAt, kCampaignId, kSignalId };
  static constexpr std::pair<std::string_view, int> kNames[] = {
      {"tenant", kTenant},         {"customerId", kCustomerId},  {"customer_id", kCustomerId},
      {"kind", kKind},             {"csat", kCsat},              {"ref", kRef},
      {"channel", kChannel},       {"at", kAt},                  {"expiresAt", kExpiresAt},
      {"expires_at", kExpiresAt},  {"campaignId", kCampaignId},  {"campaign_id", kCampaignId},
      {"signalId", kSignalId},     {"signal_id", kSignalId}};
  return PlainFields(s, kNames, [&](int field, size_t& i) {
    if (field == kCsat) return PlainInt32Field(s, i, signal, &v1::Signal::set_csat);
    std::string_view value;
    if (!PlainString(s, i, &value)) return false;
    switch (field) {
      case kAt: return PlainTime(value, signal->mutable_at());
      case kExpiresAt: return PlainTime(value, signal->mutable_expires_at());
      case kKind: return PlainEnum(&v1::SignalKind_descriptor, value, signal, &v1::Signal::set_kind);
      case kChannel: return PlainEnum(&v1::Channel_descriptor, value, signal, &v1::Signal::set_channel);
      case kTenant: signal->set_tenant(std::string(value)); break;
      case kCustomerId: signal->set_customer_id(std::string(value)); break;
      case kRef: signal->set_ref(std::string(value)); break;
      case kCampaignId: signal->set_campaign_id(std::string(value)); break;
      case kSignalId: signal->set_signal_id(std::string(value)); break;
    }
    return true;
  });
}

}  // namespace internal

namespace {

// JSON read by `fast` when it can; anything else (and every error) is the library's (DecodeInput), so both paths
// give the same message for the same text.
template <typename M>
absl::StatusOr<M> DecodeWithFastPath(bool (*fast)(std::string_view, M*), std::string_view bytes,
                                     std::string_view content_type, std::string_view what) {
  M message;
  if ((content_type.empty() || IsJsonType(content_type)) && fast(bytes, &message)) return message;
  message.Clear();
  if (absl::Status s = DecodeInput(bytes, content_type, what, message); !s.ok()) return s;
  return message;
}

}  // namespace

// Most JSON events and signals are plain fields (strings, enum names, times, integers, string attributes).
absl::StatusOr<v1::OutboundEvent> DecodeOutboundEvent(std::string_view bytes, std::string_view content_type) {
  return DecodeWithFastPath(&internal::DecodeOutboundEventFast, bytes, content_type, "event");
}

absl::StatusOr<v1::Signal> DecodeSignal(std::string_view bytes, std::string_view content_type) {
  return DecodeWithFastPath(&internal::DecodeSignalFast, bytes, content_type, "signal");
}

}  // namespace tact::pipeline
