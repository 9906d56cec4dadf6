#include "daemon/cli/capacity_verbs.h"

#include <gtest/gtest.h>

#include <fstream>

#include "daemon/core/proto_time.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

const std::string kStaffing = testing::SourceDir() + "/tests/fixtures/capacity/staffing_week.csv";

TEST(ErlangVerbTest, JsonHasExactlyTheDocumentedKeys) {
  Captured c;
  ASSERT_EQ(Erlang({.calls = 50, .aht_s = 180, .agents = 14, .json = true}, c.io), kExitOk);
  const json j = json::parse(c.out.str());
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_THAT(keys, ::testing::ElementsAre("abandon_rate", "agents_needed", "asa_seconds", "model", "occupancy",
                                           "p_wait", "service_level"));
  EXPECT_EQ(j["model"], "erlang_c");
  EXPECT_EQ(j["agents_needed"], 14);
  EXPECT_NEAR(j["p_wait"].get<double>(), 0.1741, 5e-5);
}

TEST(ErlangVerbTest, TextWithShrinkageAndAnUnstableQueue) {
  Captured c;
  ASSERT_EQ(Erlang({.calls = 50, .aht_s = 180, .agents = 14, .shrinkage = 0.3}, c.io), kExitOk);
  EXPECT_THAT(c.out.str(), HasSubstr("offered load    10.000 Erlangs (50 calls × 180 s AHT / 900 s), 14 agents\n"
                                     "model           Erlang C (no abandonment; give --patience-s for Erlang A)\n"
                                     "P(wait)         0.1741\n"));
  EXPECT_THAT(c.out.str(), HasSubstr("agents needed   14 on the phones for 80% in 20 s = 20 scheduled at 30% "
                                     "shrinkage\n"));
  Captured u;
  ASSERT_EQ(Erlang({.calls = 800, .aht_s = 180, .agents = 10}, u.io), kExitOk);
  EXPECT_THAT(u.out.str(), HasSubstr("UNSTABLE        10 agents <= 160.000 Erlangs: the queue grows without bound\n"));
  EXPECT_THAT(u.out.str(), HasSubstr("ASA             unbounded\n"));
}

TEST(ErlangVerbTest, OutOfRangeIsAUsageErrorNamingTheFlag) {
  Captured c;
  EXPECT_EQ(Erlang({.calls = 80, .aht_s = 0, .agents = 10}, c.io), kExitUsage);
  EXPECT_EQ(c.err.str(), "tactctl: --aht-s: must be in (0, 86400]\n");
  EXPECT_EQ(c.out.str(), "");
}

v1::Campaign Released(const std::string& id, int calls) {
  v1::Campaign c;
  c.mutable_spec()->set_tenant("acme");
  c.mutable_spec()->set_campaign_id(id);
  *c.mutable_committed_start() = TimeToProto(absl::FromCivil(absl::CivilMinute(2026, 11, 23, 10, 0),
                                                             absl::UTCTimeZone()));
  c.add_committed_calls(calls);
  return c;
}

TEST(PlanVerbTest, CountsTheReleasedCampaignsTheReaderGives) {
  std::vector<std::pair<std::string, std::string>> asked;
  const ReleasedCampaignsReader redis = [&](const std::string& address, const std::string& tenant) {
    asked.emplace_back(address, tenant);
    return absl::StatusOr<std::vector<v1::Campaign>>(std::vector<v1::Campaign>{Released("a", 12), Released("b", 3)});
  };
  PlanArgs args{.staffing = kStaffing, .audience = 2000, .channel = "sms", .start = "2026-11-23T10:00:00Z",
                .id = "b", .json = true, .redis = "redis:6379", .tenant = "acme"};
  Captured c;
  ASSERT_EQ(Plan(args, redis, c.io), kExitOk) << c.err.str();
  EXPECT_THAT(asked, ::testing::ElementsAre(std::pair<std::string, std::string>("redis:6379", "acme")));
  const json j = json::parse(c.out.str());
  EXPECT_EQ(j["verdict"], "RELEASE");
  EXPECT_EQ(j["campaign_id"], "b");
  EXPECT_NEAR(j["intervals"][0]["released_calls"].get<double>(), 12, 1e-9);  // "b" itself is left out
}

TEST(PlanVerbTest, ReaderFailureAndMissingTenantAreUsageErrors) {
  const ReleasedCampaignsReader down = [](const std::string&, const std::string&) {
    return absl::StatusOr<std::vector<v1::Campaign>>(absl::UnavailableError("redis connect: refused"));
  };
  PlanArgs args{.staffing = kStaffing, .audience = 10, .start = "2026-11-23T10:00:00Z", .redis = "x:1"};
  Captured c;
  EXPECT_EQ(Plan(args, down, c.io), kExitUsage);
  EXPECT_EQ(c.err.str(), "tactctl: --tenant: required with --redis\n");
  args.tenant = "acme";
  Captured d;
  EXPECT_EQ(Plan(args, down, d.io), kExitUsage);
  EXPECT_EQ(d.err.str(), "tactctl: --redis: redis connect: refused\n");
}

TEST(PlanVerbTest, RejectIsExitOneWithTheFailingIntervals) {
  Captured c;
  const PlanArgs args{.staffing = kStaffing, .audience = 400000, .start = "2026-11-23T09:00:00Z"};
  EXPECT_EQ(Plan(args, nullptr, c.io), kExitFailed);
  EXPECT_THAT(c.out.str(), HasSubstr("\nverdict: REJECT\n"));
  EXPECT_THAT(c.out.str(), HasSubstr(" FAIL\n"));
}

TEST(PlanVerbTest, APolicysNoticeRuleRejectsAnEarlyStartWithTheEarliestOrMovesTheStartToIt) {
  const std::string policy = testing::SourceDir() + "/policies/examples";  // promotions: 48h notice, acknowledged
  PlanArgs args{.staffing = kStaffing, .audience = 20000, .start = "2026-11-23T09:00:00Z", .tenant = "acme",
                .policy = policy, .message_class = "promotion", .release_at = "2026-11-23T08:00:00Z"};
  Captured early;
  EXPECT_EQ(Plan(args, nullptr, early.io), kExitFailed) << early.err.str();
  EXPECT_THAT(early.out.str(), HasSubstr("\nverdict: REJECT\nnotice lead time 48h (campaign gate promotions): "));
  EXPECT_THAT(early.out.str(), HasSubstr("the earliest feasible start is 2026-11-25T08:00:00Z (use --start earliest"));
  EXPECT_THAT(early.out.str(), HasSubstr("notice: campaign gate promotions, 48h lead time: earliest start "
                                         "2026-11-25T08:00:00Z; sends wait for the contact centre's acknowledgement"));

  args.start = "earliest";
  args.json = true;
  Captured moved;
  ASSERT_EQ(Plan(args, nullptr, moved.io), kExitOk) << moved.err.str();
  const json j = json::parse(moved.out.str());
  EXPECT_EQ(j["notice"]["gate"], "promotions");
  EXPECT_EQ(j["notice"]["earliest_start"], "2026-11-25T08:00:00Z");
  EXPECT_EQ(j["notice"]["start_moved"], true);
  EXPECT_GE(j["first_send"].get<std::string>(), "2026-11-25T08:00:00Z");

  args.message_class = "proactive_service";  // the service-campaigns gate: no notice period
  args.start = "2026-11-23T09:00:00Z";
  Captured service;
  ASSERT_EQ(Plan(args, nullptr, service.io), kExitOk) << service.err.str();
  EXPECT_EQ(json::parse(service.out.str())["notice"]["gate"], "service-campaigns");

  args.message_class = "newsletter";
  Captured bad;
  EXPECT_EQ(Plan(args, nullptr, bad.io), kExitUsage);
  EXPECT_EQ(bad.err.str(),
            "tactctl: --class: 'newsletter' is not TRANSACTIONAL, SERVICE, PROACTIVE_SERVICE or PROMOTION\n");
}

TEST(PlanVerbTest, BadFlagsNameTheFlag) {
  Captured c;
  EXPECT_EQ(Plan({.staffing = kStaffing, .audience = 1, .channel = "fax", .start = "2026-11-23T09:00:00Z"}, nullptr,
                 c.io),
            kExitUsage);
  EXPECT_EQ(c.err.str(), "tactctl: --channel: must be email, sms, push or in_app\n");
}

TEST(ParseReleasedTest, OneAListOrAnObjectWithCampaigns) {
  EXPECT_EQ(ParseReleased("f", R"({"spec":{"campaignId":"a"}})")->size(), 1u);
  EXPECT_EQ(ParseReleased("f", R"([{"spec":{"campaignId":"a"}},{}])")->size(), 2u);
  EXPECT_EQ(ParseReleased("f", R"({"campaigns":[{}]})")->size(), 1u);
  EXPECT_EQ(ParseReleased("f", "[").status().message(), "f: not valid JSON");
  EXPECT_EQ(ParseReleased("f", "3").status().message(), "f: expected a campaign or a list");
  EXPECT_THAT(std::string(ParseReleased("f", R"([{"spec":{"audience":"many"}}])").status().message()),
              ::testing::StartsWith("f: campaign [0]: "));
}

TEST(ParseChannelTest, NamesInAnyCase) {
  EXPECT_EQ(ParseChannel("SMS"), v1::SMS);
  EXPECT_EQ(ParseChannel("in-app"), v1::IN_APP);
  EXPECT_EQ(ParseChannel("fax"), std::nullopt);
}

// A staffing CSV of `days` always-open days in the test's temp dir.
std::string WriteStaffing(const std::string& name, const std::string& row_tail, int days = 4) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream out(path);
  out << "start,agents,aht_s,baseline_calls,patience_s,target_sl,threshold_s\n";
  const absl::Time day = absl::FromCivil(absl::CivilDay(2026, 11, 23), absl::UTCTimeZone());
  for (int i = 0; i < days * 96; ++i) out << Rfc3339Z(day + i * absl::Minutes(15)) << "," << row_tail << "\n";
  return path;
}

TEST(ErlangVerbTest, FurtherTargetsAllHold) {
  Captured c;
  ASSERT_EQ(Erlang({.calls = 50, .aht_s = 180, .agents = 14, .service_levels = {"98/90"}, .max_asa_s = 10}, c.io),
            kExitOk);
  // SL90(14) = 97.64% < 98% (hand-checked): 15.
  EXPECT_THAT(c.out.str(), HasSubstr("agents needed   15 on the phones for 80% in 20 s, 98% in 90 s, ASA <= 10 s\n"));
  Captured bad;
  EXPECT_EQ(Erlang({.calls = 50, .aht_s = 180, .agents = 14, .service_levels = {"ninety"}}, bad.io), kExitUsage);
  EXPECT_THAT(bad.err.str(), HasSubstr("tactctl: --sl: must be <percent>/<seconds>"));
  Captured ab;
  EXPECT_EQ(Erlang({.calls = 50, .aht_s = 180, .agents = 14, .max_abandon = 0.05}, ab.io), kExitUsage);
  EXPECT_EQ(ab.err.str(), "tactctl: --max-abandon: needs --patience-s (Erlang A)\n");
}

TEST(ErlangAndPlanTest, AgreeOnTheSameInputs) {
  // 10 agents, 180 s, 55 calls, patience 60 s: Erlang A needs 12-13 for 80/20 where Erlang C needs 15.
  const std::string staffing = WriteStaffing("agree.csv", "10,180,55,60,0.8,20");
  Captured p;
  ASSERT_EQ(Plan({.staffing = staffing, .audience = 50, .start = "2026-11-23T09:00:00Z", .json = true,
                  .margin = 0},
                 nullptr, p.io),
            kExitOk)
      << p.err.str();
  const json plan = json::parse(p.out.str());
  EXPECT_EQ(plan["model"], "erlang_a");
  const json& row = plan["intervals"][0];
  Captured e;
  ASSERT_EQ(Erlang({.calls = row["baseline_calls"].get<double>() + row["campaign_calls"].get<double>(),
                    .aht_s = 180, .agents = 10, .patience_s = 60, .json = true},
                   e.io),
            kExitOk);
  const json erlang = json::parse(e.out.str());
  EXPECT_EQ(erlang["model"], row["model"]);
  EXPECT_EQ(erlang["model"], "erlang_a");
  EXPECT_EQ(erlang["agents_needed"], row["agents_needed"]);
  EXPECT_DOUBLE_EQ(erlang["service_level"].get<double>(), row["service_level"].get<double>());
  // Erlang C on the same calls needs more (hand-checked at 55 calls: 15): the plan is not sizing by Erlang C.
  Captured ec;
  ASSERT_EQ(Erlang({.calls = row["baseline_calls"].get<double>() + row["campaign_calls"].get<double>(),
                    .aht_s = 180, .agents = 10, .json = true},
                   ec.io),
            kExitOk);
  EXPECT_GT(json::parse(ec.out.str())["agents_needed"].get<int>(), row["agents_needed"].get<int>());
  EXPECT_DOUBLE_EQ(erlang["service_level"].get<double>(), row["service_level"].get<double>());
  EXPECT_DOUBLE_EQ(erlang["abandon_rate"].get<double>(), row["abandon_rate"].get<double>());
}

TEST(PlanVerbTest, TextStatesTheModelAndTheBuffer) {
  Captured c;
  ASSERT_EQ(Plan({.staffing = kStaffing, .audience = 2000, .start = "2026-11-23T09:00:00Z"}, nullptr, c.io), kExitOk)
      << c.err.str();
  EXPECT_THAT(c.out.str(), HasSubstr("\nmodel: Erlang"));
  EXPECT_THAT(c.out.str(), HasSubstr("\nplanning buffer: planned to 85% in 20 s (target 80% in 20 s, margin 0.05)\n"));
  EXPECT_THAT(c.out.str(), HasSubstr("\nminimum batch: 20 messages (the last may be smaller)\n"));
}

TEST(PlanVerbTest, BadCurveAndPlanningFlagsNameTheFlag) {
  const std::string start = "2026-11-23T09:00:00Z";
  Captured half;
  EXPECT_EQ(Plan({.staffing = kStaffing, .audience = 100, .start = start, .curve = "1h:0.5"}, nullptr, half.io),
            kExitUsage);
  EXPECT_THAT(half.err.str(), ::testing::StartsWith("tactctl: --curve: response_curve: shares sum to 0.5000; they "
                                                    "must sum to 1"));
  Captured margin;
  EXPECT_EQ(Plan({.staffing = kStaffing, .audience = 100, .start = start, .margin = 0.7}, nullptr, margin.io),
            kExitUsage);
  EXPECT_EQ(margin.err.str(), "tactctl: --margin: must be in [0, 0.5]\n");
  Captured batch;
  EXPECT_EQ(Plan({.staffing = kStaffing, .audience = 100, .start = start, .min_batch = -5}, nullptr, batch.io),
            kExitUsage);
  EXPECT_EQ(batch.err.str(), "tactctl: --min-batch: must be >= 0\n");
}

}  // namespace
}  // namespace tact::cli
