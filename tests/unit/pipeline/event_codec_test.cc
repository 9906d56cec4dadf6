#include "daemon/pipeline/event_codec.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace tact::pipeline {
namespace {

TEST(DecodeSignalTest, JsonByContentTypeOrSniffingAndBinaryProtobuf) {
  const std::string json =
      R"({"tenant":"acme","customerId":"c1","kind":"CSAT","csat":1,"at":"2026-11-23T10:00:00Z"})";
  for (const char* ct : {"application/json", ""}) {
    absl::StatusOr<v1::Signal> s = DecodeSignal(json, ct);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->kind(), v1::CSAT);
    EXPECT_EQ(s->csat(), 1);
    EXPECT_EQ(s->at().seconds(), 1795428000);
  }
  v1::Signal proto;
  proto.set_tenant("acme");
  proto.set_customer_id("c1");
  proto.set_kind(v1::OPT_OUT);
  absl::StatusOr<v1::Signal> b = DecodeSignal(proto.SerializeAsString(), "application/x-protobuf");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->kind(), v1::OPT_OUT);
}

TEST(DecodeSignalTest, ErrorsNameTheInput) {
  EXPECT_EQ(DecodeSignal("", "").status().message(), "empty message");
  absl::StatusOr<v1::Signal> bad = DecodeSignal(R"({"tenant":"acme","mood":"grumpy"})", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(std::string(bad.status().message()).starts_with("invalid JSON signal: ")) << bad.status();
  EXPECT_EQ(DecodeSignal("\xff\xff\xff", "application/x-protobuf").status().message(),
            "invalid protobuf signal: cannot parse tact.v1.Signal");
  EXPECT_EQ(DecodeOutboundEvent("\xff\xff\xff", "application/x-protobuf").status().message(),
            "invalid protobuf event: cannot parse tact.v1.OutboundEvent");
  EXPECT_TRUE(std::string(DecodeSignal("{}", "text/plain").status().message()).starts_with("unsupported content-type"));
}

}  // namespace
}  // namespace tact::pipeline

namespace tact::pipeline {
namespace {

using google::protobuf::FieldDescriptor;

// Sets every field of `m` (recursively, repeated fields twice) to a non-default value derived from `seed`, so a
// field added to the proto without a line in EncodeDecisionRecord makes the comparison below fail.
void FillEveryField(google::protobuf::Message& m, int seed) {
  const google::protobuf::Descriptor& d = *m.GetDescriptor();
  const google::protobuf::Reflection& r = *m.GetReflection();
  if (d.full_name() == "google.protobuf.Timestamp") {
    r.SetInt64(&m, d.FindFieldByName("seconds"), 1'795'000'000 + seed);
    r.SetInt32(&m, d.FindFieldByName("nanos"), seed % 2 == 0 ? 0 : 123'000'000);
    return;
  }
  for (int i = 0; i < d.field_count(); ++i) {
    const FieldDescriptor& f = *d.field(i);
    const int n = f.is_repeated() ? 2 : 1;
    for (int k = 0; k < n; ++k) {
      const std::string text = absl::StrCat(f.name(), "-", seed, "-", k, " \"q\" \\ \n\t\x01 <&> caf\xc3\xa9 \xe2\x82\xac");
      switch (f.cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          f.is_repeated() ? r.AddString(&m, &f, text) : r.SetString(&m, &f, text);
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          f.is_repeated() ? r.AddInt64(&m, &f, -7 - k) : r.SetInt64(&m, &f, 9'007'199'254'740'993 + seed);
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          f.is_repeated() ? r.AddBool(&m, &f, true) : r.SetBool(&m, &f, true);
          break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          const google::protobuf::EnumDescriptor& e = *f.enum_type();
          const int v = e.value(e.value_count() - 1 - k % e.value_count())->number();
          f.is_repeated() ? r.AddEnumValue(&m, &f, v) : r.SetEnumValue(&m, &f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          FillEveryField(f.is_repeated() ? *r.AddMessage(&m, &f) : *r.MutableMessage(&m, &f), seed + k + 1);
          break;
        default:
          ADD_FAILURE() << "FillEveryField: add a case for " << f.full_name() << " (" << f.cpp_type_name() << ")";
      }
    }
  }
}

nlohmann::json LibraryJson(const v1::DecisionRecord& r) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(r, &out, opts).ok());
  return nlohmann::json::parse(out);
}

void ExpectSameAsLibrary(const v1::DecisionRecord& r) {
  const std::string ours = EncodeDecisionRecord(r);
  ASSERT_TRUE(nlohmann::json::accept(ours)) << ours;
  EXPECT_EQ(nlohmann::json::parse(ours), LibraryJson(r)) << ours;
  absl::StatusOr<v1::DecisionRecord> back = DecodeDecisionRecord(ours);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*back, r)) << ours;
}

TEST(EncodeDecisionRecordTest, EveryFieldAsTheProto3JsonMapping) {
  v1::DecisionRecord full;
  FillEveryField(full, 1);
  ASSERT_TRUE(full.decision().has_defer_until());
  ASSERT_EQ(full.decision().counters_size(), 2);
  ExpectSameAsLibrary(full);
  ExpectSameAsLibrary(v1::DecisionRecord());  // every field default: "{}"
  EXPECT_EQ(EncodeDecisionRecord(v1::DecisionRecord()), "{}");
}

TEST(EncodeDecisionRecordTest, TimesEnumsAndDefaultsLikeTheLibrary) {
  v1::DecisionRecord r;
  r.set_event_id("e-1");
  r.set_channel(v1::SMS);
  r.mutable_decision()->set_decision(v1::RELEASE);
  r.mutable_decision()->add_counters()->set_limit(3);  // used 0: omitted
  for (int nanos : {0, 5'000'000, 5'000, 5, 999'999'999}) {
    r.mutable_decided_at()->set_seconds(1'795'000'000);
    r.mutable_decided_at()->set_nanos(nanos);
    ExpectSameAsLibrary(r);
  }
  r.mutable_decided_at()->set_seconds(0);
  ExpectSameAsLibrary(r);  // 1970-01-01T00:00:00.999999999Z
  r.mutable_decision()->set_decision(static_cast<v1::DecisionKind>(77));  // a value this build does not know
  r.set_message_class(static_cast<v1::MessageClass>(-3));
  ExpectSameAsLibrary(r);
}

// Byte for byte what protobuf's JSON printer writes (the format of tact.decisions before the hand-written
// encoder), for a table of records: every kind of field, times across the mapping's range and precisions, text to
// escape. Known byte differences, equal as JSON (EveryFieldAsTheProto3JsonMapping): the library also writes '<',
// '>', DEL and some Unicode format characters as \uXXXX; the encoder writes them as they are.
TEST(EncodeDecisionRecordTest, ByteForByteTheLibrarysPrinter) {
  std::vector<v1::DecisionRecord> table;
  for (const int64_t seconds : {int64_t{0}, int64_t{1'795'000'000}, int64_t{-62'135'596'800}, int64_t{253'402'300'799},
                                int64_t{951'782'400}, int64_t{-1}}) {
    for (const int nanos : {0, 1, 10, 999, 1000, 5'000, 120'000, 5'000'000, 100'000'000, 999'999'999}) {
      v1::DecisionRecord& r = table.emplace_back();
      r.set_event_id("e");
      r.mutable_decided_at()->set_seconds(seconds);
      r.mutable_decided_at()->set_nanos(nanos);
      r.mutable_decision()->mutable_defer_until()->set_seconds(seconds / 2);
      r.mutable_decision()->mutable_defer_until()->set_nanos(nanos / 10);
      r.mutable_evidence()->mutable_window()->mutable_frees_at()->set_seconds(seconds);
    }
  }
  for (const std::string& text : {std::string("plain"), std::string("q\"\\/ \b\f\n\r\t"), std::string("\x01\x1f&'"),
                                 std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), std::string("\0nul", 4)}) {
    v1::DecisionRecord& r = table.emplace_back();
    r.set_event_id(text);
    r.set_tenant(text);
    r.set_customer_hash("0123456789abcdef0123456789abcdef");
    r.set_channel(v1::EMAIL);
    r.set_message_class(v1::PROMOTION);
    r.set_source("kafka");
    r.set_source_position("tact.outbound[3]@12345");
    v1::Decision& d = *r.mutable_decision();
    d.set_decision(v1::SUPPRESS);
    d.set_reason(text);
    d.set_rule_id("promo-cap");
    d.set_duplicate(true);
    v1::Counter& c = *d.add_counters();
    c.set_rule_id(text);
    c.set_used(3);
    c.set_limit(-9'007'199'254'740'993);
    d.add_matched_rules(text);
    d.add_matched_rules("second");
    v1::ShadowOutcome& o = *d.add_shadow_outcomes();
    o.set_decision(v1::DEFER);
    o.set_reason(text);
  }
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  for (const v1::DecisionRecord& r : table) {
    std::string library;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(r, &library, opts).ok());
    EXPECT_EQ(EncodeDecisionRecord(r), library);
  }
}

// The calendar fields are computed from the seconds in integer arithmetic: every day of the mapping's range is as
// likely, leap days and century years included, and each side of its two ends falls back to the library.
TEST(EncodeDecisionRecordTest, RandomTimesByteForByteTheLibrarysPrinter) {
  constexpr int64_t kMin = -62'135'596'800;  // 0001-01-01T00:00:00Z
  constexpr int64_t kMax = 253'402'300'799;  // 9999-12-31T23:59:59Z
  std::vector<int64_t> seconds = {kMin, kMin + 86'399, kMax - 86'399, kMax, -1, -86'400, -86'401,
                                  951'782'400,       // 2000-02-29T00:00:00Z
                                  951'868'799,       // 2000-02-29T23:59:59Z
                                  -2'203'891'200,    // 1900-03-01T00:00:00Z
                                  4'107'542'399,     // 2100-02-28T23:59:59Z
                                  -62'104'060'801};  // 0001-12-31T23:59:59Z
  std::mt19937_64 rng(26);
  std::uniform_int_distribution<int64_t> any(kMin, kMax);
  for (int i = 0; i < 20'000; ++i) seconds.push_back(any(rng));
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  int i = 0;
  for (const int64_t s : seconds) {
    v1::DecisionRecord r;
    r.mutable_decided_at()->set_seconds(s);
    r.mutable_decided_at()->set_nanos((i++ % 4) * 250'000'000);
    std::string library;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(r, &library, opts).ok());
    ASSERT_EQ(EncodeDecisionRecord(r), library) << s;
  }
  for (const int64_t outside : {kMin - 1, kMax + 1}) {
    v1::DecisionRecord r;
    r.set_event_id("e");
    r.mutable_decided_at()->set_seconds(outside);
    std::string library;
    (void)google::protobuf::util::MessageToJsonString(r, &library, opts);
    EXPECT_EQ(EncodeDecisionRecord(r), library) << outside;
  }
}

TEST(EncodeDecisionRecordTest, TextThatIsNotUtf8FallsBackToTheLibrary) {
  v1::DecisionRecord r;
  r.set_event_id("e-\xff-1");
  r.mutable_decision()->set_reason("half \xe2\x82");
  std::string library;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(r, &library, opts);
  EXPECT_EQ(EncodeDecisionRecord(r), library);
}

}  // namespace
}  // namespace tact::pipeline

namespace tact::pipeline {
namespace {

// The library's reading of `json` as an OutboundEvent (nullopt when it rejects it).
std::optional<v1::OutboundEvent> LibraryEvent(const std::string& json) {
  v1::OutboundEvent ev;
  google::protobuf::util::JsonParseOptions opts;
  if (!google::protobuf::util::JsonStringToMessage(json, &ev, opts).ok()) return std::nullopt;
  return ev;
}

// Every kind of value for every key of an event or a signal: strings, enum names, times as producers write them
// and as they should not, numbers in and out of int32, objects for attributes, and what only the library reads.
const std::vector<std::string> kValues = {
    "\"e-1\"", "\"\"", "\"EMAIL\"", "\"PROMOTION\"", "\"email\"", "\"SMS\"", "\"CHANNEL_UNSPECIFIED\"",
    "\"CSAT\"", "\"OPT_OUT\"", "\"csat\"", "\"SIGNAL_KIND_UNSPECIFIED\"",
    "\"a\\\"b\"", "\"caf\xc3\xa9\"", "\"\xff\"", "null", "\"Europe/Berlin\"", "\"TRANSACTIONAL\"", "\"x\ty\"",
    "\"2026-11-23T10:00:00Z\"", "\"2026-11-23T10:00:00.5Z\"", "\"2026-11-23T10:00:00.120Z\"",
    "\"2026-11-23T10:00:00.123456789Z\"", "\"2026-11-23T10:00:00.1234567890Z\"", "\"2026-11-23T10:00:00.Z\"",
    "\"2024-02-29T23:59:59Z\"", "\"2026-02-29T10:00:00Z\"", "\"1900-02-29T00:00:00Z\"", "\"2026-04-31T00:00:00Z\"",
    "\"0001-01-01T00:00:00Z\"", "\"0000-12-31T23:59:59Z\"", "\"9999-12-31T23:59:59.999999999Z\"",
    "\"2026-11-23T24:00:00Z\"", "\"2026-11-23T10:60:00Z\"", "\"2026-11-23T10:00:60Z\"",
    "\"2026-11-23T10:00:00+01:00\"", "\"2026-11-23T10:00:00-00:00\"", "\"2026-11-23t10:00:00z\"",
    "\"2026-11-23 10:00:00Z\"", "\"2026-1-23T10:00:00Z\"", "\"2026-11-23T10:00Z\"", "\"+2026-11-23T10:00:00Z\"",
    // not digits where digits go ('/' is '0' - 1: read as a digit it would still make a valid day or second)
    "\"2026-11-2/T10:00:00Z\"", "\"2026-11-23T10:00:1/Z\"", "\"20a6-11-23T10:00:00Z\"", "\"2026-11-23T10:00:00.1/3Z\"",
    "3", "0", "-0", "-7", "007", "2147483647", "2147483648", "-2147483648", "-2147483649", "1.5", "1e2", "3.0",
    "99999999999", "\"7\"", "{}", "{ }", "{\"a\":\"b\"}", "{\"a\":\"b\",\"c\":\"\"}", "{\"a\":\"b\",\"a\":\"c\"}",
    "{\"a\":1}", "{\"\":\"x\"}", "{\"a\":\"b\",}", "{\"a\" : \"b\" }", "{\"a\":null}", "[]"};

// Random JSON objects over `keys` and kValues (spaces, truncations and trailing garbage too): whenever `fast`
// accepts one, the library reads the same message from it. Returns how many `fast` and the library accepted.
template <typename M>
std::pair<int, int> FastAgreesWithTheLibrary(const std::vector<std::string>& keys, bool (*fast)(std::string_view, M*),
                                             unsigned seed) {
  const std::vector<std::string> spaces = {"", " ", "\n\t ", "\r"};
  std::mt19937 rng(seed);
  int accepted = 0;
  int library = 0;
  for (int round = 0; round < 60000; ++round) {
    std::string json = spaces[rng() % spaces.size()] + "{";
    const int n = static_cast<int>(rng() % 6);
    for (int f = 0; f < n; ++f) {
      if (f > 0) json += spaces[rng() % spaces.size()] + ",";
      json += spaces[rng() % spaces.size()] + "\"" + keys[rng() % keys.size()] + "\"" + spaces[rng() % spaces.size()] +
              ":" + spaces[rng() % spaces.size()] + kValues[rng() % kValues.size()];
    }
    json += spaces[rng() % spaces.size()] + "}" + spaces[rng() % spaces.size()];
    if (rng() % 10 == 0) json.resize(rng() % (json.size() + 1));  // truncated
    if (rng() % 20 == 0) json += ",";                              // trailing garbage
    M want;
    const bool read = google::protobuf::util::JsonStringToMessage(json, &want).ok();
    library += read;
    M got;
    if (!fast(json, &got)) continue;
    ++accepted;
    EXPECT_TRUE(read) << "fast path accepted what the library rejects: " << json;
    if (!read || !google::protobuf::util::MessageDifferencer::Equals(got, want)) {
      ADD_FAILURE() << json;
      break;
    }
  }
  return {accepted, library};
}

TEST(DecodeOutboundEventFastTest, AgreesWithTheLibraryWheneverItAccepts) {
  const std::vector<std::string> keys = {"eventId", "event_id", "tenant", "customerId", "customer_id", "channel",
                                         "messageClass", "message_class", "campaignId", "templateId",
                                         "customerTimezone", "customer_timezone", "priority", "createdAt",
                                         "created_at", "attributes", "payload", "mood", "EventId", ""};
  const auto [fast, library] = FastAgreesWithTheLibrary(keys, &internal::DecodeOutboundEventFast, 7);
  EXPECT_GT(fast, 4000);  // the fast path is taken for the common shape …
  EXPECT_GT(library, fast);  // … and the library still reads the rest
}

TEST(DecodeSignalFastTest, AgreesWithTheLibraryWheneverItAccepts) {
  const std::vector<std::string> keys = {"tenant", "customerId", "customer_id", "kind", "csat", "ref", "channel",
                                         "at", "expiresAt", "expires_at", "campaignId", "signalId", "signal_id",
                                         "createdAt", "Kind", ""};
  const auto [fast, library] = FastAgreesWithTheLibrary(keys, &internal::DecodeSignalFast, 11);
  EXPECT_GT(fast, 4000);
  EXPECT_GT(library, fast);
}

TEST(DecodeSignalFastTest, TheSampleShapeTakesIt) {
  const std::string json = R"({"tenant":"acme","customerId":"maria@example.com","kind":"CSAT","csat":2,)"
                           R"("at":"2026-11-18T09:30:00Z","campaignId":"outage-2026-11-18","signalId":"s-1"})";
  v1::Signal fast;
  ASSERT_TRUE(internal::DecodeSignalFast(json, &fast));
  v1::Signal library;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &library).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(fast, library)) << fast.DebugString();
  EXPECT_EQ(fast.csat(), 2);
  EXPECT_EQ(fast.at().seconds(), 1'794'994'200);  // 2026-11-18T09:30:00Z
  // Errors come from the library either way.
  absl::StatusOr<v1::Signal> bad = DecodeSignal(R"({"tenant":"acme","kind":"SAD"})", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(std::string(bad.status().message()).starts_with("invalid JSON signal: ")) << bad.status();
}

TEST(DecodeOutboundEventFastTest, TheBenchmarkAndSampleShapesTakeIt) {
  v1::OutboundEvent ev;
  ASSERT_TRUE(internal::DecodeOutboundEventFast(
      R"({"eventId":"b-1","tenant":"acme","customerId":"bench-1","channel":"EMAIL","messageClass":"PROMOTION"})",
      &ev));
  EXPECT_EQ(ev.customer_id(), "bench-1");
  EXPECT_EQ(ev.message_class(), v1::PROMOTION);
  // deploy/demo/events.jsonl's shape, and every optional field a producer fills.
  const std::string full =
      R"({"eventId":"ops-outage-apology","tenant":"acme","customerId":"maria@example.com","channel":"EMAIL",)"
      R"("messageClass":"PROACTIVE_SERVICE","campaignId":"outage-2026-11-18","templateId":"ops-sorry-outage",)"
      R"("createdAt":"2026-11-18T08:10:00.250Z","customerTimezone":"Europe/Berlin","priority":-2,)"
      R"("attributes":{"segment":"gold","locale":"de-DE"}})";
  v1::OutboundEvent fast;
  ASSERT_TRUE(internal::DecodeOutboundEventFast(full, &fast));
  const std::optional<v1::OutboundEvent> library = LibraryEvent(full);
  ASSERT_TRUE(library.has_value());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(fast, *library)) << fast.DebugString();
  EXPECT_EQ(fast.created_at().seconds(), 1'794'989'400);  // 2026-11-18T08:10:00Z
  EXPECT_EQ(fast.created_at().nanos(), 250'000'000);
  EXPECT_EQ(fast.priority(), -2);
  EXPECT_EQ(fast.attributes().at("locale"), "de-DE");
  // Errors come from the library either way.
  absl::StatusOr<v1::OutboundEvent> bad = DecodeOutboundEvent(R"({"eventId":"b-1","channel":"FAX"})", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(std::string(bad.status().message()).starts_with("invalid JSON event: ")) << bad.status();
}

// The library's parse errors quote the text around the error; ours name the field and the byte, so a phone number
// or an address in a malformed event never reaches the DLQ header or the log.
TEST(DecodeErrorsTest, NameFieldAndByteNeverTheText) {
  constexpr char kPhone[] = "+4915112345678";
  constexpr char kMail[] = "maria@example.com";
  struct Case {
    std::string json;
    std::string reason;
  };
  const std::string id = R"({"eventId":"e-1","tenant":"acme",)";
  const std::vector<Case> cases = {
      // syntax: the missing ',' after the phone number is at byte 47
      {id + R"("customerId":"+4915112345678" "channel":"SMS"})",
       "invalid JSON event: syntax error at byte 63: expected ',' or '}'"},
      {id + R"("customerId":"maria@example.com","channel":"SMS")",
       "invalid JSON event: syntax error at byte 81: expected ',' or '}'"},
      {R"({"customerId":"+4915112345678)", "invalid JSON event: syntax error at byte 29: unterminated string"},
      {R"({"customerId" "+4915112345678"})", "invalid JSON event: syntax error at byte 14: expected ':'"},
      {R"({"customerId":"x"} +4915112345678)", "invalid JSON event: syntax error at byte 19: text after the object"},
      // a value of the wrong kind: the field (the schema's name, not the sender's key) and where its value starts
      {id + R"("customerId":4915112345678})", "invalid JSON event: customer_id: expected a string at byte 46"},
      {id + R"("channel":"+4915112345678"})", "invalid JSON event: channel: unknown enum value at byte 43"},
      {id + R"("createdAt":"maria@example.com"})", "invalid JSON event: created_at: expected an RFC 3339 time at byte 45"},
      {id + R"("attributes":{"phone":4915112345678}})", "invalid JSON event: attributes: expected a string at byte 55"},
      {id + R"("priority":"+4915112345678x")", "invalid JSON event: priority: expected a number at byte 44"},
      // an unknown key is the sender's text too
      {id + R"("+4915112345678":"maria@example.com"})", "invalid JSON event: (object): unknown field at byte 33"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::OutboundEvent> ev = DecodeOutboundEvent(c.json, "");
    ASSERT_FALSE(ev.ok()) << c.json;
    const std::string reason(ev.status().message());
    EXPECT_EQ(reason, c.reason) << c.json;
    EXPECT_EQ(reason.find(kPhone), std::string::npos) << reason;
    EXPECT_EQ(reason.find("4915112345678"), std::string::npos) << reason;
    EXPECT_EQ(reason.find(kMail), std::string::npos) << reason;
  }
  absl::StatusOr<v1::Signal> sig =
      DecodeSignal(R"({"tenant":"acme","customerId":"+4915112345678","kind":"CSAT","csat":"five"})", "");
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.status().message(), "invalid JSON signal: csat: expected a number at byte 68");
  sig = DecodeSignal(R"({"tenant":"acme","customerId":"maria@example.com","kind":"SMILE"})", "");
  EXPECT_EQ(sig.status().message(), "invalid JSON signal: kind: unknown enum value at byte 57");
  // The content-type header is the sender's text as well.
  EXPECT_EQ(DecodeSignal("{}", "text/+4915112345678").status().message(),
            "unsupported content-type (expected application/json or application/x-protobuf)");
}

}  // namespace
}  // namespace tact::pipeline
