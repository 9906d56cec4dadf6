#include "daemon/pipeline/event_codec.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "daemon/core/json_string.h"
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

// `n` decimal digits of `v` from `at` as a number; false when one is not a digit.
bool DigitsAt(std::string_view v, size_t at, size_t n, int* out) {
  int x = 0;
  for (size_t k = at; k < at + n; ++k) {
    if (v[k] < '0' || v[k] > '9') return false;
    x = x * 10 + (v[k] - '0');
  }
  *out = x;
  return true;
}

// An RFC 3339 time as producers write it, "YYYY-MM-DDThh:mm:ss[.f]Z" with 1 to 9 fraction digits, naming a real
// time of the years 1..9999. Anything else (an offset, lowercase letters, a leap second, a day its month has not)
// is left to the library, which reads or refuses it.
bool PlainTime(std::string_view v, google::protobuf::Timestamp* out) {
  if (v.size() < 20 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' ||
      v.back() != 'Z') {
    return false;
  }
  CivilUtc c;
  if (!DigitsAt(v, 0, 4, &c.year) || !DigitsAt(v, 5, 2, &c.month) || !DigitsAt(v, 8, 2, &c.day) ||
      !DigitsAt(v, 11, 2, &c.hour) || !DigitsAt(v, 14, 2, &c.minute) || !DigitsAt(v, 17, 2, &c.second) ||
      c.year < 1) {
    return false;
  }
  int64_t seconds = 0;
  if (!FromCivilUtc(c, &seconds)) return false;
  int nanos = 0;
  if (v.size() > 20) {
    const size_t digits = v.size() - 21;  // between the '.' at 19 and the 'Z'
    if (v[19] != '.' || digits < 1 || digits > 9 || !DigitsAt(v, 20, digits, &nanos)) return false;
    for (size_t k = digits; k < 9; ++k) nanos *= 10;
  }
  out->set_seconds(seconds);
  out->set_nanos(nanos);
  return true;
}

// A JSON integer in int32's range: an optional '-', then digits without a leading zero; a fraction or an exponent
// is left to the library.
bool PlainInt32(std::string_view s, size_t& i, int32_t* out) {
  size_t j = i;
  const bool negative = j < s.size() && s[j] == '-';
  if (negative) ++j;
  const size_t start = j;
  int64_t v = 0;
  while (j < s.size() && s[j] >= '0' && s[j] <= '9' && j - start < 11) v = v * 10 + (s[j++] - '0');
  const size_t n = j - start;
  if (n == 0 || n > 10 || (n > 1 && s[start] == '0')) return false;
  if (j < s.size() && (s[j] == '.' || s[j] == 'e' || s[j] == 'E' || (s[j] >= '0' && s[j] <= '9'))) return false;
  if (negative) v = -v;
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) return false;
  *out = static_cast<int32_t>(v);
  i = j;
  return true;
}

// An object of plain strings, each key once (a repeated key is left to the library).
bool PlainStringMap(std::string_view s, size_t& i, google::protobuf::Map<std::string, std::string>* out) {
  if (i >= s.size() || s[i] != '{') return false;
  ++i;
  SkipSpace(s, i);
  if (i < s.size() && s[i] == '}') {
    ++i;
    return true;
  }
  for (;;) {
    std::string_view key;
    std::string_view value;
    if (!PlainString(s, i, &key)) return false;
    SkipSpace(s, i);
    if (i >= s.size() || s[i++] != ':') return false;
    SkipSpace(s, i);
    if (!PlainString(s, i, &value)) return false;
    std::string k(key);
    if (out->find(k) != out->end()) return false;
    (*out)[std::move(k)] = std::string(value);
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

}  // namespace

bool DecodeOutboundEventFast(std::string_view s, v1::OutboundEvent* ev) {
  enum Field {
    kEventId, kTenant, kCustomerId, kChannel, kMessageClass, kCampaignId, kTemplateId, kTimezone, kCreatedAt,
    kPriority, kAttributes
  };
  static constexpr std::pair<std::string_view, Field> kNames[] = {
      {"eventId", kEventId},         {"event_id", kEventId},       {"tenant", kTenant},
      {"customerId", kCustomerId},   {"customer_id", kCustomerId}, {"channel", kChannel},
      {"messageClass", kMessageClass}, {"message_class", kMessageClass}, {"campaignId", kCampaignId},
      {"campaign_id", kCampaignId},  {"templateId", kTemplateId},  {"template_id", kTemplateId},
      {"customerTimezone", kTimezone}, {"customer_timezone", kTimezone}, {"createdAt", kCreatedAt},
      {"created_at", kCreatedAt},    {"priority", kPriority},      {"attributes", kAttributes}};
  unsigned seen = 0;
  size_t i = 0;
  SkipSpace(s, i);
  if (i >= s.size() || s[i++] != '{') return false;
  SkipSpace(s, i);
  if (i < s.size() && s[i] == '}') {
    ++i;
  } else {
    for (;;) {
      std::string_view key;
      std::string_view value;
      if (!PlainString(s, i, &key)) return false;
      SkipSpace(s, i);
      if (i >= s.size() || s[i++] != ':') return false;
      SkipSpace(s, i);
      const auto* name = std::find_if(std::begin(kNames), std::end(kNames), [&](const auto& n) { return n.first == key; });
      if (name == std::end(kNames) || (seen & (1u << name->second)) != 0) return false;
      seen |= 1u << name->second;
      if (name->second == kPriority) {
        int32_t priority = 0;
        if (!PlainInt32(s, i, &priority)) return false;
        ev->set_priority(priority);
      } else if (name->second == kAttributes) {
        if (!PlainStringMap(s, i, ev->mutable_attributes())) return false;
      } else if (!PlainString(s, i, &value)) {
        return false;  // null, escapes, a value of another kind: the library
      }
      switch (name->second) {
        case kPriority:
        case kAttributes: break;
        case kCreatedAt:
          if (!PlainTime(value, ev->mutable_created_at())) return false;
          break;
        case kEventId: ev->set_event_id(std::string(value)); break;
        case kTenant: ev->set_tenant(std::string(value)); break;
        case kCustomerId: ev->set_customer_id(std::string(value)); break;
        case kCampaignId: ev->set_campaign_id(std::string(value)); break;
        case kTemplateId: ev->set_template_id(std::string(value)); break;
        case kTimezone: ev->set_customer_timezone(std::string(value)); break;
        case kChannel: {
          v1::Channel c;
          if (!ParseEnumName(&v1::Channel_descriptor, value, &c)) return false;
          ev->set_channel(c);
          break;
        }
        case kMessageClass: {
          v1::MessageClass c;
          if (!ParseEnumName(&v1::MessageClass_descriptor, value, &c)) return false;
          ev->set_message_class(c);
          break;
        }
      }
      SkipSpace(s, i);
      if (i < s.size() && s[i] == ',') {
        ++i;
        SkipSpace(s, i);
        continue;
      }
      if (i < s.size() && s[i] == '}') {
        ++i;
        break;
      }
      return false;
    }
  }
  SkipSpace(s, i);
  return i == s.size();
}

}  // namespace internal

absl::StatusOr<v1::OutboundEvent> DecodeOutboundEvent(std::string_view bytes, std::string_view content_type) {
  v1::OutboundEvent ev;
  // Most JSON events are flat string fields: read those directly; anything else (and every error) is the
  // library's, so both paths give the same message for the same text.
  if ((content_type.empty() || IsJsonType(content_type)) && internal::DecodeOutboundEventFast(bytes, &ev)) {
    return ev;
  }
  ev.Clear();
  if (absl::Status s = DecodeInput(bytes, content_type, "event", ev); !s.ok()) {
    return s;
  }
  return ev;
}

absl::StatusOr<v1::Signal> DecodeSignal(std::string_view bytes, std::string_view content_type) {
  v1::Signal signal;
  if (absl::Status s = DecodeInput(bytes, content_type, "signal", signal); !s.ok()) {
    return s;
  }
  return signal;
}

namespace {

// The proto3 JSON mapping of DecisionRecord (preserve_proto_field_names), written directly: one record per
// message on the hot path, where the reflection-based printer cost more than deciding. Same output as
// MessageToJsonString up to key order and escaping choices (tests/unit/pipeline/event_codec_test.cc compares
// them over every field): field-number order, defaults omitted, enums by name, int64 as strings, RFC 3339 times.
class RecordWriter {
 public:
  explicit RecordWriter(std::string& out) : out_(out) {}

  bool ok() const { return ok_; }
  void Open() {
    out_.push_back('{');
    first_ = true;
  }
  void Close() {
    out_.push_back('}');
    first_ = false;
  }
  void Str(std::string_view key, std::string_view v) {
    if (v.empty()) return;
    Key(key);
    Quoted(v);
  }
  void Bool(std::string_view key, bool v) {
    if (!v) return;
    Key(key);
    out_.append("true");
  }
  void Int64(std::string_view key, int64_t v) {
    if (v == 0) return;
    Key(key);
    absl::StrAppend(&out_, "\"", v, "\"");
  }
  // An enum by its name, or its number when this build does not know it. The names come from a table made once
  // per enum (E_Name looks the value up in the descriptor at every call).
  template <typename E>
  void Enum(std::string_view key, E v, const google::protobuf::EnumDescriptor* (*descriptor)()) {
    if (v == 0) return;
    Key(key);
    static const std::vector<std::string> names = [&] {
      const google::protobuf::EnumDescriptor* d = descriptor();
      std::vector<std::string> by_number;
      for (int i = 0; i < d->value_count(); ++i) {
        const int n = d->value(i)->number();
        if (n < 0 || n > 255) continue;  // not in the table: printed by number (none of tact's enums has one)
        if (static_cast<size_t>(n) >= by_number.size()) by_number.resize(n + 1);
        if (by_number[n].empty()) by_number[n] = d->value(i)->name();  // the first name of an alias, as E_Name
      }
      return by_number;
    }();
    const int n = static_cast<int>(v);
    if (n >= 0 && static_cast<size_t>(n) < names.size() && !names[n].empty()) {
      Quoted(names[n]);
    } else {
      absl::StrAppend(&out_, n);  // an unknown value prints as its number
    }
  }
  void Time(std::string_view key, const google::protobuf::Timestamp& t) {
    Key(key);
    if (t.seconds() < kMinTimestampSeconds || t.seconds() > kMaxTimestampSeconds || t.nanos() < 0 || t.nanos() > 999'999'999) {
      ok_ = false;  // out of the mapping's range: the library printer decides what to say
      return;
    }
    const CivilUtc cs = ToCivilUtc(t.seconds());
    // "YYYY-MM-DDThh:mm:ss[.fff|.ffffff|.fffffffff]Z", digits by hand (snprintf was ~2% of tactd's CPU per event).
    char buf[40];
    char* p = buf;
    *p++ = '"';
    p = Digits(p, cs.year, 4);
    *p++ = '-';
    p = Digits(p, cs.month, 2);
    *p++ = '-';
    p = Digits(p, cs.day, 2);
    *p++ = 'T';
    p = Digits(p, cs.hour, 2);
    *p++ = ':';
    p = Digits(p, cs.minute, 2);
    *p++ = ':';
    p = Digits(p, cs.second, 2);
    const int nanos = t.nanos();
    if (nanos != 0) {
      *p++ = '.';
      if (nanos % 1'000'000 == 0) {
        p = Digits(p, nanos / 1'000'000, 3);
      } else if (nanos % 1000 == 0) {
        p = Digits(p, nanos / 1000, 6);
      } else {
        p = Digits(p, nanos, 9);
      }
    }
    *p++ = 'Z';
    *p++ = '"';
    out_.append(buf, static_cast<size_t>(p - buf));
  }
  // `v` (0 <= v < 10^n) as exactly n decimal digits at `p`; returns the end.
  static char* Digits(char* p, int v, int n) {
    for (int i = n - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    return p + n;
  }
  // A nested message or an array: the key, then the caller writes the value.
  void Key(std::string_view key) {
    char buf[kMaxKey + 4];  // `,"key":` in one append (the record's field names have 20 bytes at most)
    size_t n = 0;
    if (!first_) buf[n++] = ',';
    first_ = false;
    if (key.size() > kMaxKey) {
      out_.append(buf, n).append(1, '"').append(key).append("\":");
      return;
    }
    buf[n++] = '"';
    std::memcpy(buf + n, key.data(), key.size());
    n += key.size();
    buf[n++] = '"';
    buf[n++] = ':';
    out_.append(buf, n);
  }
  void Quoted(std::string_view v) {
    if (!AppendJsonString(v, &out_, /*replace_invalid=*/false)) {
      ok_ = false;  // not UTF-8: the library printer decides
    }
  }
  // A repeated field: omitted when empty, else `[` then write(item) per item (Quoted, or Open … Close) `]`.
  template <typename Items, typename Write>
  void Array(std::string_view key, const Items& items, Write write) {
    if (items.empty()) return;
    Key(key);
    out_.push_back('[');
    first_ = true;
    for (const auto& item : items) {
      if (!first_) out_.push_back(',');
      first_ = false;
      write(item);
    }
    out_.push_back(']');
    first_ = false;
  }

 private:
  static constexpr size_t kMaxKey = 24;
  std::string& out_;
  bool first_ = true;
  bool ok_ = true;
};

void WriteDecision(RecordWriter& w, const v1::Decision& d) {
  w.Open();
  w.Enum("decision", d.decision(), &v1::DecisionKind_descriptor);
  w.Str("reason", d.reason());
  w.Str("rule_id", d.rule_id());
  w.Str("policy_version", d.policy_version());
  if (d.has_defer_until()) w.Time("defer_until", d.defer_until());
  w.Array("counters", d.counters(), [&](const v1::Counter& c) {
    w.Open();
    w.Str("rule_id", c.rule_id());
    w.Int64("used", c.used());
    w.Int64("limit", c.limit());
    w.Str("window", c.window());
    w.Close();
  });
  w.Array("matched_rules", d.matched_rules(), [&](const std::string& r) { w.Quoted(r); });
  w.Str("policy_digest", d.policy_digest());
  w.Bool("duplicate", d.duplicate());
  w.Bool("degraded", d.degraded());
  w.Bool("shadow", d.shadow());
  w.Array("shadow_outcomes", d.shadow_outcomes(), [&](const v1::ShadowOutcome& o) {
    w.Open();
    w.Str("rule_id", o.rule_id());
    w.Enum("decision", o.decision(), &v1::DecisionKind_descriptor);
    w.Str("reason", o.reason());
    w.Close();
  });
  w.Close();
}

void WriteEvidence(RecordWriter& w, const v1::Evidence& e) {
  w.Open();
  if (e.has_signal()) {
    const v1::SignalEvidence& s = e.signal();
    w.Key("signal");
    w.Open();
    w.Str("rule_id", s.rule_id());
    w.Str("kind", s.kind());
    w.Str("condition", s.condition());
    w.Str("ref", s.ref());
    if (s.has_at()) w.Time("at", s.at());
    if (s.has_since()) w.Time("since", s.since());
    if (s.has_holds_until()) w.Time("holds_until", s.holds_until());
    w.Close();
  }
  if (e.has_window()) {
    const v1::WindowEvidence& c = e.window();
    w.Key("window");
    w.Open();
    w.Str("rule_id", c.rule_id());
    w.Int64("used", c.used());
    w.Int64("limit", c.limit());
    w.Str("window", c.window());
    if (c.has_rolling_from()) w.Time("rolling_from", c.rolling_from());
    w.Str("period", c.period());
    if (c.has_period_end()) w.Time("period_end", c.period_end());
    if (c.has_frees_at()) w.Time("frees_at", c.frees_at());
    w.Close();
  }
  if (e.has_quiet_hours()) {
    const v1::QuietHoursEvidence& q = e.quiet_hours();
    w.Key("quiet_hours");
    w.Open();
    w.Str("rule_id", q.rule_id());
    w.Str("window", q.window());
    w.Str("zone", q.zone());
    w.Str("local_time", q.local_time());
    if (q.has_until()) w.Time("until", q.until());
    w.Close();
  }
  w.Close();
}

bool WriteRecord(const v1::DecisionRecord& r, std::string& out) {
  RecordWriter w(out);
  w.Open();
  w.Str("event_id", r.event_id());
  w.Str("tenant", r.tenant());
  w.Str("customer_hash", r.customer_hash());
  w.Enum("channel", r.channel(), &v1::Channel_descriptor);
  w.Enum("message_class", r.message_class(), &v1::MessageClass_descriptor);
  w.Str("campaign_id", r.campaign_id());
  if (r.has_decision()) {
    w.Key("decision");
    WriteDecision(w, r.decision());
  }
  if (r.has_decided_at()) w.Time("decided_at", r.decided_at());
  w.Str("source", r.source());
  w.Str("source_position", r.source_position());
  if (r.has_evidence()) {
    w.Key("evidence");
    WriteEvidence(w, r.evidence());
  }
  w.Str("client", r.client());
  w.Str("customer_hash_key_id", r.customer_hash_key_id());
  w.Close();
  return w.ok();
}

}  // namespace

std::string EncodeDecisionRecord(const v1::DecisionRecord& record) {
  std::string out;
  out.reserve(1024);  // a released PROMOTION's record under policies/default: 812 bytes (record_codec_bench)
  if (WriteRecord(record, out)) {
    return out;
  }
  out.clear();  // text that is not UTF-8, or a time outside the mapping: as the library prints it
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(record, &out, opts);  // cannot fail for a valid message
  return out;
}

absl::StatusOr<v1::DecisionRecord> DecodeDecisionRecord(std::string_view json) {
  v1::DecisionRecord rec;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;  // records written by newer versions stay readable
  const auto status =
      google::protobuf::util::JsonStringToMessage(google::protobuf::StringPiece(json.data(), json.size()), &rec, opts);
  if (!status.ok()) {
    return absl::InvalidArgumentError(JsonErrorReason(json, *rec.GetDescriptor(), "decision record", true));
  }
  return rec;
}

}  // namespace tact::pipeline
