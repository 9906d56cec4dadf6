#include "daemon/policy/evaluate.h"

#include <gtest/gtest.h>

#include "daemon/policy/parse.h"
#include "tests/support/events.h"

namespace tact::policy {
namespace {

Policy MustParse(const std::string& yaml) {
  absl::StatusOr<Policy> p = ParsePolicy({{"test.yaml", yaml}});
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : Policy{};
}

Event EventOf(MessageClass cls, Channel ch = v1::EMAIL) {
  return testing::MakeEvent({.channel = ch, .message_class = cls, .campaign_id = "camp"});
}

const absl::Time kNow = absl::FromUnixSeconds(1'795'000'000);
Plan Ev(const Policy& p, const Event& e) { return PlanEvent(p, e, kNow); }

constexpr char kPolicy[] = R"(
version: "1"
rules:
  - id: proactive
    description: two per week
    match: { channel: EMAIL, message_class: PROACTIVE_SERVICE }
    limit: { count: 2, window: 7d }
  - id: any-class
    description: everything but transactional
    limit: { count: 10, window: 1d, scope: customer+channel }
    on_exceed: defer
)";

TEST(EvaluateTest, MatchingRulesProduceLimitsInOrder) {
  const Policy p = MustParse(kPolicy);
  const Plan plan = Ev(p, EventOf(v1::PROACTIVE_SERVICE));
  EXPECT_EQ(std::vector<std::string_view>(plan.matched_rules.begin(), plan.matched_rules.end()),
            (std::vector<std::string_view>{"proactive", "any-class"}));
  ASSERT_EQ(plan.limits.size(), 2u);
  EXPECT_EQ(plan.limits[0].counter, "r:proactive");
  EXPECT_EQ(plan.limits[0].window, absl::Hours(24 * 7));
  EXPECT_EQ(plan.limits[1].counter, "r:any-class:EMAIL");
}

TEST(EvaluateTest, TransactionalIsExemptUnlessNamed) {
  const Policy p = MustParse(kPolicy);
  EXPECT_TRUE(Ev(p, EventOf(v1::TRANSACTIONAL)).matched_rules.empty());
  const Policy named = MustParse(R"(
version: "1"
rules:
  - id: tx
    description: receipts too
    match: { message_class: [TRANSACTIONAL] }
    limit: { count: 100, window: 1h }
)");
  EXPECT_EQ(Ev(named, EventOf(v1::TRANSACTIONAL)).matched_rules, (RuleIds{"tx"}));
}

TEST(EvaluateTest, ChannelMismatchDoesNotMatch) {
  const Policy p = MustParse(kPolicy);
  EXPECT_EQ(Ev(p, EventOf(v1::PROACTIVE_SERVICE, v1::SMS)).matched_rules,
            (RuleIds{"any-class"}));
}

TEST(DecideTest, FirstExceededEnforcingLimitDecides) {
  const Policy p = MustParse(kPolicy);
  const Plan plan = Ev(p, EventOf(v1::PROACTIVE_SERVICE));
  const absl::Time frees = absl::FromUnixSeconds(1000);
  Verdicts v = Decide(plan, {.usage = {{2, frees}, {3, absl::InfinitePast()}}});
  EXPECT_EQ(v.verdict, Verdict::kSuppress);
  EXPECT_EQ(v.rule_id, "proactive");
  EXPECT_EQ(v.reason, "cap 2 per rolling 7d reached (2 used)");
  ASSERT_EQ(v.counters.size(), 2u);
  EXPECT_EQ(v.counters[1].used, 3);

  v = Decide(plan, {.usage = {{1, absl::InfinitePast()}, {10, frees}}});
  EXPECT_EQ(v.verdict, Verdict::kDefer);
  EXPECT_EQ(v.defer_until, frees);

  v = Decide(plan, {.usage = {{1, absl::InfinitePast()}, {3, absl::InfinitePast()}}});
  EXPECT_EQ(v.verdict, Verdict::kRelease);
  EXPECT_TRUE(v.rule_id.empty());
}

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

constexpr char kCalendarPolicy[] = R"(
version: "1"
rules:
  - id: per-day
    description: one a day per channel
    limit: { count: 1, kind: calendar, window: day, scope: customer+channel }
  - id: per-week
    description: three a week
    limit: { count: 3, kind: calendar, window: week }
  - id: per-month
    description: five a month per campaign
    limit: { count: 5, kind: calendar, window: month, scope: customer+campaign }
  - id: quiet
    description: quiet nights
    quiet_hours: { start: "21:00", end: "08:00" }
)";

TEST(EvaluateTest, CalendarCountersAreKeyedByLocalPeriodAndExpireAtItsEnd) {
  const Policy p = MustParse(kCalendarPolicy);
  Event e = EventOf(v1::PROMOTION);
  e.customer_timezone = "Europe/Berlin";
  const absl::Time now = At("2026-11-18T11:06:40Z");  // Wednesday 12:06 in Berlin
  for (int round = 0; round < 2; ++round) {  // the second round is served from the per-day cache
    const Plan plan = PlanEvent(p, e, now);
    ASSERT_EQ(plan.limits.size(), 3u);
    EXPECT_EQ(plan.limits[0].counter, "c:per-day:EMAIL:2026-11-18");
    EXPECT_EQ(plan.limits[0].period_end, At("2026-11-18T23:00:00Z"));
    EXPECT_EQ(plan.limits[0].window_text, "calendar day");
    EXPECT_EQ(plan.limits[1].counter, "c:per-week:w2026-11-16");
    EXPECT_EQ(plan.limits[1].period_end, At("2026-11-22T23:00:00Z"));
    EXPECT_EQ(plan.limits[2].counter, "c:per-month:camp:2026-11");
    EXPECT_EQ(plan.limits[2].period_end, At("2026-11-30T23:00:00Z"));
    EXPECT_TRUE(plan.quiet.empty());
    EXPECT_EQ(plan.timezone, "Europe/Berlin");
  }
  // Just before local midnight it is still the 18th; just after, the 19th.
  EXPECT_EQ(PlanEvent(p, e, At("2026-11-18T22:59:59Z")).limits[0].counter, "c:per-day:EMAIL:2026-11-18");
  EXPECT_EQ(PlanEvent(p, e, At("2026-11-18T23:00:00Z")).limits[0].counter, "c:per-day:EMAIL:2026-11-19");
}

TEST(EvaluateTest, QuietHoursInForceDeferToTheirLocalEnd) {
  const Policy p = MustParse(kCalendarPolicy);
  Event e = EventOf(v1::PROMOTION);
  e.customer_timezone = "Europe/Berlin";
  const Plan plan = PlanEvent(p, e, At("2026-11-18T21:30:00Z"));  // 22:30 in Berlin
  ASSERT_EQ(plan.quiet.size(), 1u);
  EXPECT_EQ(plan.quiet[0].until, At("2026-11-19T07:00:00Z"));  // 08:00 the next morning
  EXPECT_EQ(plan.quiet[0].Text(), "quiet hours 21:00-08:00 Europe/Berlin");
  const Verdicts v = Decide(plan, {.usage = {{0, absl::InfinitePast()}, {0, {}}, {0, {}}}});
  EXPECT_EQ(v.verdict, Verdict::kDefer);
  EXPECT_EQ(v.rule_id, "quiet");
  EXPECT_EQ(v.reason, "quiet hours 21:00-08:00 Europe/Berlin: deferred to the end of the quiet period");
  EXPECT_EQ(v.defer_until, At("2026-11-19T07:00:00Z"));
  // 07:59 local is still quiet (until 08:00 the same day); 08:00 is not.
  const Plan morning = PlanEvent(p, e, At("2026-11-19T06:59:00Z"));
  ASSERT_EQ(morning.quiet.size(), 1u);
  EXPECT_EQ(morning.quiet[0].until, At("2026-11-19T07:00:00Z"));
  EXPECT_TRUE(PlanEvent(p, e, At("2026-11-19T07:00:00Z")).quiet.empty());
}

TEST(EvaluateTest, LocalTimeIsRightOnADaylightSavingDay) {
  // 2026-11-01 in New York has 25 hours: 01:00-02:00 happens twice (EDT, then EST).
  const Policy p = MustParse(R"(
version: "1"
rules:
  - id: per-day
    description: one a day
    limit: { count: 1, kind: calendar, window: day }
  - id: quiet
    description: quiet from three to four
    quiet_hours: { start: "03:00", end: "04:00" }
)");
  Event e = EventOf(v1::PROMOTION);
  e.customer_timezone = "America/New_York";
  for (const char* t : {"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"}) {  // 01:30 EDT, 01:30 EST
    const Plan plan = PlanEvent(p, e, At(t));
    EXPECT_EQ(plan.limits[0].counter, "c:per-day:2026-11-01") << t;
    EXPECT_EQ(plan.limits[0].period_end, At("2026-11-02T05:00:00Z")) << t;
    EXPECT_TRUE(plan.quiet.empty()) << t;
  }
  EXPECT_TRUE(PlanEvent(p, e, At("2026-11-01T07:30:00Z")).quiet.empty());  // 02:30 EST (03:30 by elapsed time)
  const Plan quiet = PlanEvent(p, e, At("2026-11-01T08:30:00Z"));            // 03:30 EST
  ASSERT_EQ(quiet.quiet.size(), 1u);
  EXPECT_EQ(quiet.quiet[0].until, At("2026-11-01T09:00:00Z"));
}

TEST(EvaluateTest, ZoneWithoutCustomerZoneIsTheTenantsThenThePolicyDefault) {
  absl::StatusOr<Policy> parsed = ParsePolicy({{"a.yaml", R"(
version: "1"
defaults: { timezone: Europe/Berlin }
rules:
  - id: per-day
    description: one a day
    limit: { count: 1, kind: calendar, window: day }
)"},
                                               {"b.yaml", R"(
version: "1"
tenant: globex
defaults: { timezone: Asia/Tokyo }
rules: []
)"}});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const absl::Time now = At("2026-11-18T20:00:00Z");  // 21:00 in Berlin, 05:00 the next day in Tokyo
  Event e = EventOf(v1::PROMOTION);
  Plan plan = PlanEvent(*parsed, e, now);  // no customer_timezone: the tenant's default
  EXPECT_EQ(plan.timezone, "Europe/Berlin");
  EXPECT_EQ(plan.limits[0].counter, "c:per-day:2026-11-18");
  e.tenant = "globex";
  plan = PlanEvent(*parsed, e, now);
  EXPECT_EQ(plan.timezone, "Asia/Tokyo");
  EXPECT_EQ(plan.limits[0].counter, "c:per-day:2026-11-19");
  e.customer_timezone = "America/New_York";
  plan = PlanEvent(*parsed, e, now);
  EXPECT_EQ(plan.timezone, "America/New_York");
  EXPECT_EQ(plan.limits[0].counter, "c:per-day:2026-11-18");
}

constexpr char kSignalPolicy[] = R"(
version: "1"
rules:
  - id: unhappy
    description: no promos after a bad CSAT or an opt-out
    match: { message_class: PROMOTION }
    suppress_if: { csat_at_most: 2, csat_within: 30d, opted_out: true }
  - id: cap
    description: two a week
    limit: { count: 2, window: 7d }
)";

TEST(EvaluateTest, SignalChecksNameTheStoredFields) {
  const Policy p = MustParse(kSignalPolicy);
  const Plan plan = Ev(p, EventOf(v1::PROMOTION, v1::SMS));
  ASSERT_EQ(plan.signals.size(), 2u);
  EXPECT_EQ(plan.signals[0].rule_id, "unhappy");
  EXPECT_EQ(plan.signals[0].condition, "CSAT 2 or lower within 30d");
  EXPECT_EQ(std::vector<std::string>(plan.signals[0].fields.begin(), plan.signals[0].fields.end()),
            (std::vector<std::string>{"csat:1", "csat:2"}));
  EXPECT_EQ(plan.signals[0].since, kNow - absl::Hours(24 * 30));
  EXPECT_EQ(plan.signals[0].hold, absl::Hours(24 * 30));
  EXPECT_EQ(plan.signals[1].condition, "opted out");
  EXPECT_EQ(std::vector<std::string>(plan.signals[1].fields.begin(), plan.signals[1].fields.end()),
            (std::vector<std::string>{"opt_out", "opt_out:SMS"}));
  EXPECT_EQ(plan.signals[1].since, absl::InfinitePast());
  const Verdicts v = Decide(plan, {.signals = {{}, {.hit = true}}, .usage = {{0, {}}}});
  EXPECT_EQ(v.verdict, Verdict::kSuppress);
  EXPECT_EQ(v.rule_id, "unhappy");
  EXPECT_EQ(v.reason, "customer signal: opted out");
}

}  // namespace
}  // namespace tact::policy
