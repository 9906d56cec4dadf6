// Each mistake class has a fixture in tests/fixtures/policies/bad/ and its exact message here: the message is
// what a compliance analyst reads, so a change to it is a deliberate change to this table.
#include "daemon/policy/parse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "daemon/decision/policy_files.h"
#include "daemon/policy/evaluate.h"

namespace tact::policy {
namespace {

const std::string kBadDir = std::string(TACT_SOURCE_DIR) + "/tests/fixtures/policies/bad";

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fixture is a file (parsed alone, named by its file name) or a directory (its files as one set, named
// "<dir>/<file>").
absl::StatusOr<Policy> ParseFixture(const std::string& name) {
  const std::filesystem::path path = std::filesystem::path(kBadDir) / name;
  std::vector<PolicyFile> files;
  if (std::filesystem::is_directory(path)) {
    std::vector<std::filesystem::path> entries;
    for (const auto& e : std::filesystem::directory_iterator(path)) entries.push_back(e.path());
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) files.push_back({name + "/" + e.filename().string(), ReadFile(e)});
  } else {
    files.push_back({name, ReadFile(path)});
  }
  return ParsePolicy(files);
}

struct BadCase {
  const char* fixture;
  const char* message;
};

// clang-format off
constexpr BadCase kBadCases[] = {
#include "tests/unit/policy/bad_policy_messages.inc"
};
// clang-format on

class BadPolicyTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadPolicyTest, FailsWithExactMessage) {
  const BadCase& c = GetParam();
  absl::StatusOr<Policy> p = ParseFixture(c.fixture);
  ASSERT_FALSE(p.ok()) << c.fixture << " parsed but should not";
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(p.status().message()), c.message);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadPolicyTest, ::testing::ValuesIn(kBadCases),
                         [](const ::testing::TestParamInfo<BadCase>& param_info) {
                           std::string n = param_info.param.fixture;
                           for (char& ch : n) if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(BadPolicyTest, EveryFixtureHasAnExpectedMessage) {
  std::set<std::string> listed;
  for (const BadCase& c : kBadCases) listed.insert(c.fixture);
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(kBadDir)) {
    ++n;
    EXPECT_TRUE(listed.count(e.path().filename().string())) << "no expected message for " << e.path();
  }
  EXPECT_GE(n, 20u);
}

TEST(ParsePolicyTest, HugeFileIsRejectedBeforeParsing) {
  const std::string huge(kMaxPolicyFileBytes + 1, '#');
  absl::StatusOr<Policy> p = ParsePolicy({{"huge.yaml", huge}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()),
            "huge.yaml:1:1: file is larger than 1048576 bytes, the most a policy file may be (split it into several "
            "files)");
}

TEST(ParsePolicyTest, TooManyRulesIsAnError) {
  std::string text = "version: \"1\"\nrules:\n";
  for (size_t i = 0; i <= kMaxRules; ++i) {
    absl::StrAppend(&text, "  - id: r", i, "\n    description: d\n    match: { campaign: c", i,
                    " }\n    limit: { count: 1, window: 1d }\n");
  }
  absl::StatusOr<Policy> p = ParsePolicy({{"many.yaml", text}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()), "many.yaml:3:3: the file has 1001 rules; at most 1000 are allowed per policy set");
}

TEST(ParsePolicyTest, TooManyCampaignGatesIsAnError) {
  auto gates = [](size_t from, size_t n) {
    std::string text = "version: \"1\"\nrules: []\ncampaign_gates:\n";
    for (size_t i = from; i < from + n; ++i) absl::StrAppend(&text, "  - { id: g", i, ", min_notice: 1h }\n");
    return text;
  };
  absl::StatusOr<Policy> p = ParsePolicy({{"gates.yaml", gates(0, kMaxCampaignGates + 1)}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()),
            "gates.yaml:4:3: campaign_gates has 1001 gates; at most 1000 are allowed per policy set");
  p = ParsePolicy({{"a.yaml", gates(0, kMaxCampaignGates)}, {"b.yaml", gates(kMaxCampaignGates, 1)}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()),
            "b.yaml:4:5: campaign gate 'g1000': the policy set has more than 1000 campaign gates");
  EXPECT_TRUE(ParsePolicy({{"a.yaml", gates(0, kMaxCampaignGates)}}).ok());
}

TEST(ParsePolicyTest, LoadingIsAllOrNothing) {
  // A good file followed by a bad one: no policy at all.
  absl::StatusOr<Policy> p = ParsePolicy({{"a.yaml", "version: \"1\"\nrules: []\n"}, {"b.yaml", ""}});
  EXPECT_FALSE(p.ok());
}

TEST(ParsePolicyTest, LayeredCapsAreNotShadowed) {
  // 1 a day and 3 a week both decide sometimes, in either order; so do a longer window with a higher count.
  for (const char* text : {R"(
version: "1"
rules:
  - { id: a, description: d, limit: { count: 1, window: 1d } }
  - { id: b, description: d, limit: { count: 3, window: 7d } }
)", R"(
version: "1"
rules:
  - { id: b, description: d, limit: { count: 3, window: 7d } }
  - { id: a, description: d, limit: { count: 1, window: 1d } }
)", R"(
version: "1"
rules:
  - { id: a, description: d, limit: { count: 1, kind: calendar, window: day } }
  - { id: b, description: d, limit: { count: 3, kind: calendar, window: week } }
  - { id: c, description: d, limit: { count: 2, kind: calendar, window: week, scope: customer+channel } }
  - { id: e, description: d, match: { channel: SMS }, limit: { count: 2, kind: calendar, window: month } }
)"}) {
    absl::StatusOr<Policy> p = ParsePolicy({{"layered.yaml", text}});
    EXPECT_TRUE(p.ok()) << p.status();
  }
}

// The shadowing check compares lists as sets (order and repeats do not matter), also through aliases.
TEST(ParsePolicyTest, ShadowingComparesListsAsSets) {
  struct Case {
    const char* rules;
    const char* error;  // "" = the set loads
  };
  const Case cases[] = {
      {R"(
  - { id: a, description: d, match: { campaign: [x, y, z] }, limit: { count: 1, window: 7d } }
  - { id: b, description: d, match: { campaign: [z, x, x] }, limit: { count: 2, window: 7d } })",
       "sets.yaml:4:5: rule 'b' can never decide: the earlier rule 'a' (sets.yaml:3) matches every message it matches "
       "and always applies first (remove it, or make it stricter than 'a')"},
      {R"(
  - { id: a, description: d, match: { campaign: [x, y, z] }, limit: { count: 1, window: 7d } }
  - { id: b, description: d, match: { campaign: [z, w] }, limit: { count: 2, window: 7d } })",
       ""},
      {R"(
  - { id: a, description: d, match: { campaign: &l [x, y] }, limit: { count: 1, window: 7d } }
  - { id: b, description: d, match: { campaign: *l, tenant: [t1, t2] }, limit: { count: 2, window: 7d } })",
       "sets.yaml:4:5: rule 'b' can never decide: the earlier rule 'a' (sets.yaml:3) matches every message it matches "
       "and always applies first (remove it, or make it stricter than 'a')"},
      {R"(
  - { id: a, description: d, match: { campaign: &l [x, y], tenant: [t1] }, limit: { count: 1, window: 7d } }
  - { id: b, description: d, match: { campaign: *l, tenant: [t1, t2] }, limit: { count: 2, window: 7d } })",
       ""},
      {R"(
  - { id: a, description: d, match: { attributes: { seg: [v1, v2] } }, limit: { count: 1, window: 7d } }
  - { id: b, description: d, match: { attributes: { tier: q, seg: v2 } }, limit: { count: 2, window: 7d } })",
       "sets.yaml:4:5: rule 'b' can never decide: the earlier rule 'a' (sets.yaml:3) matches every message it matches "
       "and always applies first (remove it, or make it stricter than 'a')"},
      {R"(
  - { id: a, description: d, match: { attributes: { seg: [v1, v2] } }, limit: { count: 1, window: 7d } }
  - { id: b, description: d, match: { attributes: { tier: q } }, limit: { count: 2, window: 7d } })",
       ""},
      {R"(
  - { id: a, description: d, match: { attributes: { seg: v1, tier: q } }, limit: { count: 1, window: 7d } }
  - { id: b, description: d, match: { attributes: { seg: v1 } }, limit: { count: 2, window: 7d } })",
       ""},
      {R"(
  - { id: a, description: d, match: { channel: [EMAIL, SMS, EMAIL] }, limit: { count: 1, window: 7d } }
  - { id: b, description: d, match: { channel: SMS }, limit: { count: 2, window: 7d } })",
       "sets.yaml:4:5: rule 'b' can never decide: the earlier rule 'a' (sets.yaml:3) matches every message it matches "
       "and always applies first (remove it, or make it stricter than 'a')"},
      {R"(
  - { id: a, description: d, match: { channel: SMS }, limit: { count: 1, window: 7d } }
  - { id: b, description: d, limit: { count: 2, window: 7d } })",
       ""},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Policy> p = ParsePolicy({{"sets.yaml", absl::StrCat("version: \"1\"\nrules:", c.rules, "\n")}});
    EXPECT_EQ(p.ok() ? "" : std::string(p.status().message()), c.error) << c.rules;
  }
}

std::string CampaignList(const char* prefix, size_t n) {
  std::string out = "[";
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&out, i == 0 ? "" : ", ", prefix, i);
  return out + "]";
}

TEST(ParsePolicyTest, ListLongerThanTheLimitIsAnError) {
  const std::string text = absl::StrCat("version: \"1\"\nrules:\n  - id: big\n    description: d\n    match: { campaign: ",
                                        CampaignList("c", kMaxListEntries + 1), " }\n    limit: { count: 1, window: 1d }\n");
  absl::StatusOr<Policy> p = ParsePolicy({{"long.yaml", text}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()),
            "long.yaml:5:24: rule 'big'.match.campaign has 10001 entries; at most 10000 are allowed in one list");
  // The same in a campaign gate.
  const std::string gates = absl::StrCat("version: \"1\"\nrules: []\ncampaign_gates:\n  - id: g\n    match: { tenant: ",
                                         CampaignList("t", kMaxListEntries + 1), " }\n");
  p = ParsePolicy({{"gates.yaml", gates}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()),
            "gates.yaml:5:22: campaign gate 'g'.match.tenant has 10001 entries; at most 10000 are allowed in one list");
}

// 101 rules aliasing one 10,000-entry list: 1,010,000 entries from a small file. The rule that crosses the total
// is named (an alias's own mark would be its anchor's, in the first rule), and the file stops there.
TEST(ParsePolicyTest, ListEntriesOverTheFileTotalAreAnError) {
  std::string text = "version: \"1\"\nrules:\n";
  for (size_t i = 0; i <= kMaxListEntriesPerFile / kMaxListEntries; ++i) {
    absl::StrAppend(&text, "  - id: r", i, "\n    description: d\n    match: { campaign: ",
                    i == 0 ? "&big " + CampaignList("c", kMaxListEntries) : std::string("*big"),
                    ", attributes: { segment: s", i, " } }\n    limit: { count: ", i + 1, ", window: 7d }\n");
  }
  const std::string want =
      "total.yaml:403:5: rule 'r100': the lists of this file hold more than 1000000 entries in all (an alias counts "
      "each time it is used); at most 1000000 are allowed per file";
  absl::StatusOr<Policy> p = ParsePolicy({{"total.yaml", text}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()), want);
  EXPECT_EQ(LintPolicy({{"total.yaml", text}}), std::vector<std::string>{want});
}

// The case that used to take minutes (rules² × entries² for the shadowing check): 300 rules whose `campaign:` is
// an alias to one 3,000-entry list, none shadowed (each has its own attribute value). The check's work is
// counted, not timed: interning reads each rule's list about once, and each pair of rules costs O(1) list reads.
// (Should it regress to comparing lists entry by entry per pair, ctest's per-test timeout is the backstop.)
TEST(LintPolicyTest, AliasedListsAreCheckedInNearLinearWork) {
  constexpr size_t kRules = 300;
  constexpr size_t kEntries = 3000;
  std::string text = "version: \"1\"\nrules:\n";
  for (size_t i = 0; i < kRules; ++i) {
    absl::StrAppend(&text, "  - id: r", i, "\n    description: d\n    match: { campaign: ",
                    i == 0 ? "&big " + CampaignList("campaign-", kEntries) : std::string("*big"),
                    ", attributes: { segment: s", i, " } }\n    limit: { count: ", i + 1, ", window: 7d }\n");
  }
  CheckWork work;
  EXPECT_EQ(LintPolicy({{"aliased.yaml", text}}, &work), std::vector<std::string>{});
  EXPECT_EQ(work.rule_pairs, kRules * (kRules - 1) / 2);
  EXPECT_LE(work.list_entries_read, 2 * kRules * kEntries) << "list reads per rule pair grew with the lists";
  EXPECT_GE(work.list_entries_read, kRules * kEntries);  // the count is live: every list is read once
}

// Matching an event against a long list is one hash lookup, and the rules aliasing one list share one set
// (the 300 x 3,000 policy above scanned 900,000 entries per event, ~1 ms, before).
TEST(ParsePolicyTest, LongListsAreMatchedThroughOneSharedSet) {
  const std::string text = absl::StrCat(R"(version: "1"
rules:
  - { id: a, description: d, match: { campaign: &big )", CampaignList("c", 20), R"(, attributes: { seg: *big } },
      limit: { count: 1, window: 1d } }
  - { id: b, description: d, match: { campaign: *big, tenant: [t1, t2] }, limit: { count: 1, window: 1d } }
  - { id: c, description: d, match: { campaign: [c1, c2] }, limit: { count: 1, window: 1d } }
)");
  absl::StatusOr<Policy> p = ParsePolicy({{"index.yaml", text}});
  ASSERT_TRUE(p.ok()) << p.status();
  const Match& a = p->rules[0].match;
  const Match& b = p->rules[1].match;
  ASSERT_NE(a.campaign_set, nullptr);
  EXPECT_EQ(a.campaign_set->size(), 20u);
  EXPECT_EQ(b.campaign_set, a.campaign_set);  // one set for the alias
  ASSERT_EQ(a.attribute_sets.size(), 1u);
  EXPECT_EQ(a.attribute_sets[0], a.campaign_set);
  EXPECT_EQ(b.tenant_set, nullptr);  // short lists are scanned
  EXPECT_EQ(p->rules[2].match.campaign_set, nullptr);

  Event e;
  e.tenant = "t2";
  e.channel = v1::EMAIL;
  e.message_class = v1::PROMOTION;
  for (const auto& [campaign, matches] : std::vector<std::pair<std::string, bool>>{{"c0", true}, {"c19", true},
                                                                                   {"c20", false}, {"", false}}) {
    e.campaign_id = campaign;
    e.attributes["seg"] = "c7";
    EXPECT_EQ(Matches(p->rules[0], e), matches) << campaign;
    EXPECT_EQ(Matches(p->rules[1], e), matches) << campaign;
  }
  e.campaign_id = "c0";
  e.attributes["seg"] = "c20";  // not in the attribute's (indexed) list
  EXPECT_FALSE(Matches(p->rules[0], e));
  e.tenant = "t3";
  e.campaign_id = "c0";
  EXPECT_FALSE(Matches(p->rules[1], e));
}

// tactctl lint's engine: every error of every file, sorted by file and line, not only the first.
TEST(LintPolicyTest, ReportsEveryErrorSortedByFileAndLine) {
  const std::filesystem::path dir = std::filesystem::path(TACT_SOURCE_DIR) / "tests/fixtures/policies/lint-many";
  std::vector<std::filesystem::path> entries;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".yaml") entries.push_back(e.path());
  }
  std::sort(entries.begin(), entries.end());
  std::vector<PolicyFile> files;
  for (const auto& e : entries) files.push_back({"lint-many/" + e.filename().string(), ReadFile(e)});
  std::vector<std::string> want;
  std::istringstream expected(ReadFile(dir / "expected.txt"));
  for (std::string line; std::getline(expected, line);) {
    if (!line.empty()) want.push_back(line);
  }
  ASSERT_GE(want.size(), 6u);
  EXPECT_EQ(LintPolicy(files), want);
  // Loading stays all-or-nothing: the first error only.
  absl::StatusOr<Policy> p = ParsePolicy(files);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(std::string(p.status().message()), want.front());
}

TEST(LintPolicyTest, ValidSetHasNoErrors) {
  absl::StatusOr<std::vector<PolicyFile>> files = decision::ReadPolicyDir(std::string(TACT_SOURCE_DIR) + "/policies/default");
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(LintPolicy(*files).empty());
}

TEST(ParsePolicyTest, DefaultPoliciesLoad) {
  absl::StatusOr<Policy> p = decision::LoadPolicyDir(std::string(TACT_SOURCE_DIR) + "/policies/default");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->version.empty());
  EXPECT_EQ(p->digest.size(), 64u);
}

}  // namespace
}  // namespace tact::policy
