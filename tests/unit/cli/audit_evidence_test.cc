// tactctl audit: the filters by policy version, class, campaign and client; CSV; the hash key mismatch warning.
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "daemon/cli/audit.h"
#include "daemon/core/customer_hash.h"
#include "daemon/core/proto_time.h"
#include "daemon/pipeline/event_codec.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Fields {
  std::string id;
  std::string version = "v1";
  v1::MessageClass cls = v1::PROMOTION;
  std::string campaign;
  std::string client;
  std::string key = "k";  // the customer hash key tactd used
  std::string customer = "maria";
};

v1::DecisionRecord Record(const Fields& f) {
  v1::DecisionRecord r;
  r.set_event_id(f.id);
  r.set_tenant("acme");
  const CustomerHasher hasher(f.key);
  r.set_customer_hash(hasher.Hash("acme", f.customer));
  r.set_customer_hash_key_id(hasher.KeyId());
  r.set_channel(v1::EMAIL);
  r.set_message_class(f.cls);
  r.set_campaign_id(f.campaign);
  r.set_client(f.client);
  r.set_source(f.client.empty() ? "kafka" : "grpc");
  r.mutable_decision()->set_decision(v1::SUPPRESS);
  r.mutable_decision()->set_rule_id("cap");
  r.mutable_decision()->set_reason("cap 2 per rolling 7d reached (2 used)");
  r.mutable_decision()->set_policy_version(f.version);
  *r.mutable_decided_at() = TimeToProto(absl::FromUnixSeconds(1000));
  return r;
}

AuditReader Topic(std::vector<v1::DecisionRecord> records) {
  return [records](const AuditArgs&, const ops::KafkaSecurity&, const std::function<void(std::string_view)>& visit,
                   const std::function<bool()>&) {
    for (const v1::DecisionRecord& r : records) visit(pipeline::EncodeDecisionRecord(r));
    return absl::OkStatus();
  };
}

// The event ids the audit printed as JSON lines.
std::vector<std::string> Ids(const std::string& json_lines) {
  std::vector<std::string> ids;
  for (absl::string_view line : absl::StrSplit(json_lines, '\n', absl::SkipEmpty())) {
    absl::StatusOr<v1::DecisionRecord> r = pipeline::DecodeDecisionRecord(std::string_view(line.data(), line.size()));
    ids.push_back(r.ok() ? r->event_id() : "?");
  }
  return ids;
}

const std::vector<v1::DecisionRecord> kMixed = {
    Record({.id = "a"}), Record({.id = "b", .version = "v2"}), Record({.id = "c", .cls = v1::PROACTIVE_SERVICE}),
    Record({.id = "d", .campaign = "outage-7"}), Record({.id = "e", .client = "crm-eu"})};

TEST(AuditFiltersTest, ByPolicyVersionClassCampaignAndClient) {
  auto run = [](AuditArgs args) {
    testing::Captured c;
    args.json = true;
    EXPECT_EQ(Audit(args, {}, Topic(kMixed), c.io), kExitOk) << c.err.str();
    return Ids(c.out.str());
  };
  EXPECT_THAT(run({.policy_version = "v2"}), ::testing::ElementsAre("b"));
  EXPECT_THAT(run({.message_class = "PROACTIVE_SERVICE"}), ::testing::ElementsAre("c"));
  EXPECT_THAT(run({.campaign = "outage-7"}), ::testing::ElementsAre("d"));
  EXPECT_THAT(run({.client = "crm-eu"}), ::testing::ElementsAre("e"));
  EXPECT_THAT(run({.policy_version = "v1", .message_class = "PROMOTION"}), ::testing::ElementsAre("a", "d", "e"));
}

TEST(AuditCsvTest, FieldsAreQuotedAsRfc4180) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\r"), "\"cr\r\"");
}

TEST(AuditCsvTest, HeaderThenOneRowPerRecordWithTheEvidence) {
  v1::DecisionRecord r = Record({.id = "e,1", .client = "crm-eu"});
  v1::WindowEvidence* w = r.mutable_evidence()->mutable_window();
  w->set_rule_id("cap");
  w->set_used(2);
  w->set_limit(2);
  w->set_window("rolling 7d");
  *w->mutable_rolling_from() = TimeToProto(absl::FromUnixSeconds(0));
  testing::Captured c;
  ASSERT_EQ(Audit({.csv = true}, {}, Topic({r}), c.io), kExitOk) << c.err.str();
  const std::string hash = CustomerHasher("k").Hash("acme", "maria");
  EXPECT_EQ(c.out.str(),
            std::string(kAuditCsvColumns) + "\r\n" +
                "1970-01-01T00:16:40Z,\"e,1\",acme," + hash + "," + CustomerHasher("k").KeyId() +
                ",EMAIL,PROMOTION,,SUPPRESS,cap,cap 2 per rolling 7d reached (2 used),v1,,grpc,crm-eu,false,false,"
                "window,cap,2,2,rolling 7d,1970-01-01T00:00:00Z,,,,,,,\r\n");
  EXPECT_EQ(std::count(kAuditCsvColumns, kAuditCsvColumns + strlen(kAuditCsvColumns), ',') + 1, 30);
}

// A signal's evidence: the complaint's ticket and when it was opened, in the CSV's signal columns and the table.
TEST(AuditCsvTest, SignalEvidenceGivesTheTicketAndWhenItHappened) {
  v1::DecisionRecord r = Record({.id = "p"});
  v1::SignalEvidence* s = r.mutable_evidence()->mutable_signal();
  s->set_rule_id("promotion-open-complaint");
  s->set_kind("complaint");
  s->set_condition("open complaint");
  s->set_ref("CASE-9");
  *s->mutable_at() = TimeToProto(absl::FromUnixSeconds(600));
  testing::Captured csv;
  ASSERT_EQ(Audit({.csv = true}, {}, Topic({r}), csv.io), kExitOk) << csv.err.str();
  EXPECT_THAT(csv.out.str(), HasSubstr(",false,false,signal,promotion-open-complaint,,,open complaint,,,,complaint,"
                                       "CASE-9,1970-01-01T00:10:00Z,,\r\n"));
  testing::Captured table;
  ASSERT_EQ(Audit({}, {}, Topic({r}), table.io), kExitOk);
  EXPECT_THAT(table.out.str(), HasSubstr("[complaint signal CASE-9 at 1970-01-01T00:10:00Z]"));
}

TEST(AuditTableTest, ReasonShowsEvidenceAndClient) {
  v1::DecisionRecord r = Record({.id = "q", .client = "crm-eu"});
  v1::QuietHoursEvidence* q = r.mutable_evidence()->mutable_quiet_hours();
  q->set_window("quiet hours 21:00-08:00");
  q->set_zone("Europe/Berlin");
  q->set_local_time("2026-12-06T23:15:00+01:00");
  testing::Captured c;
  ASSERT_EQ(Audit({}, {}, Topic({r}), c.io), kExitOk);
  EXPECT_THAT(c.out.str(),
              HasSubstr("[quiet hours 21:00-08:00, 2026-12-06T23:15:00+01:00 in Europe/Berlin] [client crm-eu]"));
}

TEST(AuditKeyMismatchTest, ACustomerSearchThatMatchesNothingBecauseOfTheKeyWarnsAndStrictFails) {
  const std::vector<v1::DecisionRecord> topic = {Record({.id = "a", .key = "daemon-key"}),
                                                 Record({.id = "b", .key = "daemon-key", .customer = "jo"})};
  const AuditArgs args{.customer = "maria", .tenant = "acme"};
  testing::Captured c;
  EXPECT_EQ(Audit(args, {{"TACT_CUSTOMER_HASH_KEY", "wrong-key"}}, Topic(topic), c.io), kExitOk);
  EXPECT_EQ(c.err.str(), "tactctl audit: warning: no record matches --customer, but 2 of 2 record(s) of tenant "
                         "'acme' were hashed with another customer hash key (key id " +
                             CustomerHasher("daemon-key").KeyId() + "; TACT_CUSTOMER_HASH_KEY's is " +
                             CustomerHasher("wrong-key").KeyId() +
                             "): set TACT_CUSTOMER_HASH_KEY to the key tactd used\n");
  EXPECT_THAT(c.err.str(), Not(HasSubstr("wrong-key")));  // key ids only, never a key

  AuditArgs strict = args;
  strict.strict = true;
  testing::Captured s;
  EXPECT_EQ(Audit(strict, {{"TACT_CUSTOMER_HASH_KEY", "wrong-key"}}, Topic(topic), s.io), kExitFailed);
  EXPECT_THAT(s.err.str(), HasSubstr("another customer hash key"));

  // The right key: maria is found; a customer with no records is no mismatch.
  testing::Captured ok;
  EXPECT_EQ(Audit(strict, {{"TACT_CUSTOMER_HASH_KEY", "daemon-key"}}, Topic(topic), ok.io), kExitOk);
  EXPECT_THAT(ok.out.str(), HasSubstr("\n1 decision(s): 1 SUPPRESS\n"));
  AuditArgs nobody = strict;
  nobody.customer = "nobody";
  testing::Captured none;
  EXPECT_EQ(Audit(nobody, {{"TACT_CUSTOMER_HASH_KEY", "daemon-key"}}, Topic(topic), none.io), kExitOk);
  EXPECT_EQ(none.err.str(), "");
}

TEST(AuditUsageTest, JsonAndCsvTogetherIsAUsageError) {
  testing::Captured c;
  EXPECT_EQ(Audit({.json = true, .csv = true}, {}, Topic({}), c.io), kExitUsage);
  EXPECT_EQ(c.err.str(), "tactctl audit: --json and --csv: choose one\n");
}

}  // namespace
}  // namespace tact::cli
