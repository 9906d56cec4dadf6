#include "daemon/decision/marker.h"

#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/strings.h"
#include "daemon/core/token_codec.h"
#include "nlohmann/json.hpp"

namespace tact::decision {
namespace {

// ---- The plan as tokens ----------------------------------------------------------------------------------------
// In field order:
//   "p2;" matched: n;str... tz: str
//   limits: n; per limit: rule str, counter str, count, calendar 1/0, window_ms, period_end_ms (0 = none),
//           window_text str, defer 1/0, shadow 1/0
//   signals: n; per check: rule str, condition str, fields n;str..., since_ms (0 = none), hold_ms, shadow 1/0
//   quiet: n; per hold: rule str, until_ms (0 = none), text str (with the zone), defer 1/0, shadow 1/0
// Markers stored by earlier versions hold the plan as JSON; DecodePlan reads both.

int64_t MsOr(absl::Time t, int64_t fallback) {
  return (t == absl::InfinitePast() || t == absl::InfiniteFuture()) ? fallback : absl::ToUnixMillis(t);
}
absl::Time TimeOr(int64_t ms, absl::Time fallback) { return ms == 0 ? fallback : absl::FromUnixMillis(ms); }
policy::OnExceed OnExceedOf(int64_t defer) {
  return defer == 1 ? policy::OnExceed::kDefer : policy::OnExceed::kSuppress;
}

// The text a decoded plan points to. Deques: elements never move as more are added.
struct DecodedText {
  std::deque<std::string> strings;
  std::deque<std::vector<std::string>> lists;
  std::string_view Keep(std::string s) { return strings.emplace_back(std::move(s)); }
};

// A plan stored as JSON by versions before the token encoding. Throws nlohmann::json::exception on a bad shape.
policy::Plan PlanFromJson(const nlohmann::json& j, DecodedText& t) {
  policy::Plan p;
  for (const auto& m : j.at("m")) p.matched_rules.push_back(t.Keep(m.get<std::string>()));
  p.timezone = t.Keep(j.value("tz", ""));
  for (const auto& l : j.at("l")) {
    p.limits.push_back(policy::LimitCheck{
        .rule_id = t.Keep(l.at(0).get<std::string>()),
        .counter = t.Keep(l.at(1).get<std::string>()),
        .count = l.at(2).get<int64_t>(),
        .kind = l.at(3).get<int>() == 1 ? policy::WindowKind::kCalendar : policy::WindowKind::kRolling,
        .window = absl::Milliseconds(l.at(4).get<int64_t>()),
        .period_end = TimeOr(l.at(5).get<int64_t>(), absl::InfinitePast()),
        .window_text = t.Keep(l.at(6).get<std::string>()),
        .on_exceed = OnExceedOf(l.at(7).get<int>()),
        .shadow = l.at(8).get<int>() == 1});
  }
  for (const auto& s : j.value("s", nlohmann::json::array())) {
    p.signals.push_back(policy::SignalCheck{.rule_id = t.Keep(s.at(0).get<std::string>()),
                                            .condition = t.Keep(s.at(1).get<std::string>()),
                                            .fields = t.lists.emplace_back(s.at(2).get<std::vector<std::string>>()),
                                            .since = TimeOr(s.at(3).get<int64_t>(), absl::InfinitePast()),
                                            .hold = absl::Milliseconds(s.at(4).get<int64_t>()),
                                            .shadow = s.at(5).get<int>() == 1});
  }
  for (const auto& q : j.value("q", nlohmann::json::array())) {
    p.quiet.push_back(policy::QuietHold{.rule_id = t.Keep(q.at(0).get<std::string>()),
                                        .until = TimeOr(q.at(1).get<int64_t>(), absl::InfinitePast()),
                                        .text = t.Keep(q.at(2).get<std::string>()),  // with the zone
                                        .on_exceed = OnExceedOf(q.at(3).get<int>()),
                                        .shadow = q.at(4).get<int>() == 1});
  }
  return p;
}

absl::StatusOr<policy::Plan> DecodeJsonPlan(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InternalError("plan: not JSON");
  }
  try {
    auto owned = std::make_shared<DecodedText>();
    policy::Plan p = PlanFromJson(j, *owned);
    p.storage = std::move(owned);
    return p;
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(std::string("plan: ") + e.what());
  }
}

// Reads a token-encoded plan; the strings it reads are kept in `text`.
class PlanReader {
 public:
  PlanReader(std::string_view encoded, DecodedText& text) : r_(encoded), text_(text) {}

  bool Literal(std::string_view s) { return r_.Literal(s); }
  bool Count(size_t* n) { return r_.Count(n); }
  bool Int(int64_t* v) { return r_.Int(v); }
  bool Done() const { return r_.Done(); }
  bool Str(std::string_view* out) {
    std::string_view raw;
    if (!r_.Str(&raw)) return false;
    *out = text_.Keep(std::string(raw));
    return true;
  }
  bool Flag(bool* out) {
    int64_t v = 0;
    if (!r_.Int(&v)) return false;
    *out = v == 1;
    return true;
  }
  bool List(std::span<const std::string>* out) {
    size_t n = 0;
    if (!r_.Count(&n)) return false;
    std::vector<std::string>& list = text_.lists.emplace_back();
    for (size_t k = 0; k < n; ++k) {
      std::string_view s;
      if (!r_.Str(&s)) return false;
      list.emplace_back(s);
    }
    *out = list;
    return true;
  }
  // n; then n items read by `read`, appended to `out`.
  template <typename Vector, typename Read>
  bool Items(Vector& out, Read read) {
    size_t n = 0;
    if (!r_.Count(&n)) return false;
    for (size_t i = 0; i < n; ++i) {
      if (!read(*this, out.emplace_back())) return false;
    }
    return true;
  }

 private:
  TokenReader r_;
  DecodedText& text_;
};

bool ReadRule(PlanReader& r, std::string_view& id) { return r.Str(&id); }

bool ReadLimit(PlanReader& r, policy::LimitCheck& l) {
  int64_t calendar = 0;
  int64_t window_ms = 0;
  int64_t period_end_ms = 0;
  int64_t defer = 0;
  if (!r.Str(&l.rule_id) || !r.Str(&l.counter) || !r.Int(&l.count) || !r.Int(&calendar) || !r.Int(&window_ms) ||
      !r.Int(&period_end_ms) || !r.Str(&l.window_text) || !r.Int(&defer) || !r.Flag(&l.shadow)) {
    return false;
  }
  l.kind = calendar == 1 ? policy::WindowKind::kCalendar : policy::WindowKind::kRolling;
  l.window = absl::Milliseconds(window_ms);
  l.period_end = TimeOr(period_end_ms, absl::InfinitePast());
  l.on_exceed = OnExceedOf(defer);
  return true;
}

bool ReadSignal(PlanReader& r, policy::SignalCheck& c) {
  int64_t since_ms = 0;
  int64_t hold_ms = 0;
  if (!r.Str(&c.rule_id) || !r.Str(&c.condition) || !r.List(&c.fields) || !r.Int(&since_ms) || !r.Int(&hold_ms) ||
      !r.Flag(&c.shadow)) {
    return false;
  }
  c.since = TimeOr(since_ms, absl::InfinitePast());
  c.hold = absl::Milliseconds(hold_ms);
  return true;
}

bool ReadQuiet(PlanReader& r, policy::QuietHold& q) {
  int64_t until_ms = 0;
  int64_t defer = 0;
  if (!r.Str(&q.rule_id) || !r.Int(&until_ms) || !r.Str(&q.text) || !r.Int(&defer) || !r.Flag(&q.shadow)) {
    return false;
  }
  q.until = TimeOr(until_ms, absl::InfinitePast());
  q.on_exceed = OnExceedOf(defer);
  return true;
}

}  // namespace

namespace {

// Writes the plan's tokens to `w` (a TokenWriter, or a PlanHasher: the same bytes, hashed instead of kept).
template <typename Writer>
void WritePlan(const policy::Plan& plan, Writer& w) {
  w.Raw("p2;");
  w.Int(static_cast<int64_t>(plan.matched_rules.size()));
  for (std::string_view r : plan.matched_rules) w.Str(r);
  w.Str(plan.timezone);
  w.Int(static_cast<int64_t>(plan.limits.size()));
  for (const policy::LimitCheck& l : plan.limits) {
    w.Str(l.rule_id);
    w.Str(l.counter);
    w.Int(l.count);
    w.Int(l.kind == policy::WindowKind::kCalendar ? 1 : 0);
    w.Int(absl::ToInt64Milliseconds(l.window));
    w.Int(MsOr(l.period_end, 0));
    w.Str(l.window_text);
    w.Int(l.on_exceed == policy::OnExceed::kDefer ? 1 : 0);
    w.Int(l.shadow ? 1 : 0);
  }
  w.Int(static_cast<int64_t>(plan.signals.size()));
  for (const policy::SignalCheck& c : plan.signals) {
    w.Str(c.rule_id);
    w.Str(c.condition);
    w.Int(static_cast<int64_t>(c.fields.size()));
    for (const std::string& f : c.fields) w.Str(f);
    w.Int(MsOr(c.since, 0));
    w.Int(absl::ToInt64Milliseconds(c.hold));
    w.Int(c.shadow ? 1 : 0);
  }
  w.Int(static_cast<int64_t>(plan.quiet.size()));
  for (const policy::QuietHold& q : plan.quiet) {
    w.Str(q.rule_id);
    w.Int(MsOr(q.until, 0));
    w.QuietText(q);
    w.Int(q.on_exceed == policy::OnExceed::kDefer ? 1 : 0);
    w.Int(q.shadow ? 1 : 0);
  }
}

// TokenWriter with the quiet hold's text as WritePlan needs it.
class PlanWriter : public TokenWriter {
 public:
  void QuietText(const policy::QuietHold& q) { Str(q.Text()); }
};

// FNV-1a 64 (its low 63 bits) over exactly the bytes TokenWriter would write: no string is built. Raw alone hashes
// plain bytes (a fingerprint's campaign id).
class PlanHasher {
 public:
  void Raw(std::string_view s) {
    for (const char c : s) h_ = (h_ ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  void Int(int64_t v) {
    char buf[absl::numbers_internal::kFastToBufferSize];
    char* end = absl::numbers_internal::FastIntToBuffer(v, buf);
    Raw(std::string_view(buf, static_cast<size_t>(end - buf)));
    Raw(";");
  }
  void Str(std::string_view s) {
    Length(s.size());
    Raw(s);
  }
  // The bytes of Str(q.Text()) without building it: "<text> <zone>", or the text alone when the zone is in it
  // already (a decoded plan).
  void QuietText(const policy::QuietHold& q) {
    if (q.zone.empty()) {
      Str(q.text);
      return;
    }
    Length(q.text.size() + 1 + q.zone.size());
    Raw(q.text);
    Raw(" ");
    Raw(q.zone);
  }
  void Length(size_t n) {
    char buf[absl::numbers_internal::kFastToBufferSize];
    char* end = absl::numbers_internal::FastIntToBuffer(static_cast<uint64_t>(n), buf);
    Raw(std::string_view(buf, static_cast<size_t>(end - buf)));
    Raw(":");
  }
  int64_t Hash() const { return static_cast<int64_t>(h_ & static_cast<uint64_t>(INT64_MAX)); }

 private:
  uint64_t h_ = 14695981039346656037ull;
};

// WritePlan's tokens in binary, for PlanHashMemo: an Int as its 8 bytes; a string (Raw, Str, QuietText's text) as
// its length's 8 bytes, then its bytes. No number is formatted. Two plans with the same record wrote the same tokens
// (each token's kind follows from the counts before it), so the same text and the same PlanHash.
class PlanRecord {
 public:
  // Writes into `out` (cleared; its buffer kept for the next record).
  explicit PlanRecord(std::string& out) : out_(out) {
    out_.clear();
    out_.reserve(1024);  // grows past this only for a larger plan; the memo keeps the buffer for the next
  }
  void Raw(std::string_view s) {
    Word(static_cast<int64_t>(s.size()));
    out_.append(s);
  }
  void Int(int64_t v) { Word(v); }
  void Str(std::string_view s) { Raw(s); }
  void QuietText(const policy::QuietHold& q) {
    if (q.zone.empty()) return Raw(q.text);
    Word(static_cast<int64_t>(q.text.size() + 1 + q.zone.size()));
    out_.append(q.text);
    out_.push_back(' ');
    out_.append(q.zone);
  }

 private:
  void Word(int64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  std::string& out_;
};

// Whether a plan's tokens are `record` (a PlanRecord's), compared as WritePlan makes them.
class PlanRecordMatcher {
 public:
  explicit PlanRecordMatcher(std::string_view record) : rest_(record) {}
  void Raw(std::string_view s) {
    if (Word(static_cast<int64_t>(s.size()))) Bytes(s);
  }
  void Int(int64_t v) { Word(v); }
  void Str(std::string_view s) { Raw(s); }
  void QuietText(const policy::QuietHold& q) {
    if (q.zone.empty()) return Raw(q.text);
    if (!Word(static_cast<int64_t>(q.text.size() + 1 + q.zone.size()))) return;
    Bytes(q.text);
    Bytes(" ");
    Bytes(q.zone);
  }
  bool Same() const { return same_ && rest_.empty(); }

 private:
  bool Word(int64_t v) {
    int64_t w = 0;
    same_ = same_ && rest_.size() >= sizeof w;
    if (!same_) return false;
    std::memcpy(&w, rest_.data(), sizeof w);
    same_ = w == v;
    if (same_) rest_.remove_prefix(sizeof w);
    return same_;
  }
  bool Bytes(std::string_view s) {
    same_ = same_ && rest_.starts_with(s);
    if (same_) rest_.remove_prefix(s.size());
    return same_;
  }
  std::string_view rest_;
  bool same_ = true;
};

// A plan's PlanHash and its PlanRecord (into `record`) in one pass.
class PlanHashAndRecord {
 public:
  explicit PlanHashAndRecord(std::string& record) : record_(record) {}
  void Raw(std::string_view s) {
    hash_.Raw(s);
    record_.Raw(s);
  }
  void Int(int64_t v) {
    hash_.Int(v);
    record_.Int(v);
  }
  void Str(std::string_view s) {
    hash_.Str(s);
    record_.Str(s);
  }
  void QuietText(const policy::QuietHold& q) {
    hash_.QuietText(q);
    record_.QuietText(q);
  }
  int64_t Hash() const { return hash_.Hash(); }

 private:
  PlanHasher hash_;
  PlanRecord record_;
};

}  // namespace

std::string EncodePlan(const policy::Plan& plan) {
  PlanWriter w;
  WritePlan(plan, w);
  return w.Take();
}

int64_t PlanHash(const policy::Plan& plan) {
  PlanHasher h;
  WritePlan(plan, h);
  return h.Hash();
}

int64_t PlanHashMemo::Hash(const policy::Plan& plan) {
  if (!last_.empty()) {
    PlanRecordMatcher m(last_);
    WritePlan(plan, m);
    if (m.Same()) return hash_;
  }
  PlanHashAndRecord w(last_);
  WritePlan(plan, w);
  hash_ = w.Hash();
  return hash_;
}

absl::StatusOr<policy::Plan> DecodePlan(std::string_view text) {
  if (text.starts_with("{")) {
    return DecodeJsonPlan(text);
  }
  auto owned = std::make_shared<DecodedText>();
  PlanReader r(text, *owned);
  policy::Plan p;
  const bool ok = r.Literal("p2;") && r.Items(p.matched_rules, ReadRule) && r.Str(&p.timezone) &&
                  r.Items(p.limits, ReadLimit) && r.Items(p.signals, ReadSignal) && r.Items(p.quiet, ReadQuiet) &&
                  r.Done();
  if (!ok) return absl::InternalError("plan: malformed encoding");
  p.storage = std::move(owned);
  return p;
}

namespace {


// A marker stored as JSON ({"v","d","p": plan JSON}) by versions before the token encoding: still read, so an
// event redelivered across an upgrade gets its earlier decision.
absl::StatusOr<Marker> DecodeJsonMarker(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InternalError("decision marker: not JSON");
  }
  try {
    Marker m;
    m.policy_version = j.at("v").get<std::string>();
    m.policy_digest = j.at("d").get<std::string>();
    absl::StatusOr<policy::Plan> plan = DecodePlan(j.at("p").get<std::string>());
    if (!plan.ok()) {
      return absl::InternalError(absl::StrCat("decision marker: ", plan.status().message()));
    }
    m.plan = *std::move(plan);
    return m;
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(std::string("decision marker: ") + e.what());
  }
}

}  // namespace

Fingerprint FingerprintOf(const Event& event) {
  PlanHasher h;  // FNV-1a 64 (63 bits) of the campaign id's bytes: stable across processes and versions
  h.Raw(event.campaign_id);
  return Fingerprint{.message_class = event.message_class, .channel = event.channel, .campaign_hash = h.Hash()};
}

// "m4;" message_class; channel; campaign_hash; version str; digest str; decided_at_ms; plan_hash; (no plan).
// "m3;" message_class; channel; campaign_hash; then as "m2;": version digest, then the plan (EncodePlan).
// Built once per final decision on the hot path. Versions before the fingerprint wrote (and read only) "m2;";
// versions before 2026-12 write and read "m3;" and cannot read "m4;" (docs/operations.md "Redis keys").
std::string EncodeMarker(const Marker& m) {
  TokenWriter w;
  const bool compact = m.fingerprint && m.decided_at_ms;
  if (m.fingerprint) {
    w.Raw(compact ? "m4;" : "m3;");
    w.Int(m.fingerprint->message_class);
    w.Int(m.fingerprint->channel);
    w.Int(m.fingerprint->campaign_hash);
  } else {
    w.Raw("m2;");
  }
  w.Str(m.policy_version);
  w.Str(m.policy_digest);
  if (compact) {
    w.Int(*m.decided_at_ms);
    w.Int(m.plan_hash != 0 ? m.plan_hash : PlanHash(m.plan));
  } else {
    w.Raw(EncodePlan(m.plan));
  }
  return w.Take();
}

namespace {

bool ReadFingerprint(TokenReader& r, std::optional<Fingerprint>& out) {
  int64_t cls = 0;
  int64_t channel = 0;
  int64_t campaign = 0;
  if (!r.Int(&cls) || !r.Int(&channel) || !r.Int(&campaign) || !v1::MessageClass_IsValid(static_cast<int>(cls)) ||
      !v1::Channel_IsValid(static_cast<int>(channel))) {
    return false;
  }
  out = Fingerprint{.message_class = static_cast<MessageClass>(cls),
                    .channel = static_cast<Channel>(channel),
                    .campaign_hash = campaign};
  return true;
}

}  // namespace

absl::StatusOr<Marker> DecodeMarker(std::string_view text) {
  if (text.starts_with("{")) {
    return DecodeJsonMarker(text);
  }
  TokenReader r(text);
  Marker m;
  const bool compact = r.Literal("m4;");
  if (compact || r.Literal("m3;")) {
    if (!ReadFingerprint(r, m.fingerprint)) return absl::InternalError("decision marker: malformed");
  } else if (!r.Literal("m2;")) {
    return absl::InternalError("decision marker: malformed");
  }
  std::string_view version;
  std::string_view digest;
  if (!r.Str(&version) || !r.Str(&digest)) {
    return absl::InternalError("decision marker: malformed");
  }
  m.policy_version = std::string(version);
  m.policy_digest = std::string(digest);
  if (compact) {
    int64_t decided_at_ms = 0;
    if (!r.Int(&decided_at_ms) || !r.Int(&m.plan_hash) || !r.Done()) {
      return absl::InternalError("decision marker: malformed");
    }
    m.decided_at_ms = decided_at_ms;
    return m;
  }
  absl::StatusOr<policy::Plan> plan = DecodePlan(r.rest());
  if (!plan.ok()) {
    return absl::InternalError(absl::StrCat("decision marker: ", plan.status().message()));
  }
  m.plan = *std::move(plan);
  return m;
}

absl::Status CheckSameMessage(const Marker& earlier, const Event& event, std::string_view field_prefix) {
  if (!earlier.fingerprint) {
    return absl::OkStatus();  // stored by a version without fingerprints: taken as the same message
  }
  const Fingerprint now = FingerprintOf(event);
  if (now == *earlier.fingerprint) {
    return absl::OkStatus();
  }
  std::vector<absl::string_view> differ;
  if (now.message_class != earlier.fingerprint->message_class) differ.push_back("message_class");
  if (now.channel != earlier.fingerprint->channel) differ.push_back("channel");
  if (now.campaign_hash != earlier.fingerprint->campaign_hash) differ.push_back("campaign_id");
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(field_prefix),
                                                 "event_id: already used for a different message (",
                                                 absl::StrJoin(differ, ", "), differ.size() == 1 ? " differs)" : " differ)"));
}

}  // namespace tact::decision
