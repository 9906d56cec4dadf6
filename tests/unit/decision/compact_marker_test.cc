// "m4;" decision markers: no plan stored, planned again from the policy with the marker's digest (marker.h,
// earlier_decision.h).
#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "daemon/decision/earlier_decision.h"
#include "daemon/decision/marker.h"
#include "daemon/decision/policy_files.h"
#include "daemon/policy/evaluate.h"
#include "daemon/policy/parse.h"

namespace tact::decision {
namespace {

std::shared_ptr<const policy::Policy> Load(const std::string& dir) {
  absl::StatusOr<policy::Policy> p = LoadPolicyDir(dir);
  EXPECT_TRUE(p.ok()) << p.status();
  return std::make_shared<const policy::Policy>(p.ok() ? *std::move(p) : policy::Policy{});
}

std::shared_ptr<const policy::Policy> DefaultPolicy() { return Load(TACT_SOURCE_DIR "/policies/default"); }

Event MakeEvent(MessageClass cls, Channel channel, std::string_view tz, std::string_view campaign = "") {
  Event e;
  e.event_id = "e-1";
  e.tenant = "acme";
  e.customer_id = "c-1";
  e.channel = channel;
  e.message_class = cls;
  e.customer_timezone = std::string(tz);
  e.campaign_id = std::string(campaign);
  return e;
}

Marker M4(const policy::Policy& pol, const Event& e, absl::Time now, const policy::Plan& plan) {
  return Marker{.policy_version = pol.version,
                .policy_digest = pol.digest,
                .plan = plan,
                .fingerprint = FingerprintOf(e),
                .decided_at_ms = absl::ToUnixMillis(now)};
}

uint64_t Fnv(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

TEST(CompactMarkerTest, RoundTripsWithoutThePlanAndIsAFifthOfM3) {
  const auto pol = DefaultPolicy();
  const Event e = MakeEvent(v1::PROMOTION, v1::EMAIL, "Europe/Berlin", "spring-sale");
  const absl::Time now = absl::FromUnixMicros(1'795'000'000'123'456);
  const policy::Plan plan = policy::PlanEvent(*pol, e, now);
  const std::string m4 = EncodeMarker(M4(*pol, e, now, plan));
  ASSERT_TRUE(m4.starts_with("m4;")) << m4;
  const std::string m3 = EncodeMarker(
      {.policy_version = pol->version, .policy_digest = pol->digest, .plan = plan, .fingerprint = FingerprintOf(e)});
  ASSERT_TRUE(m3.starts_with("m3;"));
  std::cout << "marker_bytes_default_promotion m3=" << m3.size() << " m4=" << m4.size() << "\n";
  EXPECT_GT(m3.size(), 600u);
  EXPECT_LE(m4.size(), 150u);

  absl::StatusOr<Marker> back = DecodeMarker(m4);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->policy_version, pol->version);
  EXPECT_EQ(back->policy_digest, pol->digest);
  EXPECT_EQ(back->fingerprint, FingerprintOf(e));
  ASSERT_TRUE(back->decided_at_ms.has_value());
  EXPECT_EQ(*back->decided_at_ms, 1'795'000'000'123);
  EXPECT_EQ(back->plan_hash, PlanHash(plan));
  EXPECT_TRUE(back->plan.matched_rules.empty());  // not stored
  EXPECT_TRUE(CheckSameMessage(*back, e, "").ok());
  // m3 still decodes with its plan.
  absl::StatusOr<Marker> old = DecodeMarker(m3);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_FALSE(old->decided_at_ms.has_value());
  EXPECT_EQ(EncodePlan(old->plan), EncodePlan(plan));
}

TEST(CompactMarkerTest, EveryTruncationOrExtraIsAnError) {
  const auto pol = DefaultPolicy();
  const Event e = MakeEvent(v1::PROMOTION, v1::SMS, "UTC");
  const absl::Time now = absl::FromUnixSeconds(1'795'000'000);
  const std::string m4 = EncodeMarker(M4(*pol, e, now, policy::PlanEvent(*pol, e, now)));
  for (size_t n = 0; n < m4.size(); ++n) {
    EXPECT_FALSE(DecodeMarker(m4.substr(0, n)).ok()) << "prefix of " << n;
  }
  EXPECT_FALSE(DecodeMarker(m4 + "1;").ok());
  EXPECT_FALSE(DecodeMarker("m4;9;1;0;1:v1:d1;2;").ok());  // an unknown class
}

TEST(CompactMarkerTest, PlanHashIsFnvOfTheEncodedPlan) {
  const auto pol = DefaultPolicy();
  for (const Channel ch : {v1::EMAIL, v1::SMS, v1::PUSH}) {
    // 23:00 in Berlin: SMS and push quiet hours are in force (a hold with a zone).
    const policy::Plan plan = policy::PlanEvent(*pol, MakeEvent(v1::PROMOTION, ch, "Europe/Berlin"),
                                                absl::FromUnixSeconds(1'795'039'200));
    const std::string text = EncodePlan(plan);
    EXPECT_EQ(static_cast<uint64_t>(PlanHash(plan)), Fnv(text) & static_cast<uint64_t>(INT64_MAX)) << text;
    absl::StatusOr<policy::Plan> decoded = DecodePlan(text);  // quiet text with the zone in it, zone empty
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(PlanHash(*decoded), PlanHash(plan));
  }
}

// A memo's hash is PlanHash for every plan of a sequence (equal ones in runs, plans that differ in one token:
// channel, zone, a time, the quiet hold's text, a decoded plan) and a marker built with it is the same bytes.
TEST(CompactMarkerTest, PlanHashMemoGivesPlanHashForEveryPlanOfASequence) {
  const auto pol = DefaultPolicy();
  std::vector<policy::Plan> plans;
  for (const Channel ch : {v1::EMAIL, v1::EMAIL, v1::SMS, v1::SMS, v1::EMAIL, v1::PUSH}) {
    for (const char* zone : {"Europe/Berlin", "Europe/Berlin", "America/New_York", "Europe/Berlin"}) {
      for (const int64_t at : {1'795'039'200, 1'795'039'200, 1'795'039'201}) {
        plans.push_back(policy::PlanEvent(*pol, MakeEvent(v1::PROMOTION, ch, zone), absl::FromUnixSeconds(at)));
      }
    }
  }
  plans.push_back(*DecodePlan(EncodePlan(plans.back())));  // the same bytes, its quiet text with the zone in it
  plans.push_back(policy::PlanEvent(*pol, MakeEvent(v1::PROACTIVE_SERVICE, v1::EMAIL, "UTC"),
                                    absl::FromUnixSeconds(1'795'039'200)));
  plans.emplace_back();  // no rule at all
  plans.push_back(plans.front());
  PlanHashMemo memo;
  std::set<int64_t> hashes;
  for (size_t i = 0; i < plans.size(); ++i) {
    const int64_t h = memo.Hash(plans[i]);
    EXPECT_EQ(h, PlanHash(plans[i])) << i << ": " << EncodePlan(plans[i]);
    hashes.insert(h);
    const Event e = MakeEvent(v1::PROMOTION, v1::EMAIL, "UTC");
    Marker with = M4(*pol, e, absl::FromUnixSeconds(1'795'039'200), plans[i]);
    const std::string computed = EncodeMarker(with);
    with.plan_hash = h;
    EXPECT_EQ(EncodeMarker(with), computed);
  }
  EXPECT_GE(hashes.size(), 8u);  // the sequence has plans that differ: the memo did not answer one hash for all
}

// Times that cross every boundary a plan has: local midnight (day, week, month periods), quiet hours start and
// end, DST changes, each exactly, a microsecond before and after, and a sweep with sub-millisecond parts.
std::vector<absl::Time> Times() {
  std::vector<absl::Time> out;
  const absl::Time start = absl::FromUnixMicros(1'795'000'000'000'000);  // 2026-11-18
  for (int i = 0; i < 400; ++i) {
    out.push_back(start + i * (absl::Minutes(7) + absl::Seconds(13) + absl::Microseconds(337)));
  }
  for (const char* zone : {"Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "UTC"}) {
    absl::TimeZone tz;
    EXPECT_TRUE(absl::LoadTimeZone(zone, &tz));
    for (const absl::CivilMinute m :
         {absl::CivilMinute(2026, 11, 30, 0, 0), absl::CivilMinute(2026, 12, 1, 0, 0),
          absl::CivilMinute(2026, 11, 23, 0, 0),
          absl::CivilMinute(2026, 11, 20, 21, 0), absl::CivilMinute(2026, 11, 21, 8, 0),
          absl::CivilMinute(2027, 3, 28, 2, 0), absl::CivilMinute(2027, 3, 14, 2, 0),
          absl::CivilMinute(2026, 12, 31, 23, 59)}) {
      const absl::Time t = absl::FromCivil(m, tz);
      for (const absl::Duration d : {absl::ZeroDuration(), absl::Microseconds(1), absl::Microseconds(-1),
                                     absl::Microseconds(999), absl::Nanoseconds(999'999)}) {
        out.push_back(t + d);
      }
    }
  }
  return out;
}

// A policy with calendar weeks and months per channel and campaign, quiet hours crossing midnight and not, a
// suppress_if with windows, for what the default policy does not have.
constexpr char kWidePolicy[] = R"(
version: "wide-1"
defaults: { timezone: Asia/Kathmandu }
rules:
  - id: unhappy
    description: a bad CSAT or an escalation lately
    match: { message_class: [PROMOTION, PROACTIVE_SERVICE] }
    suppress_if: { csat_at_most: 2, csat_within: 3d, escalation_within: 36h }
  - id: month-per-campaign
    description: five a month per campaign
    match: { message_class: PROMOTION }
    limit: { count: 5, kind: calendar, window: month, scope: customer+campaign }
  - id: week-per-channel
    description: three a week per channel
    limit: { count: 3, kind: calendar, window: week, scope: customer+channel }
  - id: rolling
    description: two in 36 hours
    limit: { count: 2, window: 36h }
  - id: lunch
    description: no promotions at lunch
    match: { message_class: PROMOTION }
    quiet_hours: { start: "12:00", end: "13:30" }
    on_exceed: suppress
  - id: night
    description: quiet nights
    quiet_hours: { start: "21:00", end: "08:00" }
)";

TEST(CompactMarkerTest, ReplanMatchesTheOriginalPlanAtEveryTime) {
  absl::StatusOr<policy::Policy> wide = policy::ParsePolicy({{"wide.yaml", kWidePolicy}});
  ASSERT_TRUE(wide.ok()) << wide.status();
  const std::vector<std::shared_ptr<const policy::Policy>> policies = {
      DefaultPolicy(), std::make_shared<const policy::Policy>(*std::move(wide))};
  std::vector<Event> events;
  for (const MessageClass cls : {v1::PROMOTION, v1::PROACTIVE_SERVICE, v1::TRANSACTIONAL}) {
    for (const Channel ch : {v1::EMAIL, v1::SMS, v1::PUSH}) {
      for (const char* tz : {"", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"}) {
        events.push_back(MakeEvent(cls, ch, tz, "spring"));
      }
    }
  }
  const std::vector<absl::Time> times = Times();
  size_t compared = 0;
  size_t with_quiet = 0;
  size_t with_signals = 0;
  size_t with_calendar = 0;
  for (const auto& pol : policies) {
    for (const Event& e : events) {
      for (const absl::Time now : times) {
        const policy::Plan plan = policy::PlanEvent(*pol, e, now);
        absl::StatusOr<Marker> m = DecodeMarker(EncodeMarker(M4(*pol, e, now, plan)));
        ASSERT_TRUE(m.ok()) << m.status();
        std::optional<policy::Plan> again = EarlierPlan(*m, e, pol, nullptr);
        ASSERT_TRUE(again.has_value())
            << "at " << absl::FormatTime(now) << " tz '" << e.customer_timezone
            << "': the plan made again differs: " << EncodePlan(plan) << " vs "
            << EncodePlan(policy::PlanEvent(*pol, e, absl::FromUnixMillis(*m->decided_at_ms)));
        ASSERT_EQ(EncodePlan(*again), EncodePlan(plan));
        ++compared;
        with_quiet += plan.quiet.empty() ? 0 : 1;
        with_signals += plan.signals.empty() || plan.signals[0].since == absl::InfinitePast() ? 0 : 1;
        for (const policy::LimitCheck& l : plan.limits) with_calendar += l.period_end != absl::InfinitePast() ? 1 : 0;
      }
    }
  }
  EXPECT_GT(compared, 50'000u);
  EXPECT_GT(with_quiet, 1000u);
  EXPECT_GT(with_signals, 1000u);
  EXPECT_GT(with_calendar, 1000u);
}

TEST(CompactMarkerTest, ReplannedPlanKeepsItsPolicyAlive) {
  auto pol = DefaultPolicy();
  const Event e = MakeEvent(v1::PROMOTION, v1::SMS, "Europe/Berlin");
  const absl::Time now = absl::FromUnixSeconds(1'795'039'200);
  const std::string expected = EncodePlan(policy::PlanEvent(*pol, e, now));
  absl::StatusOr<Marker> m = DecodeMarker(EncodeMarker(M4(*pol, e, now, policy::PlanEvent(*pol, e, now))));
  ASSERT_TRUE(m.ok());
  std::optional<policy::Plan> again = EarlierPlan(*m, e, pol, nullptr);
  pol.reset();  // the plan's text is the policy's: the plan holds it
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(EncodePlan(*again), expected);
}

TEST(CompactMarkerTest, UnknownPolicyOrAnotherPlanFallsBackToTheStoredVerdict) {
  const auto pol = DefaultPolicy();
  const Event e = MakeEvent(v1::PROMOTION, v1::EMAIL, "UTC");
  const absl::Time now = absl::FromUnixSeconds(1'795'000'000);
  const policy::Plan plan = policy::PlanEvent(*pol, e, now);
  absl::StatusOr<Marker> m = DecodeMarker(EncodeMarker(M4(*pol, e, now, plan)));
  ASSERT_TRUE(m.ok());
  // Another policy in force and no archive: not found.
  absl::StatusOr<policy::Policy> other = policy::ParsePolicy({{"o.yaml", "version: \"o\"\nrules: []\n"}});
  ASSERT_TRUE(other.ok()) << other.status();
  Marker copy = *m;
  EXPECT_FALSE(EarlierPlan(copy, e, std::make_shared<const policy::Policy>(*other), nullptr).has_value());
  // The right policy, but the event plans differently now (here: another zone): not that plan.
  Event moved = e;
  moved.customer_timezone = "Asia/Tokyo";
  copy = *m;
  EXPECT_FALSE(EarlierPlan(copy, moved, pol, nullptr).has_value());
  copy = *m;
  copy.plan_hash ^= 1;
  EXPECT_FALSE(EarlierPlan(copy, e, pol, nullptr).has_value());

  // The verdict is the stored outcome's: a final decision that reserved was a RELEASE, one that did not a SUPPRESS.
  const policy::StoreOutcome released{.signals = {{}, {}, {}, {}}, .usage = {{0, {}}, {0, {}}}, .reserved = true};
  const policy::StoreOutcome suppressed{.signals = {{}, {}, {}, {}}, .usage = {{1, now + absl::Hours(3)}, {1, {}}}};
  ASSERT_EQ(policy::Decide(plan, released).verdict, policy::Verdict::kRelease);
  ASSERT_EQ(policy::Decide(plan, suppressed).verdict, policy::Verdict::kSuppress);
  const policy::Verdicts r = FallbackVerdicts(*m, released);
  EXPECT_EQ(r.verdict, policy::Verdict::kRelease);
  EXPECT_EQ(FallbackVerdicts(*m, suppressed).verdict, policy::Verdict::kSuppress);
  EXPECT_EQ(r.reason, "decided before under policy 2026.11.2; its rules are not available to this instance");
  EXPECT_TRUE(r.rule_id.empty());
  EXPECT_EQ(r.decided_by, policy::DecidedBy::kNone);
}

}  // namespace
}  // namespace tact::decision
