// policy::DiffPolicies: each kind of rule change and its direction (loosened lets more messages through).
#include "daemon/policy/diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "daemon/policy/parse.h"

namespace tact::policy {
namespace {

using testing::ElementsAre;

Policy Parse(const std::string& rules, const std::string& version = "v1") {
  absl::StatusOr<Policy> p = ParsePolicy({{"p.yaml", "version: \"" + version + "\"\nrules:\n" + rules}});
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : Policy{};
}

constexpr char kDaily[] = R"(  - id: promo-daily
    description: one a day
    match: { message_class: PROMOTION }
    limit: { count: 1, kind: calendar, window: day }
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The rule's change and its aspects as "kind: what" lines.
std::vector<std::string> Aspects(const PolicyDiff& d) {
  std::vector<std::string> out;
  for (const RuleChange& r : d.rules) {
    out.push_back(r.rule + " " + std::string(ChangeKindName(r.kind)));
    for (const AspectChange& a : r.aspects) out.push_back("  " + std::string(ChangeKindName(a.kind)) + ": " + a.what);
  }
  return out;
}

TEST(PolicyDiffTest, TheSameSetHasNoChange) {
  const PolicyDiff d = DiffPolicies(Parse(kDaily), Parse(kDaily, "v2"));
  EXPECT_TRUE(d.rules.empty());
  EXPECT_TRUE(d.classes.empty());
  EXPECT_EQ(d.from_version, "v1");
  EXPECT_EQ(d.to_version, "v2");
}

TEST(PolicyDiffTest, LimitChangesHaveADirection) {
  const Policy base = Parse(kDaily);
  EXPECT_THAT(Aspects(DiffPolicies(base, Parse(Replace(kDaily, "count: 1", "count: 2")))),
              ElementsAre("promo-daily loosened", "  loosened: limit count 1 -> 2"));
  EXPECT_THAT(Aspects(DiffPolicies(base, Parse(Replace(kDaily, "window: day", "window: week")))),
              ElementsAre("promo-daily tightened", "  tightened: limit window calendar day -> calendar week"));
  EXPECT_THAT(Aspects(DiffPolicies(base, Parse(Replace(kDaily, "window: day }", "window: day, scope: customer+channel }")))),
              ElementsAre("promo-daily loosened", "  loosened: limit scope customer -> customer+channel"));
  EXPECT_THAT(Aspects(DiffPolicies(base, Parse(Replace(kDaily, "kind: calendar, window: day", "window: 1d")))),
              ElementsAre("promo-daily changed", "  changed: limit window calendar day -> rolling 1d"));
  const std::string rolling = Replace(kDaily, "kind: calendar, window: day", "window: 7d");
  EXPECT_THAT(Aspects(DiffPolicies(Parse(rolling), Parse(Replace(rolling, "7d", "3d")))),
              ElementsAre("promo-daily loosened", "  loosened: limit window rolling 7d -> rolling 3d"));
}

TEST(PolicyDiffTest, ShadowDeferAndMatchChangesHaveADirection) {
  const Policy base = Parse(kDaily);
  EXPECT_THAT(Aspects(DiffPolicies(base, Parse(absl::StrCat(kDaily, "    mode: shadow\n")))),
              ElementsAre("promo-daily loosened", "  loosened: mode enforce -> shadow"));
  EXPECT_THAT(Aspects(DiffPolicies(base, Parse(absl::StrCat(kDaily, "    on_exceed: defer\n")))),
              ElementsAre("promo-daily loosened", "  loosened: on_exceed suppress -> defer"));
  EXPECT_THAT(
      Aspects(DiffPolicies(base, Parse(Replace(kDaily, "PROMOTION }", "[PROMOTION, PROACTIVE_SERVICE] }")))),
      ElementsAre("promo-daily tightened",
                  "  tightened: match message_class [PROMOTION] -> [PROACTIVE_SERVICE, PROMOTION]"));
  EXPECT_THAT(Aspects(DiffPolicies(base, Parse(Replace(kDaily, "PROMOTION }", "PROMOTION, channel: EMAIL }")))),
              ElementsAre("promo-daily loosened",
                          "  loosened: match channel [EMAIL, IN_APP, PUSH, SMS] -> [EMAIL]"));
}

TEST(PolicyDiffTest, AddedRemovedAndSuppressIfRulesNameTheirEffectAndClasses) {
  constexpr char kCsat[] = R"(  - id: low-csat
    description: unhappy customers get no promotions
    match: { message_class: PROMOTION }
    suppress_if: { csat_at_most: 2, csat_within: 30d }
)";
  const PolicyDiff added = DiffPolicies(Parse(kDaily), Parse(absl::StrCat(kDaily, kCsat)));
  ASSERT_EQ(added.rules.size(), 1u);
  EXPECT_EQ(added.rules[0].kind, ChangeKind::kAdded);
  EXPECT_EQ(added.rules[0].rule, "low-csat");
  EXPECT_EQ(added.rules[0].where, "p.yaml:7");
  EXPECT_THAT(added.rules[0].classes, ElementsAre("PROMOTION"));
  EXPECT_THAT(added.rules[0].effect, testing::StartsWith("suppress_if "));
  const PolicyDiff removed = DiffPolicies(Parse(absl::StrCat(kDaily, kCsat)), Parse(kDaily));
  ASSERT_EQ(removed.rules.size(), 1u);
  EXPECT_EQ(removed.rules[0].kind, ChangeKind::kRemoved);
  EXPECT_EQ(removed.count(ChangeKind::kRemoved), 1);
  EXPECT_THAT(removed.classes, ElementsAre("PROMOTION"));

  EXPECT_THAT(Aspects(DiffPolicies(Parse(kCsat), Parse(Replace(kCsat, "csat_at_most: 2", "csat_at_most: 1")))),
              ElementsAre("low-csat loosened", "  loosened: suppress_if csat_at_most 2 -> 1"));
  EXPECT_THAT(Aspects(DiffPolicies(Parse(kCsat), Parse(Replace(kCsat, "30d }", "30d, open_complaint: true }")))),
              ElementsAre("low-csat tightened", "  tightened: suppress_if open_complaint added"));
}

TEST(PolicyDiffTest, ARuleWithoutAClassListConcernsEveryClassButTransactional) {
  const std::string any = Replace(kDaily, "    match: { message_class: PROMOTION }\n", "");
  const PolicyDiff d = DiffPolicies(Parse(any), Parse(Replace(any, "count: 1", "count: 3")));
  EXPECT_THAT(d.classes, ElementsAre("PROACTIVE_SERVICE", "PROMOTION", "SERVICE"));
}

}  // namespace
}  // namespace tact::policy
