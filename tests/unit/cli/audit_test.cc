#include "daemon/cli/audit.h"

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "daemon/core/customer_hash.h"
#include "daemon/core/proto_time.h"
#include "daemon/pipeline/event_codec.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

v1::DecisionRecord Record(const std::string& id, v1::DecisionKind kind, const std::string& rule, int64_t at_s,
                          const std::string& customer = "maria") {
  v1::DecisionRecord r;
  r.set_event_id(id);
  r.set_tenant("acme");
  r.set_customer_hash(CustomerHasher("k").Hash("acme", customer));
  r.set_channel(v1::EMAIL);
  r.set_message_class(v1::PROMOTION);
  r.mutable_decision()->set_decision(kind);
  r.mutable_decision()->set_rule_id(rule);
  r.mutable_decision()->set_reason("why");
  r.mutable_decision()->set_policy_version("v1");
  *r.mutable_decided_at() = TimeToProto(absl::FromUnixSeconds(at_s));
  return r;
}

// A topic holding `records` (and one undecodable payload), read to its end.
AuditReader FakeTopic(std::vector<v1::DecisionRecord> records, int* reads = nullptr) {
  return [records, reads](const AuditArgs&, const ops::KafkaSecurity&,
                          const std::function<void(std::string_view)>& visit, const std::function<bool()>&) {
    if (reads != nullptr) ++*reads;
    visit("not a record");
    for (const v1::DecisionRecord& r : records) visit(pipeline::EncodeDecisionRecord(r));
    return absl::OkStatus();
  };
}

const std::vector<v1::DecisionRecord> kRecords = {
    Record("e-late", v1::SUPPRESS, "cap", 2000), Record("e-early", v1::RELEASE, "", 1000),
    Record("e-other", v1::SUPPRESS, "cap", 1500, "jo")};

TEST(AuditTest, TableInDecisionOrderWithTotals) {
  Captured c;
  ASSERT_EQ(Audit({}, {}, FakeTopic(kRecords), c.io), kExitOk) << c.err.str();
  static constexpr char row[] = "%-28s %-18s %-8s %-9s %-28s %-10s %s\n";
  EXPECT_EQ(c.out.str(),
            absl::StrFormat(row, "EVENT", "CLASS", "CHANNEL", "DECISION", "RULE", "POLICY", "REASON") +
                absl::StrFormat(row, "e-early", "PROMOTION", "EMAIL", "RELEASE", "-", "v1", "why") +
                absl::StrFormat(row, "e-other", "PROMOTION", "EMAIL", "SUPPRESS", "cap", "v1", "why") +
                absl::StrFormat(row, "e-late", "PROMOTION", "EMAIL", "SUPPRESS", "cap", "v1", "why") +
                "\n3 decision(s): 1 RELEASE, 2 SUPPRESS\n");
}

// --since is inclusive, --until exclusive (both at e-late's decision time below).
TEST(AuditTest, FiltersByCustomerRuleDecisionAndTime) {
  Captured c;
  const AuditArgs args{.since = "1970-01-01T00:33:20Z", .customer = "maria", .tenant = "acme", .json = true};
  ASSERT_EQ(Audit(args, {{"TACT_CUSTOMER_HASH_KEY", "k"}}, FakeTopic(kRecords), c.io), kExitOk) << c.err.str();
  EXPECT_EQ(c.out.str(), pipeline::EncodeDecisionRecord(kRecords[0]) + "\n");

  Captured d;
  ASSERT_EQ(Audit({.until = "1970-01-01T00:33:20Z", .decision = "SUPPRESS"}, {}, FakeTopic(kRecords), d.io),
            kExitOk);
  EXPECT_THAT(d.out.str(), HasSubstr("e-other"));
  EXPECT_THAT(d.out.str(), ::testing::Not(HasSubstr("e-late")));
  EXPECT_THAT(d.out.str(), HasSubstr("\n1 decision(s): 1 SUPPRESS\n"));
}

TEST(AuditTest, ExpectNotMetIsExitOne) {
  Captured c;
  EXPECT_EQ(Audit({.rule = "nope", .expect = 2, .timeout_s = 3}, {}, FakeTopic(kRecords), c.io), kExitFailed);
  EXPECT_EQ(c.err.str(), "tactctl audit: expected at least 2 record(s), found 0 within 3 s\n");
  EXPECT_THAT(c.out.str(), HasSubstr("\n0 decision(s): none\n"));
}

TEST(AuditTest, ReaderStopsOnlyWhenEnoughMatched) {
  std::vector<bool> enough_after;
  const AuditReader reader = [&](const AuditArgs&, const ops::KafkaSecurity&,
                                 const std::function<void(std::string_view)>& visit,
                                 const std::function<bool()>& enough) {
    for (const v1::DecisionRecord& r : kRecords) {
      visit(pipeline::EncodeDecisionRecord(r));
      enough_after.push_back(enough());
    }
    return absl::OkStatus();
  };
  Captured c;
  EXPECT_EQ(Audit({.decision = "SUPPRESS", .expect = 2}, {}, reader, c.io), kExitOk);
  EXPECT_THAT(enough_after, ::testing::ElementsAre(false, false, true));
}

TEST(AuditTest, UsageErrorsNeverReachTheBroker) {
  int reads = 0;
  Captured c;
  EXPECT_EQ(Audit({.customer = "maria", .tenant = "acme"}, {}, FakeTopic(kRecords, &reads), c.io), kExitUsage);
  EXPECT_EQ(c.err.str(),
            "tactctl audit: --customer needs --tenant and TACT_CUSTOMER_HASH_KEY (the daemon's key)\n");
  Captured s;
  EXPECT_EQ(Audit({.since = "yesterday"}, {}, FakeTopic(kRecords, &reads), s.io), kExitUsage);
  EXPECT_EQ(s.err.str(),
            "tactctl audit: --since: 'yesterday' is not an RFC 3339 time (e.g. 2026-11-23T08:00:00Z)\n");
  Captured k;
  EXPECT_EQ(Audit({.security_flags = {{"kafka.security_protocol", "bogus"}}}, {}, FakeTopic(kRecords, &reads), k.io),
            kExitUsage);
  EXPECT_THAT(k.err.str(), HasSubstr("tactctl audit: --kafka-security-protocol: "));
  EXPECT_EQ(reads, 0);
  const AuditReader down = [](const AuditArgs& a, const ops::KafkaSecurity&,
                              const std::function<void(std::string_view)>&, const std::function<bool()>&) {
    return absl::UnavailableError("cannot reach " + a.brokers);
  };
  Captured u;
  EXPECT_EQ(Audit({.brokers = "b:1"}, {}, down, u.io), kExitUsage);
  EXPECT_EQ(u.err.str(), "tactctl audit: cannot reach b:1\n");
}

TEST(AuditKafkaSecurityTest, FlagsOverrideTheEnvironmentWhichGivesTheSecrets) {
  const Environment env = {{"TACT_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"}, {"TACT_KAFKA_SASL_MECHANISM", "PLAIN"},
                           {"TACT_KAFKA_SASL_USERNAME", "u"}, {"TACT_KAFKA_SASL_PASSWORD", "p"},
                           {"UNRELATED", "x"}};
  absl::StatusOr<ops::KafkaSecurity> s = AuditKafkaSecurity({}, env);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->LibrdkafkaConf(), ::testing::Contains(std::pair<std::string, std::string>("security.protocol",
                                                                                            "SASL_SSL")));
  s = AuditKafkaSecurity({.security_flags = {{"kafka.security_protocol", "SASL_PLAINTEXT"}}}, env);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->LibrdkafkaConf(), ::testing::Contains(std::pair<std::string, std::string>("security.protocol",
                                                                                            "SASL_PLAINTEXT")));
  EXPECT_THAT(s->Secrets(), ::testing::Contains("p"));
}

}  // namespace
}  // namespace tact::cli
