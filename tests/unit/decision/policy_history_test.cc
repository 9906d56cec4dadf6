// The policy history's record and provenance: from the files' provenance sections and from git.
#include "daemon/decision/policy_history.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "daemon/decision/policy_files.h"
#include "daemon/policy/parse.h"
#include "nlohmann/json.hpp"

namespace tact::decision {
namespace {

TEST(PolicyHistoryRecordTest, CarriesVersionDigestProvenanceAndResult) {
  PolicyLoadAttempt a{.activated = false, .version = "v2", .digest = "abc",
                      .provenance = {.author = "Ana", .approver = "Carl", .reason = "cap", .ticket = "T-1",
                                     .commit = "", .source = "files"},
                      .at = absl::FromUnixMillis(1'765'000'000'123), .error = "care.yaml:3:5: bad", .tests_passed = 0};
  const nlohmann::json j = nlohmann::json::parse(EncodeHistoryRecord(a, "pod-1"));
  EXPECT_EQ(j["result"], "refused");
  EXPECT_EQ(j["refused_at"], "2025-12-06T05:46:40.123Z");
  EXPECT_FALSE(j.contains("activated_at"));
  EXPECT_EQ(j["error"], "care.yaml:3:5: bad");
  EXPECT_EQ(j["provenance"]["approver"], "Carl");
  EXPECT_EQ(j["instance"], "pod-1");
  EXPECT_EQ(HistoryRecordKey(a, "pod-1"), "pod-1|abc|refused");
  a.activated = true;
  EXPECT_EQ(nlohmann::json::parse(EncodeHistoryRecord(a, "pod-1"))["activated_at"], "2025-12-06T05:46:40.123Z");
}

constexpr char kRules[] = R"(rules:
  - id: promo-daily
    description: one a day
    match: { message_class: PROMOTION }
    limit: { count: 1, window: 1d }
)";

TEST(PolicyProvenanceTest, FilesProvenanceIsJoinedAcrossFilesAndChecked) {
  absl::StatusOr<policy::Policy> p = policy::ParsePolicy(
      {{"a.yaml", std::string("version: \"v1\"\nprovenance: { author: Ana, ticket: T-1 }\n") + kRules},
       {"b.yaml", "version: \"v1\"\nprovenance: { author: Bo, approver: Carl, ticket: T-1 }\nrules: []\n"}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->provenance.author, "Ana, Bo");
  EXPECT_EQ(p->provenance.approver, "Carl");
  EXPECT_EQ(p->provenance.ticket, "T-1");
  EXPECT_EQ(p->provenance.source, "files");
  absl::StatusOr<policy::Policy> bad =
      policy::ParsePolicy({{"a.yaml", std::string("version: \"v1\"\nprovenance: { auther: Ana }\n") + kRules}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("a.yaml:2:"), std::string::npos) << bad.status();
  EXPECT_NE(std::string(bad.status().message()).find("auther"), std::string::npos) << bad.status();
}

// A policy directory in a git checkout: the commit that last changed it fills what the files leave empty.
TEST(PolicyProvenanceTest, GitCommitFillsTheBlanks) {
  const std::string dir = ::testing::TempDir() + "/git-provenance-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/policies");
  std::ofstream(dir + "/policies/care.yaml") << "version: \"v1\"\nprovenance: { ticket: COMP-9 }\n" << kRules;
  const std::string git = "git -C " + dir + " -c user.name=Ana -c user.email=ana@example.com ";
  ASSERT_EQ(std::system((git + "init -q && " + git + "add -A && " + git +
                         "commit -q -m 'Loosen nothing' -m 'Approved-by: Carl <carl@example.com>'")
                            .c_str()),
            0);
  policy::Provenance p{.ticket = "COMP-9", .source = "files"};
  CompleteProvenanceFromGit(dir + "/policies", p);
  EXPECT_EQ(p.author, "Ana <ana@example.com>");
  EXPECT_EQ(p.approver, "Carl <carl@example.com>");
  EXPECT_EQ(p.reason, "Loosen nothing");
  EXPECT_EQ(p.ticket, "COMP-9");  // the files' value wins
  EXPECT_EQ(p.commit.size(), 40u);
  EXPECT_EQ(p.source, "files+git");

  policy::Provenance none;
  CompleteProvenanceFromGit(::testing::TempDir(), none);  // not a checkout: unchanged
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.source, "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tact::decision
