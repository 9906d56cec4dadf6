// Policy test files (policies/default/tests/*.yaml) and explain --state files: strict like the policies. Each mistake
// has a fixture in tests/fixtures/policy-tests/bad/ and its exact message here.
#include "daemon/decision/policy_test_runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace tact::decision {
namespace {

const std::string kBadDir = std::string(TACT_SOURCE_DIR) + "/tests/fixtures/policy-tests/bad";

std::string ReadFixture(const std::string& name) {
  std::ifstream in(kBadDir + "/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct BadCase {
  const char* fixture;
  bool state;  // an explain --state file (else a policy test file)
  const char* message;
};

// clang-format off
constexpr BadCase kBadCases[] = {
  {"unknown-customer-timezone.yaml", false,
   "unknown-customer-timezone.yaml:3:52: customer.timezone: unknown time zone 'Europe/Berlim' (expected an IANA name such as Europe/Berlin)"},
  {"unknown-send-timezone.yaml", false,
   "unknown-send-timezone.yaml:5:61: send.timezone: unknown time zone 'Central Europe' (expected an IANA name such as Europe/Berlin)"},
  {"unknown-state-timezone.yaml", true,
   "unknown-state-timezone.yaml:1:23: customer.timezone: unknown time zone 'Mars/Olympus_Mons' (expected an IANA name such as Europe/Berlin)"},
  {"unknown-state-send-timezone.yaml", true,
   "unknown-state-send-timezone.yaml:3:65: send.timezone: unknown time zone 'Europe/Atlantis' (expected an IANA name such as Europe/Berlin)"},
};
// clang-format on

TEST(PolicyTestFileTest, MistakesFailWithExactMessages) {
  for (const BadCase& c : kBadCases) {
    SCOPED_TRACE(c.fixture);
    const std::string text = ReadFixture(c.fixture);
    ASSERT_FALSE(text.empty());
    const absl::Status s = c.state ? ParseCustomerState(c.fixture, text, "acme", "maria", "").status()
                                   : ParsePolicyTests(c.fixture, text).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(s.message()), c.message);
  }
}

TEST(PolicyTestFileTest, EveryFixtureHasAnExpectedMessage) {
  std::set<std::string> listed;
  for (const BadCase& c : kBadCases) listed.insert(c.fixture);
  for (const auto& e : std::filesystem::directory_iterator(kBadDir)) {
    EXPECT_TRUE(listed.count(e.path().filename().string())) << "no expected message for " << e.path();
  }
}

// Known zones are kept as written: the customer's, and a message's own.
TEST(PolicyTestFileTest, KnownZonesAreKept) {
  absl::StatusOr<std::vector<PolicyTestCase>> cases = ParsePolicyTests("ok.yaml", R"(tests:
  - name: zones
    customer: { timezone: Asia/Tokyo }
    steps:
      - at: 2026-11-20T09:00:00Z
        send: { channel: EMAIL, class: PROMOTION }
        expect: RELEASE
      - at: 2026-11-20T09:01:00Z
        send: { channel: EMAIL, class: PROMOTION, timezone: America/New_York }
        expect: RELEASE
)");
  ASSERT_TRUE(cases.ok()) << cases.status();
  ASSERT_EQ(cases->size(), 1u);
  ASSERT_EQ(cases->front().steps.size(), 2u);
  EXPECT_EQ(cases->front().steps[0].event->customer_timezone, "Asia/Tokyo");
  EXPECT_EQ(cases->front().steps[1].event->customer_timezone, "America/New_York");
}

}  // namespace
}  // namespace tact::decision
