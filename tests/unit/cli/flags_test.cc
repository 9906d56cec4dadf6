#include "daemon/cli/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tact::cli {
namespace {

// Parses `line` ("audit --json ...") with the verb's flags into `args`.
template <typename Args>
void Parse(CLI::App* (*add)(CLI::App&, Args&), Args& args, const std::string& line) {
  CLI::App app;
  add(app, args);
  app.parse(line, /*program_name_included=*/false);
}

TEST(FlagsTest, AuditTakesOnlyTheSecurityFlagsGiven) {
  AuditArgs a;
  Parse(AddAuditFlags, a, "audit --decision SUPPRESS --expect 2 --kafka-security-protocol ssl");
  EXPECT_EQ(a.decision, "SUPPRESS");
  EXPECT_EQ(a.expect, 2u);
  EXPECT_EQ(a.brokers, "127.0.0.1:9092");
  EXPECT_EQ(a.security_flags, (std::map<std::string, std::string>{{"kafka.security_protocol", "ssl"}}));
  AuditArgs bad;
  EXPECT_THROW(Parse(AddAuditFlags, bad, "audit --decision MAYBE"), CLI::ValidationError);
}

TEST(FlagsTest, AuditFiltersCsvAndStrict) {
  AuditArgs a;
  Parse(AddAuditFlags, a,
        "audit --policy-version 2026.11.2 --class PROMOTION --campaign cm --client crm-eu --csv --strict");
  EXPECT_EQ(a.policy_version, "2026.11.2");
  EXPECT_EQ(a.message_class, "PROMOTION");
  EXPECT_EQ(a.campaign, "cm");
  EXPECT_EQ(a.client, "crm-eu");
  EXPECT_TRUE(a.csv);
  EXPECT_TRUE(a.strict);
  AuditArgs bad;
  EXPECT_THROW(Parse(AddAuditFlags, bad, "audit --class MARKETING"), CLI::ValidationError);
}

TEST(FlagsTest, ExplainAndPlanDefaultsAndRequiredFlags) {
  ExplainArgs e;
  Parse(AddExplainFlags, e, "explain --policy p --event - --json");
  EXPECT_EQ(e.policy_dir, "p");
  EXPECT_EQ(e.event, "-");
  EXPECT_TRUE(e.json);
  ExplainArgs missing;
  EXPECT_THROW(Parse(AddExplainFlags, missing, "explain --policy p"), CLI::RequiredError);
  PlanArgs p;
  Parse(AddPlanFlags, p, "plan --staffing s.csv --audience 5 --start 2026-11-23T09:00:00Z");
  EXPECT_EQ(p.channel, "email");
  EXPECT_EQ(p.deliverability, 0.98);
  EXPECT_EQ(p.id, "campaign");
}

}  // namespace
}  // namespace tact::cli
