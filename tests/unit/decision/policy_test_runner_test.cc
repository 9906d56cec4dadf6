#include "daemon/decision/policy_test_runner.h"

#include <gtest/gtest.h>

namespace tact::decision {
namespace {

// A policy test's customer or message zone is checked like an event's: an unknown one is an error at its line,
// never a test run in another zone.
TEST(ParsePolicyTestsTest, UnknownTimeZoneIsAnErrorAtItsLine) {
  const std::string text = R"(tests:
  - name: misspelt zone
    customer: { tenant: acme, id: maria, timezone: America/Los_Angles }
    steps:
      - at: 2026-11-18T08:10:00Z
        send: { channel: SMS, class: PROMOTION }
        expect: RELEASE
  - name: misspelt zone on the message
    steps:
      - at: 2026-11-18T08:10:00Z
        send: { channel: SMS, class: PROMOTION, timezone: Europe/Berlinn }
        expect: RELEASE
)";
  absl::StatusOr<std::vector<PolicyTestCase>> cases = ParsePolicyTests("t.yaml", text);
  ASSERT_FALSE(cases.ok());
  EXPECT_EQ(cases.status().message(), "t.yaml:3:52: customer.timezone: unknown time zone");
  const size_t second = text.find("  - name: misspelt zone on");
  cases = ParsePolicyTests("t.yaml", "tests:\n" + text.substr(second));
  ASSERT_FALSE(cases.ok());
  EXPECT_EQ(cases.status().message(), "t.yaml:5:59: send.timezone: unknown time zone");
  const std::string good = R"(tests:
  - name: known zone
    customer: { timezone: America/Los_Angeles }
    steps:
      - at: 2026-11-18T08:10:00Z
        send: { channel: SMS, class: PROMOTION }
        expect: RELEASE
)";
  EXPECT_TRUE(ParsePolicyTests("t.yaml", good).ok());
}

}  // namespace
}  // namespace tact::decision
