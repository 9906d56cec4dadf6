// tactctl lint / explain as a user runs them: the built binary, its exit code, its exact output.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/support/process.h"

namespace tact {
namespace {

using nlohmann::json;
using testing::Subprocess;
using testing::TempDir;

using testing::CliRun;

CliRun Tactctl(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), TACTCTL_BIN);
  return testing::RunCli(dir, std::move(args));
}

std::string WriteFile(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.path() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

const std::string kFixtures = std::string(TACT_SOURCE_DIR) + "/tests/fixtures/policies/";
const std::string kDefault = std::string(TACT_SOURCE_DIR) + "/policies/default";

TEST(PolicyCliTest, LintPrintsEveryErrorSortedWithACount) {
  TempDir dir;
  const CliRun r = Tactctl(dir, {"lint", kFixtures + "lint-many"});
  EXPECT_EQ(r.exit_code, 1);
  std::string want = testing::ReadFile(kFixtures + "lint-many/expected.txt");
  const size_t errors = std::count(want.begin(), want.end(), '\n');
  absl::StrAppend(&want, errors, " error(s)\n");
  EXPECT_EQ(absl::StrReplaceAll(r.output, {{kFixtures, ""}}), want);

  const CliRun j = Tactctl(dir, {"lint", "--json", kFixtures + "lint-many"});
  EXPECT_EQ(j.exit_code, 1);
  const json out = json::parse(j.output);
  EXPECT_FALSE(out["ok"].get<bool>());
  EXPECT_EQ(out["errors"].size(), errors);
}

TEST(PolicyCliTest, LintOfTheDefaultPoliciesIsClean) {
  TempDir dir;
  const CliRun r = Tactctl(dir, {"lint", kDefault});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

constexpr char kEvent[] =
    R"({"eventId":"e-now","tenant":"acme","customerId":"maria","channel":"EMAIL","messageClass":"PROMOTION",)"
    R"("customerTimezone":"Europe/Berlin","createdAt":"2026-11-20T10:00:00Z"})";

TEST(PolicyCliTest, ExplainWithoutStateReleases) {
  TempDir dir;
  const CliRun r = Tactctl(dir, {"explain", "--policy", kDefault, "--event", kEvent, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_EQ(j["decision"], "RELEASE");
  EXPECT_EQ(j["state"]["source"], "empty");
}

TEST(PolicyCliTest, ExplainReplaysTheCustomersEarlierMessagesAndSignals) {
  TempDir dir;
  // One promotion already went out today (Berlin): the daily cap decides.
  const std::string sent = WriteFile(dir, "sent.yaml", R"(
steps:
  - at: 2026-11-20T08:00:00Z
    send: { channel: SMS, class: PROMOTION, campaign: winter }
)");
  CliRun r = Tactctl(dir, {"explain", "--policy", kDefault, "--event", kEvent, "--state", sent, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  json j = json::parse(r.output);
  EXPECT_EQ(j["decision"], "SUPPRESS");
  EXPECT_EQ(j["rule"], "promotion-1-per-day");
  EXPECT_EQ(j["state"]["messages"], 1);
  for (const json& rule : j["rules"]) {
    if (rule["rule"] == "promotion-1-per-day") {
      EXPECT_TRUE(rule["decided"].get<bool>());
      EXPECT_EQ(rule["check"].get<std::string>().substr(0, 30), "1 per calendar day: 1 used (fu");
    }
  }
  // A bad CSAT two days ago (JSON state): suppressed by the signal, which comes before limits.
  const std::string unhappy = WriteFile(dir, "unhappy.json",
                                        R"({"steps": [{"at": "2026-11-18T09:00:00Z", "signal": {"kind": "csat", "value": 2}}]})");
  r = Tactctl(dir, {"explain", "--policy", kDefault, "--event", kEvent, "--state", unhappy});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("customer state: " + unhappy + ": 1 signal(s), 0 earlier message(s)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("decision: SUPPRESS by promotion-low-csat — customer signal: CSAT 2 or lower within 30d"),
            std::string::npos)
      << r.output;
}

TEST(PolicyCliTest, ExplainTakesCounterUsagePerRule) {
  TempDir dir;
  const std::string state = WriteFile(dir, "usage.yaml", "usage: { promotion-3-per-week: 3 }\n");
  CliRun r = Tactctl(dir, {"explain", "--policy", kDefault, "--event", kEvent, "--state", state});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("decision: SUPPRESS by promotion-3-per-week — cap 3 per calendar week reached (3 used)"),
            std::string::npos)
      << r.output;
  // A rule that is not a limit on this event, or a step after the explained time: usage errors (exit 2).
  const std::string wrong = WriteFile(dir, "wrong.yaml", "usage: { sms-push-quiet-hours: 1 }\n");
  r = Tactctl(dir, {"explain", "--policy", kDefault, "--event", kEvent, "--state", wrong});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("usage: rule 'sms-push-quiet-hours' is not a limit that applies to this event"),
            std::string::npos)
      << r.output;
  const std::string later = WriteFile(dir, "later.yaml", R"(
steps:
  - at: 2026-11-21T08:00:00Z
    signal: { kind: opt_out }
)");
  r = Tactctl(dir, {"explain", "--policy", kDefault, "--event", kEvent, "--state", later});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("is after the explained time"), std::string::npos) << r.output;
}

TEST(PolicyCliTest, EveryPolicyVerbHasHelp) {
  TempDir dir;
  for (const char* verb : {"lint", "test", "explain", "simulate"}) {
    const CliRun r = Tactctl(dir, {verb, "--help"});
    EXPECT_EQ(r.exit_code, 0) << verb;
    EXPECT_NE(r.output.find("--json"), std::string::npos) << verb << ": " << r.output;
  }
}

// A symlink loop in the policy directory used to abort tactctl (exit 134, an uncaught filesystem_error). Now:
// the path and what is wrong on stderr, exit 2 (unreadable input), for lint, test and explain; in the tests
// directory for test.
TEST(PolicyCliTest, SymlinkLoopIsAnUnreadableInputError) {
  TempDir dir;
  const std::string policies = dir.path() + "/policies";
  ASSERT_TRUE(std::filesystem::create_directories(policies + "/tests"));
  std::filesystem::copy_file(kDefault + "/customer-care.yaml", policies + "/customer-care.yaml");
  const std::string loop = policies + "/loop.yaml";
  ASSERT_EQ(symlink(loop.c_str(), loop.c_str()), 0);
  const std::string want = loop + ": cannot be read: Too many levels of symbolic links\n";
  CliRun r = Tactctl(dir, {"lint", policies});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, "tactctl lint: " + want);
  r = Tactctl(dir, {"lint", "--json", policies});
  EXPECT_EQ(r.exit_code, 2);
  r = Tactctl(dir, {"test", policies});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, want);
  r = Tactctl(dir, {"explain", "--policy", policies, "--event", kEvent});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(want), std::string::npos) << r.output;

  std::filesystem::remove(loop);
  const std::string test_loop = policies + "/tests/loop.yaml";
  ASSERT_EQ(symlink(test_loop.c_str(), test_loop.c_str()), 0);
  EXPECT_EQ(Tactctl(dir, {"lint", policies}).exit_code, 0);  // lint reads the policy files only
  r = Tactctl(dir, {"test", policies});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, test_loop + ": cannot be read: Too many levels of symbolic links\n");

  std::filesystem::remove(test_loop);  // tests/ itself a loop
  std::filesystem::remove(policies + "/tests");
  ASSERT_EQ(symlink((policies + "/tests").c_str(), (policies + "/tests").c_str()), 0);
  r = Tactctl(dir, {"test", policies});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, policies + "/tests: cannot be read: Too many levels of symbolic links\n");
}

}  // namespace
}  // namespace tact
