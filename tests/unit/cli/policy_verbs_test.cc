#include "daemon/cli/policy_verbs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

using ::testing::StartsWith;

const std::string kFixtures = testing::SourceDir() + "/tests/fixtures/policies/";

TEST(LintTest, CleanPolicyPrintsOneOkLine) {
  ScratchDir dir;
  dir.Write("p/p.yaml", testing::kSmallPolicy);
  Captured c;
  ASSERT_EQ(Lint({.dir = dir.path() + "/p"}, c.io), kExitOk) << c.err.str();
  EXPECT_THAT(c.out.str(), StartsWith(dir.path() + "/p: ok — policy version t.1, 3 rule(s), digest "));
  EXPECT_EQ(c.err.str(), "");
}

TEST(LintTest, EveryErrorSortedThenTheCount) {
  Captured c;
  ASSERT_EQ(Lint({.dir = kFixtures + "lint-many"}, c.io), kExitFailed);
  std::string want = ReadText(kFixtures + "lint-many/expected.txt").value_or("?");
  const size_t errors = std::count(want.begin(), want.end(), '\n');
  absl::StrAppend(&want, errors, " error(s)\n");
  EXPECT_EQ(absl::StrReplaceAll(c.err.str(), {{kFixtures, ""}}), want);
  EXPECT_EQ(c.out.str(), "");

  Captured j;
  ASSERT_EQ(Lint({.dir = kFixtures + "lint-many", .json = true}, j.io), kExitFailed);
  const json out = json::parse(j.out.str());
  EXPECT_EQ(out["ok"], false);
  EXPECT_EQ(out["dir"], kFixtures + "lint-many");
  EXPECT_EQ(out["errors"].size(), errors);
  EXPECT_FALSE(out.contains("digest"));
}

TEST(LintTest, JsonOfACleanPolicyHasVersionDigestAndRules) {
  ScratchDir dir;
  dir.Write("p/p.yaml", testing::kSmallPolicy);
  Captured c;
  ASSERT_EQ(Lint({.dir = dir.path() + "/p", .json = true}, c.io), kExitOk);
  const json out = json::parse(c.out.str());
  EXPECT_EQ(out["ok"], true);
  EXPECT_EQ(out["version"], "t.1");
  EXPECT_EQ(out["rules"], 3);
  EXPECT_EQ(out["digest"].get<std::string>().size(), 64u);
}

TEST(LintTest, EmptyOrMissingDirectory) {
  ScratchDir dir;
  Captured c;
  EXPECT_EQ(Lint({.dir = dir.path()}, c.io), kExitFailed);
  EXPECT_EQ(c.err.str(), dir.path() + ": no policy files (expected *.yaml)\n");
  Captured m;
  EXPECT_EQ(Lint({.dir = dir.path() + "/none"}, m.io), kExitUsage);
  EXPECT_THAT(m.err.str(), StartsWith("tactctl lint: "));
}

constexpr char kTests[] = R"(tests:
  - name: one a day
    customer: { timezone: UTC }
    steps:
      - { at: 2026-11-20T09:00:00Z, send: { channel: EMAIL, class: PROMOTION }, expect: RELEASE }
      - { at: 2026-11-20T10:00:00Z, send: { channel: EMAIL, class: PROMOTION },
          expect: { decision: SUPPRESS, rule: promo-1-per-day } }
  - name: wrong on purpose
    customer: { timezone: UTC }
    steps:
      - { at: 2026-11-20T09:00:00Z, send: { channel: EMAIL, class: PROMOTION }, expect: SUPPRESS }
)";

TEST(PolicyTestTest, PassAndFailPerCaseWithASummary) {
  ScratchDir dir;
  dir.Write("p/p.yaml", testing::kSmallPolicy);
  const std::string tests = dir.Write("p/tests/t.yaml", kTests);  // <dir>/tests: the default
  Captured c;
  ASSERT_EQ(cli::Test({.dir = dir.path() + "/p"}, c.io), kExitFailed);
  const std::string out = c.out.str();
  EXPECT_THAT(out, HasSubstr("PASS " + tests + ":2: one a day\n"));
  EXPECT_THAT(out, HasSubstr("FAIL " + tests + ":8: wrong on purpose\n     "));
  EXPECT_THAT(out, HasSubstr("\n1 passed, 1 failed (policy t.1, tests " + dir.path() + "/p/tests)\n"));

  Captured j;
  ASSERT_EQ(cli::Test({.dir = dir.path() + "/p", .json = true}, j.io), kExitFailed);
  const json out_json = json::parse(j.out.str());
  EXPECT_EQ(out_json["policy_version"], "t.1");
  EXPECT_EQ(out_json["passed"], 1);
  EXPECT_EQ(out_json["failed"], 1);
  ASSERT_EQ(out_json["cases"].size(), 2u);
  EXPECT_EQ(out_json["cases"][0]["name"], "one a day");
  EXPECT_EQ(out_json["cases"][1]["passed"], false);
  EXPECT_EQ(out_json["cases"][1]["failures"].size(), 1u);
}

TEST(PolicyTestTest, TheDefaultPoliciesPassTheirTests) {
  Captured c;
  EXPECT_EQ(cli::Test({.dir = testing::SourceDir() + "/policies/default"}, c.io), kExitOk) << c.out.str() << c.err.str();
  EXPECT_THAT(c.out.str(), HasSubstr(" 0 failed (policy "));
}

TEST(PolicyTestTest, NoCasesIsAFailure) {
  ScratchDir dir;
  dir.Write("p/p.yaml", testing::kSmallPolicy);
  dir.Write("p/tests/README", "nothing here");
  Captured c;
  EXPECT_EQ(cli::Test({.dir = dir.path() + "/p"}, c.io), kExitFailed);
  EXPECT_EQ(c.err.str(), dir.path() + "/p/tests: no test cases found\n");
}

// One layout: tactctl test reads the tests tactd runs (<dir>/tests). Tests left beside the set (the layout before
// tactd ran them) are not picked up silently: the error says where they are and how to move them.
TEST(PolicyTestTest, TestsBesideTheSetAreNamedNotRun) {
  ScratchDir dir;
  dir.Write("p/p.yaml", testing::kSmallPolicy);
  const std::string beside = dir.Write("tests/t.yaml", kTests);
  Captured c;
  EXPECT_EQ(cli::Test({.dir = dir.path() + "/p"}, c.io), kExitFailed);
  EXPECT_EQ(c.err.str(), dir.path() + "/p/tests: no policy tests (a policy set's tests live in <dir>/tests/); " +
                             dir.path() + "/tests is beside the set: move it into " + dir.path() +
                             "/p/ so that tactd runs it before every load, or pass --tests " + dir.path() + "/tests\n");
  EXPECT_EQ(c.out.str(), "");
  Captured explicit_dir;  // --tests still runs any directory
  EXPECT_EQ(cli::Test({.dir = dir.path() + "/p", .tests = dir.path() + "/tests"}, explicit_dir.io), kExitFailed);
  EXPECT_THAT(explicit_dir.out.str(), HasSubstr("PASS " + beside + ":2: one a day\n"));
}

// tactctl policy diff: the auditor's view of a change, and --fail-on-loosened as a pull-request gate.
TEST(PolicyDiffVerbTest, ALoosenedCapIsNamedAndFailsTheGate) {
  ScratchDir dir;
  std::string looser = testing::kSmallPolicy;
  looser.replace(looser.find("count: 1"), 8, "count: 4");
  looser.replace(looser.find("t.1"), 3, "t.2");
  dir.Write("a/p.yaml", testing::kSmallPolicy);
  dir.Write("b/p.yaml", looser);
  Captured c;
  EXPECT_EQ(cli::PolicyDiff({.from = dir.path() + "/a", .to = dir.path() + "/b"}, c.io), kExitOk);
  EXPECT_THAT(c.out.str(), HasSubstr("loosened   "));
  EXPECT_THAT(c.out.str(), HasSubstr("limit count 1 -> 4\n"));
  EXPECT_THAT(c.out.str(), HasSubstr("\n1 loosened, 0 tightened, 0 added, 0 removed, 0 changed; classes affected: "));
  Captured gate;
  EXPECT_EQ(cli::PolicyDiff({.from = dir.path() + "/a", .to = dir.path() + "/b", .json = true, .fail_on_loosened = true},
                            gate.io),
            kExitFailed);
  EXPECT_EQ(json::parse(gate.out.str())["summary"]["loosened"], 1);
  Captured back;  // the other way round it tightens: the gate passes
  EXPECT_EQ(cli::PolicyDiff({.from = dir.path() + "/b", .to = dir.path() + "/a", .fail_on_loosened = true}, back.io),
            kExitOk);
  EXPECT_THAT(back.out.str(), HasSubstr("tightened  "));
  Captured missing;
  EXPECT_EQ(cli::PolicyDiff({.from = dir.path() + "/a", .to = dir.path() + "/nope"}, missing.io), kExitUsage);
}

}  // namespace
}  // namespace tact::cli
