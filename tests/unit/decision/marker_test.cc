#include "daemon/decision/marker.h"

#include <gtest/gtest.h>

#include "daemon/core/token_codec.h"
#include "daemon/decision/policy_files.h"
#include "daemon/policy/evaluate.h"
#include "daemon/policy/parse.h"

namespace tact::decision {
namespace {

policy::Policy DefaultPolicy() {
  absl::StatusOr<policy::Policy> p = LoadPolicyDir(TACT_SOURCE_DIR "/policies/default");
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : policy::Policy{};
}

Event Promotion(std::string_view tz, v1::Channel channel = v1::EMAIL) {
  Event e;
  e.event_id = "e-1";
  e.tenant = "acme";
  e.customer_id = "c-1";
  e.channel = channel;
  e.message_class = v1::PROMOTION;
  e.customer_timezone = std::string(tz);
  return e;
}

const policy::StoreOutcome kOutcome{.signals = {{}, {.hit = false}, {}, {}},
                                    .usage = {{1, absl::FromUnixSeconds(1'795'040'000)}, {0, {}}}};

// The plan codec alone (what a marker persists): a decoded plan decides as the plan did, owns its text, and
// copies of it share that text.
constexpr char kSignalPolicy[] = R"(
version: "1"
rules:
  - id: unhappy
    description: no promos after a very bad CSAT or with a complaint open
    match: { message_class: PROMOTION }
    suppress_if: { csat_at_most: 1, csat_within: 14d, open_complaint: true }
  - id: cap
    description: two in three days
    limit: { count: 2, window: 3d }
)";

// A calendar counter (a key with a period) and quiet hours (a zone in the text).
constexpr char kCalendarPolicy[] = R"(
version: "1"
rules:
  - id: per-week
    description: three a week per channel
    limit: { count: 3, kind: calendar, window: week, scope: customer+channel }
  - id: quiet
    description: quiet nights
    quiet_hours: { start: "21:00", end: "08:00" }
)";

policy::Policy MustParse(const char* yaml) {
  absl::StatusOr<policy::Policy> p = policy::ParsePolicy({{"test.yaml", yaml}});
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : policy::Policy{};
}

TEST(PlanCodecTest, EncodedPlanDecidesTheSameWithoutThePolicy) {
  std::string encoded;
  std::string reason;
  const policy::StoreOutcome outcome{.signals = {{}, {}}, .usage = {{2, absl::FromUnixSeconds(5000)}, {0, {}}}};
  const policy::StoreOutcome unused{.usage = {{0, {}}}};
  {
    const policy::Policy p = MustParse(kSignalPolicy);
    const policy::Policy cal = MustParse(kCalendarPolicy);
    const policy::Plan plan = policy::PlanEvent(p, Promotion(""), absl::FromUnixSeconds(1'795'000'000));
    encoded = EncodePlan(plan);
    reason = policy::Decide(plan, outcome).reason;
    const policy::Plan night = policy::PlanEvent(cal, Promotion("Europe/Berlin"), absl::FromUnixSeconds(1'795'037'400));
    ASSERT_EQ(night.quiet.size(), 1u);  // 2026-11-18T21:30:00Z: 22:30 in Berlin
    ASSERT_EQ(night.limits.size(), 1u);
    EXPECT_EQ(night.limits[0].counter, "c:per-week:EMAIL:w2026-11-16");
    absl::StatusOr<policy::Plan> decoded_night = DecodePlan(EncodePlan(night));
    ASSERT_TRUE(decoded_night.ok()) << decoded_night.status();
    EXPECT_EQ(EncodePlan(*decoded_night), EncodePlan(night));
    EXPECT_EQ(policy::Decide(*decoded_night, unused).reason, policy::Decide(night, unused).reason);
  }  // the policies are gone; the decoded plan owns its text
  absl::StatusOr<policy::Plan> decoded = DecodePlan(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const policy::Plan copy = *decoded;  // copies share the text
  decoded = absl::InternalError("dropped");
  EXPECT_EQ(EncodePlan(copy), encoded);
  const policy::Verdicts v = policy::Decide(copy, outcome);
  EXPECT_EQ(v.reason, reason);
  EXPECT_EQ(v.rule_id, "cap");
  EXPECT_EQ(v.matched_rules, (policy::RuleIds{"unhappy", "cap"}));
}

TEST(MarkerTest, RoundTripDecidesTheSameAfterThePolicyIsGone) {
  std::string encoded;
  std::string reason;
  std::vector<std::string> matched;  // copied: the verdicts borrow text from the policy
  {
    const policy::Policy pol = DefaultPolicy();
    const policy::Plan plan = policy::PlanEvent(pol, Promotion("Europe/Berlin"), absl::FromUnixSeconds(1'795'000'000));
    ASSERT_EQ(plan.signals.size(), 4u);
    ASSERT_EQ(plan.limits.size(), 2u);
    const policy::Verdicts before = policy::Decide(plan, kOutcome);
    reason = before.reason;
    matched.assign(before.matched_rules.begin(), before.matched_rules.end());
    encoded = EncodeMarker({pol.version, pol.digest, plan});
  }  // the policy (and the text the plan borrowed from it) is gone
  absl::StatusOr<Marker> m = DecodeMarker(encoded);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->policy_version, "2026.11.2");
  EXPECT_EQ(m->policy_digest.size(), 64u);
  EXPECT_EQ(EncodeMarker(*m), encoded);
  const policy::Verdicts after = policy::Decide(m->plan, kOutcome);
  EXPECT_EQ(after.verdict, policy::Verdict::kSuppress);
  EXPECT_EQ(after.rule_id, "promotion-1-per-day");
  EXPECT_EQ(after.reason, reason);
  EXPECT_EQ(std::vector<std::string>(after.matched_rules.begin(), after.matched_rules.end()), matched);
  EXPECT_EQ(m->plan.timezone, "Europe/Berlin");
}

TEST(MarkerTest, QuietHoldAndBinaryTextSurvive) {
  const policy::Policy pol = DefaultPolicy();
  // 23:00 in Berlin: the SMS quiet hours are in force.
  const policy::Plan plan =
      policy::PlanEvent(pol, Promotion("Europe/Berlin", v1::SMS), absl::FromUnixSeconds(1'795'039'200));
  ASSERT_EQ(plan.quiet.size(), 1u);
  Marker m{.policy_version = std::string("v:1;2\n\0x", 8), .policy_digest = "", .plan = plan};
  absl::StatusOr<Marker> back = DecodeMarker(EncodeMarker(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->policy_version, m.policy_version);
  EXPECT_EQ(back->plan.quiet[0].until, plan.quiet[0].until);
  EXPECT_EQ(back->plan.quiet[0].text, plan.quiet[0].Text());
  EXPECT_EQ(policy::Decide(back->plan, kOutcome).reason, policy::Decide(plan, kOutcome).reason);
}

TEST(MarkerTest, ReadsTheJsonMarkersEarlierVersionsStored) {
  // Written by the JSON encoder tact used before the token encoding (an event redelivered across an upgrade).
  const std::string legacy =
      R"({"d":"abc","p":"{\"l\":[[\"cap\",\"r:cap\",2,0,604800000,0,\"rolling 7d\",0,0]],\"m\":[\"unhappy\",)"
      R"(\"cap\"],\"q\":[],\"s\":[[\"unhappy\",\"CSAT 2 or lower within 30d\",[\"csat:1\",\"csat:2\"],)"
      R"(1700000000000,2592000000,0]],\"tz\":\"UTC\"}","v":"2026.11.1"})";
  absl::StatusOr<Marker> m = DecodeMarker(legacy);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->policy_version, "2026.11.1");
  EXPECT_EQ(m->policy_digest, "abc");
  ASSERT_EQ(m->plan.limits.size(), 1u);
  EXPECT_EQ(m->plan.limits[0].counter, "r:cap");
  EXPECT_EQ(m->plan.limits[0].window, absl::Hours(24 * 7));
  ASSERT_EQ(m->plan.signals.size(), 1u);
  EXPECT_EQ(m->plan.signals[0].fields.size(), 2u);
  const policy::Verdicts v = policy::Decide(m->plan, {.signals = {{}}, .usage = {{2, absl::FromUnixSeconds(9)}}});
  EXPECT_EQ(v.rule_id, "cap");
  EXPECT_EQ(v.reason, "cap 2 per rolling 7d reached (2 used)");
}

TEST(MarkerTest, EveryTruncationIsAnErrorNotACrash) {
  const policy::Policy pol = DefaultPolicy();
  const std::string encoded = EncodeMarker(
      {pol.version, pol.digest, policy::PlanEvent(pol, Promotion("UTC"), absl::FromUnixSeconds(1'795'000'000))});
  for (size_t n = 0; n < encoded.size(); ++n) {
    EXPECT_FALSE(DecodeMarker(encoded.substr(0, n)).ok()) << "prefix of " << n;
  }
  EXPECT_FALSE(DecodeMarker(encoded + "1;").ok());
  EXPECT_FALSE(DecodeMarker("m2;999999:x").ok());
  EXPECT_FALSE(DecodeMarker("m2;0:0:p2;99999999999999999999;").ok());
}


TEST(MarkerTest, FingerprintRoundTripsAndOldMarkersHaveNone) {
  const policy::Policy pol = DefaultPolicy();
  Event e = Promotion("Europe/Berlin");
  e.campaign_id = "spring";
  const policy::Plan plan = policy::PlanEvent(pol, e, absl::FromUnixSeconds(1'795'000'000));
  const std::string m3 = EncodeMarker(
      {.policy_version = pol.version, .policy_digest = pol.digest, .plan = plan, .fingerprint = FingerprintOf(e)});
  ASSERT_TRUE(m3.starts_with("m3;")) << m3;
  absl::StatusOr<Marker> m = DecodeMarker(m3);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(m->fingerprint.has_value());
  EXPECT_EQ(*m->fingerprint, FingerprintOf(e));
  EXPECT_EQ(EncodeMarker(*m), m3);
  EXPECT_TRUE(CheckSameMessage(*m, e, "").ok());
  Event other = e;
  other.message_class = v1::SERVICE;
  other.channel = v1::SMS;
  EXPECT_EQ(CheckSameMessage(*m, other, "event.").message(),
            "event.event_id: already used for a different message (message_class, channel differ)");
  other = e;
  other.campaign_id = "autumn";
  EXPECT_EQ(CheckSameMessage(*m, other, "").message(),
            "event_id: already used for a different message (campaign_id differs)");
  // Markers of the version before: no fingerprint, taken as the same message.
  absl::StatusOr<Marker> old = DecodeMarker(EncodeMarker({.policy_version = pol.version, .policy_digest = pol.digest,
                                                          .plan = plan}));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_FALSE(old->fingerprint.has_value());
  EXPECT_TRUE(CheckSameMessage(*old, other, "").ok());
  EXPECT_FALSE(DecodeMarker("m3;9;1;0;1:v1:d").ok());  // an unknown class
}

}  // namespace
}  // namespace tact::decision

namespace tact {
namespace {

TEST(TokenCodecTest, IntegersRoundTripAndOverflowIsAnError) {
  TokenWriter w;
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1'795'000'000'000}, INT64_MAX, -INT64_MAX}) w.Int(v);
  w.Str(std::string_view("a;b:\0c", 6));
  const std::string text = w.Take();
  TokenReader r(text);
  for (int64_t want : {int64_t{0}, int64_t{-1}, int64_t{1'795'000'000'000}, INT64_MAX, -INT64_MAX}) {
    int64_t got = 7;
    ASSERT_TRUE(r.Int(&got));
    EXPECT_EQ(got, want);
  }
  std::string_view s;
  ASSERT_TRUE(r.Str(&s));
  EXPECT_EQ(s, std::string_view("a;b:\0c", 6));
  EXPECT_TRUE(r.Done());
  int64_t v = 0;
  EXPECT_FALSE(TokenReader("9223372036854775808;").Int(&v));
  EXPECT_FALSE(TokenReader("99999999999999999999999;").Int(&v));
  EXPECT_FALSE(TokenReader("-;").Int(&v));
  EXPECT_FALSE(TokenReader("12").Int(&v));
  EXPECT_FALSE(TokenReader("5:abc").Str(&s));
}

}  // namespace
}  // namespace tact
