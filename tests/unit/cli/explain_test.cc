#include "daemon/cli/explain.h"

#include <gtest/gtest.h>

#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

constexpr char kPromo[] =
    R"({"eventId":"e-1","tenant":"acme","customerId":"maria","channel":"EMAIL","messageClass":"PROMOTION",)"
    R"("createdAt":"2026-11-20T10:00:00Z"})";
constexpr char kNightSms[] =
    R"({"eventId":"e-2","tenant":"acme","customerId":"maria","channel":"SMS","messageClass":"PROMOTION",)"
    R"("createdAt":"2026-11-20T22:00:00Z"})";

class ExplainTest : public ::testing::Test {
 protected:
  ExplainTest() : policy_(dir_.path() + "/policy") { dir_.Write("policy/p.yaml", testing::kSmallPolicy); }
  int Run(ExplainArgs args) {
    args.policy_dir = policy_;
    return Explain(args, clock_, c_.io);
  }
  ScratchDir dir_;
  std::string policy_;
  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  Captured c_;
};

TEST_F(ExplainTest, TextTraceOfAnEmptyCustomer) {
  ASSERT_EQ(Run({.event = kPromo}), kExitOk) << c_.err.str();
  const std::string out = c_.out.str();
  EXPECT_THAT(out, HasSubstr("event e-1  PROMOTION EMAIL  tenant acme  at 2026-11-20T10:00:00+00:00 "
                             "(customer zone UTC)\npolicy t.1  digest "));
  EXPECT_THAT(out, HasSubstr("  (customer state: empty; offline)\n\n"
                             "precedence: suppress_if, then limits, then quiet_hours; within each, policy order\n"
                             "  +   promo-csat                       suppress_if: CSAT 2 or lower within 30d: no\n"
                             "  +   promo-1-per-day                  limit: 1 per calendar day: 0 used "
                             "[c:promo-1-per-day:2026-11-20]\n"
                             "  -   sms-quiet                        no match: channel EMAIL not in [SMS] [shadow]\n"
                             "\ndecision: RELEASE — within every limit\n"));
  EXPECT_EQ(c_.err.str(), "");
}

TEST_F(ExplainTest, UsageFromStateDecidesAndTheJsonKeysStay) {
  const std::string state = dir_.Write("state.yaml", "usage: { promo-1-per-day: 1 }\n");
  ASSERT_EQ(Run({.event = kPromo, .state = state, .json = true}), kExitOk) << c_.err.str();
  const json j = json::parse(c_.out.str());
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_THAT(keys, ::testing::ElementsAre("at", "decision", "event_id", "matched_rules", "policy_digest",
                                           "policy_version", "reason", "rule", "rules", "shadow", "state",
                                           "timezone"));
  EXPECT_EQ(j["decision"], "SUPPRESS");
  EXPECT_EQ(j["rule"], "promo-1-per-day");
  EXPECT_EQ(j["state"], json({{"source", state}, {"signals", 0}, {"messages", 0},
                              {"usage", {{"promo-1-per-day", 1}}}}));
  ASSERT_EQ(j["rules"].size(), 3u);
  EXPECT_EQ(j["rules"][1], json({{"rule", "promo-1-per-day"}, {"source", policy_ + "/p.yaml:12"},
                                 {"mode", "enforce"}, {"matched", true}, {"effect", "limit"},
                                 {"check", "1 per calendar day: 1 used (full) [c:promo-1-per-day:2026-11-20]"},
                                 {"applies", true}, {"decided", true}}));
  EXPECT_EQ(j["rules"][2], json({{"rule", "sms-quiet"}, {"source", policy_ + "/p.yaml:22"}, {"mode", "shadow"},
                                 {"matched", false}, {"why_not", "channel EMAIL not in [SMS]"}}));
}

TEST_F(ExplainTest, StateStepsAreReplayedBeforeTheExplainedTime) {
  const std::string state = dir_.Write("state.yaml", R"(
steps:
  - at: 2026-11-18T09:00:00Z
    signal: { kind: csat, value: 1 }
  - at: 2026-11-20T08:00:00Z
    send: { channel: EMAIL, class: PROMOTION }
)");
  ASSERT_EQ(Run({.event = kPromo, .state = state}), kExitOk) << c_.err.str();
  EXPECT_THAT(c_.out.str(), HasSubstr("(customer state: " + state +
                                      ": 1 signal(s), 1 earlier message(s), usage given for 0 rule(s); offline)"));
  EXPECT_THAT(c_.out.str(), HasSubstr("  =>  promo-csat                       suppress_if: CSAT 2 or lower within "
                                      "30d: holds\n"));
  EXPECT_THAT(c_.out.str(),
              HasSubstr("decision: SUPPRESS by promo-csat — customer signal: CSAT 2 or lower within 30d\n"));
}

TEST_F(ExplainTest, ShadowQuietHoursAreReportedNotDecisive) {
  ASSERT_EQ(Run({.event = kNightSms}), kExitOk) << c_.err.str();
  EXPECT_THAT(c_.out.str(), HasSubstr("  !   sms-quiet                        quiet_hours: "
                                      "quiet hours 21:00-08:00 UTC: in force until 2026-11-21T08:00:00Z [shadow]\n"));
  EXPECT_THAT(c_.out.str(), HasSubstr("\ndecision: RELEASE — within every limit; shadow rule 'sms-quiet' would "
                                      "have constrained it\n"
                                      "shadow: sms-quiet would have DEFER — quiet hours 21:00-08:00 UTC\n"));
}

TEST_F(ExplainTest, WithoutCreatedAtOrAtItExplainsAtTheClocksNow) {
  constexpr char kNoTime[] = R"({"eventId":"e-3","tenant":"acme","customerId":"maria","channel":"EMAIL",)"
                             R"("messageClass":"PROMOTION"})";
  ASSERT_EQ(Run({.event = kNoTime, .json = true}), kExitOk) << c_.err.str();
  EXPECT_EQ(json::parse(c_.out.str())["at"], Rfc3339(clock_.Now()));
  c_.out.str("");
  ASSERT_EQ(Run({.event = kNoTime, .at = "2026-11-21T07:00:00Z", .json = true}), kExitOk);
  EXPECT_EQ(json::parse(c_.out.str())["at"], "2026-11-21T07:00:00+00:00");
}

TEST_F(ExplainTest, BadInputIsAUsageErrorNamingIt) {
  EXPECT_EQ(Run({.event = kPromo, .at = "tomorrow"}), kExitUsage);
  EXPECT_EQ(c_.err.str(), "tactctl explain: --at: bad time 'tomorrow' (expected RFC 3339)\n");
  c_.err.str("");
  EXPECT_EQ(Run({.event = R"({"eventId":"e"})"}), kExitUsage);
  EXPECT_THAT(c_.err.str(), HasSubstr("tactctl explain: --event: "));
  c_.err.str("");
  EXPECT_EQ(Run({.event = kPromo, .state = dir_.path() + "/missing.yaml"}), kExitUsage);
  EXPECT_EQ(c_.err.str(), "tactctl explain: --state: cannot read " + dir_.path() + "/missing.yaml\n");
  c_.err.str("");
  const std::string later =
      dir_.Write("later.yaml", "steps:\n  - at: 2026-11-21T00:00:00Z\n    signal: { kind: opt_out }\n");
  EXPECT_EQ(Run({.event = kPromo, .state = later}), kExitUsage);
  EXPECT_THAT(c_.err.str(), HasSubstr(later + ":2: step at 2026-11-21T00:00:00+00:00 is after the explained time"));
  EXPECT_EQ(c_.out.str(), "");
}

TEST_F(ExplainTest, EventFromAFile) {
  const std::string file = dir_.Write("event.json", kPromo);
  ASSERT_EQ(Run({.event = file, .json = true}), kExitOk) << c_.err.str();
  EXPECT_EQ(json::parse(c_.out.str())["event_id"], "e-1");
}

}  // namespace
}  // namespace tact::cli
