#include "daemon/policy/evaluate.h"

#include <gtest/gtest.h>

#include "daemon/policy/parse.h"

namespace tact::policy {
namespace {

Policy MustParse(const std::string& yaml) {
  absl::StatusOr<Policy> p = ParsePolicy({{"test.yaml", yaml}});
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : Policy{};
}

Event MakeEvent(MessageClass cls, Channel ch = v1::EMAIL) {
  Event e;
  e.event_id = "e1";
  e.tenant = "acme";
  e.customer_id = "c1";
  e.channel = ch;
  e.message_class = cls;
  e.campaign_id = "camp";
  return e;
}

const absl::Time kNow = absl::FromUnixSeconds(1'795'000'000);
Plan Ev(const Policy& p, const Event& e) { return Evaluate(p, e, kNow); }

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
  const Plan plan = Ev(p, MakeEvent(v1::PROACTIVE_SERVICE));
  EXPECT_EQ(plan.matched_rules, (std::vector<std::string>{"proactive", "any-class"}));
  ASSERT_EQ(plan.limits.size(), 2u);
  EXPECT_EQ(plan.limits[0].counter, "r:proactive");
  EXPECT_EQ(plan.limits[0].window, absl::Hours(24 * 7));
  EXPECT_EQ(plan.limits[1].counter, "r:any-class:EMAIL");
}

TEST(EvaluateTest, TransactionalIsExemptUnlessNamed) {
  const Policy p = MustParse(kPolicy);
  EXPECT_TRUE(Ev(p, MakeEvent(v1::TRANSACTIONAL)).matched_rules.empty());
  const Policy named = MustParse(R"(
version: "1"
rules:
  - id: tx
    description: receipts too
    match: { message_class: [TRANSACTIONAL] }
    limit: { count: 100, window: 1h }
)");
  EXPECT_EQ(Ev(named, MakeEvent(v1::TRANSACTIONAL)).matched_rules, std::vector<std::string>{"tx"});
}

TEST(EvaluateTest, ChannelMismatchDoesNotMatch) {
  const Policy p = MustParse(kPolicy);
  EXPECT_EQ(Ev(p, MakeEvent(v1::PROACTIVE_SERVICE, v1::SMS)).matched_rules,
            std::vector<std::string>{"any-class"});
}

TEST(DecideTest, FirstExceededEnforcingLimitDecides) {
  const Policy p = MustParse(kPolicy);
  const Plan plan = Ev(p, MakeEvent(v1::PROACTIVE_SERVICE));
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

}  // namespace
}  // namespace tact::policy
