// EncodeDecisionRecord and DecodeDecisionRecord (event_codec.h): the proto3 JSON mapping of tact.v1.DecisionRecord
// on tact.decisions, written by hand on the hot path.
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/core/json_string.h"
#include "daemon/core/utc_calendar.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/pipeline/json_diagnosis.h"
#include "google/protobuf/util/json_util.h"

namespace tact::pipeline {

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
