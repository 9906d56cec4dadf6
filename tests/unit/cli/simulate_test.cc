#include "daemon/cli/simulate.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

std::string EventLine(const char* id, const char* channel, const char* message_class, const char* at) {
  return absl::StrCat(R"({"eventId":")", id, R"(","tenant":"t","customerId":"c","channel":")", channel,
                      R"(","messageClass":")", message_class, R"(","createdAt":")", at, "\"}\n");
}

const std::string kEvents = EventLine("a", "EMAIL", "PROMOTION", "2026-11-20T09:00:00Z") +
                            EventLine("b", "EMAIL", "PROMOTION", "2026-11-20T10:00:00Z") + "\n" +
                            EventLine("s", "SMS", "SERVICE", "2026-11-20T22:00:00Z");

TEST(ParseSimInputsTest, EventsAndSignalsSortedByTimeWithTheirLines) {
  const std::string text = absl::StrReplaceAll(
      kEvents, {{"\n\n", "\n{\"signal\":{\"tenant\":\"t\",\"customerId\":\"c\",\"kind\":\"csat\",\"value\":1,"
                         "\"at\":\"2026-11-20T08:00:00Z\"}}\n"}});
  absl::StatusOr<std::vector<SimInput>> in = ParseSimInputs("ev.jsonl", text);
  ASSERT_TRUE(in.ok()) << in.status();
  ASSERT_EQ(in->size(), 4u);
  EXPECT_EQ((*in)[0].line, 3);
  ASSERT_TRUE((*in)[0].signal.has_value());
  EXPECT_EQ((*in)[0].signal->csat, 1);
  EXPECT_EQ((*in)[1].event->event_id, "a");
  EXPECT_EQ((*in)[3].line, 4);
}

TEST(ParseSimInputsTest, ErrorsNameFileAndLine) {
  EXPECT_EQ(ParseSimInputs("ev.jsonl", "\nnot json\n").status().message(), "ev.jsonl:2: not a JSON object");
  EXPECT_EQ(ParseSimInputs("ev.jsonl", R"({"signal":{"kind":"nope"}})").status().message(),
            "ev.jsonl:1: signal.kind: unknown or missing");
  EXPECT_EQ(ParseSimInputs("ev.jsonl", R"({"signal":{"kind":"opt_out"}})").status().message(),
            "ev.jsonl:1: signal.at: required RFC 3339 time");
  EXPECT_EQ(ParseSimInputs("ev.jsonl", R"({"eventId":"a","tenant":"t","customerId":"c","channel":"EMAIL",)"
                                       R"("messageClass":"PROMOTION"})")
                .status()
                .message(),
            "ev.jsonl:1: createdAt: required");
}

class SimulateTest : public ::testing::Test {
 protected:
  SimulateTest() {
    dir_.Write("p/p.yaml", testing::kSmallPolicy);
    dir_.Write("q/p.yaml", absl::StrReplaceAll(testing::kSmallPolicy, {{"count: 1", "count: 2"}}));
    events_ = dir_.Write("ev.jsonl", kEvents);
  }
  ScratchDir dir_;
  std::string events_;
  Captured c_;
};

TEST_F(SimulateTest, TablesPerRuleAndClassAndShadow) {
  ASSERT_EQ(Simulate({.policy_dir = dir_.path() + "/p", .events = events_}, c_.io), kExitOk) << c_.err.str();
  EXPECT_EQ(c_.out.str(),
            "policy t.1: 3 event(s) replayed from " + events_ + "\n"
            "totals: 2 RELEASE, 1 SUPPRESS\n"
            "\nby deciding rule ('-' = no rule constrained it):\n"
            "                                      RELEASE    DEFER SUPPRESS\n"
            "  -                                         2        0        0\n"
            "  promo-1-per-day                           0        0        1\n"
            "\nby message class:\n"
            "                                      RELEASE    DEFER SUPPRESS\n"
            "  PROMOTION                                 1        0        1\n"
            "  SERVICE                                   1        0        0\n"
            "\nshadow rules, what they would have done:\n"
            "                                      RELEASE    DEFER SUPPRESS\n"
            "  sms-quiet                                 0        1        0\n");
}

TEST_F(SimulateTest, CompareListsTheDecisionsThatChange) {
  const SimulateArgs args{.policy_dir = dir_.path() + "/p", .events = events_, .compare_dir = dir_.path() + "/q"};
  ASSERT_EQ(Simulate(args, c_.io), kExitOk) << c_.err.str();
  EXPECT_THAT(c_.out.str(), HasSubstr("\ncompared with policy t.1 (" + dir_.path() +
                                      "/q): 1 decision(s) change\n  " + events_ +
                                      ":2  b                            SUPPRESS by promo-1-per-day -> RELEASE\n"));
  Captured j;
  SimulateArgs as_json = args;
  as_json.json = true;
  ASSERT_EQ(Simulate(as_json, j.io), kExitOk);
  const json out = json::parse(j.out.str());
  EXPECT_EQ(out["events"], 3);
  EXPECT_EQ(out["totals"], json({{"RELEASE", 2}, {"SUPPRESS", 1}}));
  EXPECT_EQ(out["per_rule"]["promo-1-per-day"], json({{"SUPPRESS", 1}}));
  EXPECT_EQ(out["shadow_would_have"]["sms-quiet"], json({{"DEFER", 1}}));
  EXPECT_EQ(out["compare"]["changed"],
            json::array({{{"line", 2}, {"event_id", "b"}, {"before", "SUPPRESS by promo-1-per-day"},
                          {"after", "RELEASE"}}}));
  EXPECT_EQ(out["compare"]["totals"], json({{"RELEASE", 3}}));
}

TEST_F(SimulateTest, UnreadableInputIsAUsageError) {
  EXPECT_EQ(Simulate({.policy_dir = dir_.path() + "/p", .events = dir_.path() + "/none"}, c_.io), kExitUsage);
  EXPECT_EQ(c_.err.str(), "tactctl simulate: " + dir_.path() + "/none: cannot read\n");
  EXPECT_EQ(c_.out.str(), "");
}

}  // namespace
}  // namespace tact::cli
