// tactctl erlang / plan as a user runs them: the built binary, its exit code, its exact JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "daemon/store/redis_capacity_store.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"

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

const std::string kStaffing = std::string(TACT_SOURCE_DIR) + "/tests/fixtures/capacity/staffing_week.csv";

TEST(CapacityCliTest, ErlangJsonHasExactlyTheDocumentedKeysAndTheCheckVector) {
  TempDir dir;
  const CliRun r = Tactctl(dir, {"erlang", "--calls", "50", "--interval-s", "900", "--aht-s", "180", "--agents", "14",
                              "--threshold-s", "20", "--target-sl", "0.8", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"abandon_rate", "agents_needed", "asa_seconds", "model", "occupancy",
                                            "p_wait", "service_level"}));
  EXPECT_EQ(j["model"], "erlang_c");
  EXPECT_NEAR(j["p_wait"].get<double>(), 0.1741, 1e-3);
  EXPECT_NEAR(j["service_level"].get<double>(), 0.8884, 1e-3);
  EXPECT_NEAR(j["asa_seconds"].get<double>(), 7.836, 1e-3);
  EXPECT_NEAR(j["occupancy"].get<double>(), 10.0 / 14, 1e-9);
  EXPECT_EQ(j["abandon_rate"].get<double>(), 0);
  EXPECT_EQ(j["agents_needed"].get<int>(), 14);
}

TEST(CapacityCliTest, ErlangWithPatienceUsesErlangA) {
  TempDir dir;
  const CliRun r = Tactctl(dir, {"erlang", "--calls", "80", "--aht-s", "180", "--agents", "10", "--threshold-s", "20",
                              "--patience-s", "60", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  // Reference: mpmath, Mandelbaum–Zeltyn closed forms (see tests/unit/capacity/erlang_test.cc).
  EXPECT_NEAR(j["p_wait"].get<double>(), 0.831496577997, 1e-3);
  EXPECT_NEAR(j["abandon_rate"].get<double>(), 0.394747166141, 1e-3);
  EXPECT_NEAR(j["service_level"].get<double>(), 0.327580763098, 1e-3);
  EXPECT_NEAR(j["asa_seconds"].get<double>(), 23.6848299684, 1e-3);
  EXPECT_EQ(j["agents_needed"].get<int>(), 17);
}

TEST(CapacityCliTest, ErlangOverloadIsNullNotNaN) {
  TempDir dir;
  const CliRun r = Tactctl(dir, {"erlang", "--calls", "80", "--aht-s", "180", "--agents", "10", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_TRUE(j["asa_seconds"].is_null());
  EXPECT_EQ(j["service_level"].get<double>(), 0);
  EXPECT_EQ(j["p_wait"].get<double>(), 1);
  const CliRun text = Tactctl(dir, {"erlang", "--calls", "80", "--aht-s", "180", "--agents", "10"});
  EXPECT_NE(text.output.find("UNSTABLE"), std::string::npos) << text.output;
}

TEST(CapacityCliTest, ErlangBadFlagIsUsageError) {
  TempDir dir;
  const CliRun r = Tactctl(dir, {"erlang", "--calls", "80", "--aht-s", "0", "--agents", "10"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--aht-s: must be in (0, 86400]"), std::string::npos) << r.output;
}

TEST(CapacityCliTest, PlanPacesABigCampaignAndDrawsIt) {
  TempDir dir;
  const std::string svg = dir.path() + "/plan.svg";
  // 40,000: the sample week has a patience, so Erlang A at 85% in 20 s (target + margin); 20,000 go at once.
  const CliRun r = Tactctl(dir, {"plan", "--staffing", kStaffing, "--audience", "40000", "--channel", "email", "--start",
                              "2026-11-23T09:00:00Z", "--svg", svg, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_EQ(j["verdict"], "PACE");
  EXPECT_EQ(j["model"], "erlang_a");
  int64_t sent = 0;
  for (const json& b : j["schedule"]) sent += b["messages"].get<int64_t>();
  EXPECT_EQ(sent, 40000);
  EXPECT_EQ(j["first_send"], "2026-11-23T09:00:00Z");
  for (const json& row : j["intervals"]) {
    EXPECT_FALSE(row["breaks"].get<bool>()) << row["start"];
  }
  const std::string drawing = testing::ReadFile(svg);
  EXPECT_NE(drawing.find("<svg"), std::string::npos);
  EXPECT_NE(drawing.find("target 80%"), std::string::npos);
}

TEST(CapacityCliTest, PlanRejectsWhatCannotBeHeldWithExitOne) {
  TempDir dir;
  const CliRun r = Tactctl(dir, {"plan", "--staffing", kStaffing, "--audience", "400000", "--start",
                              "2026-11-23T09:00:00Z"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("verdict: REJECT"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("more scheduled agent(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("FAIL"), std::string::npos) << r.output;
}

TEST(CapacityCliTest, PlanSmallCampaignIsReleased) {
  TempDir dir;
  const CliRun r = Tactctl(dir, {"plan", "--staffing", kStaffing, "--audience", "2000", "--channel", "sms", "--start",
                              "2026-11-23T10:00:00Z", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["verdict"], "RELEASE");
}

TEST(CapacityCliTest, PlanCountsAlreadyReleasedCampaigns) {
  TempDir dir;
  // Two campaigns as Campaigns.GetCampaign returns them (proto3 JSON), 30 committed calls at 10:00 and 10:15.
  const std::string released = dir.path() + "/released.json";
  std::ofstream(released) << R"({"campaigns": [
    {"spec": {"tenant": "acme", "campaignId": "earlier"}, "state": "CAMPAIGN_RELEASED",
     "committedStart": "2026-11-23T10:00:00Z", "committedCalls": [30, 30]},
    {"spec": {"tenant": "acme", "campaignId": "other"}, "committedStart": "2026-11-23T10:00:00Z",
     "committedCalls": [5]}]})";
  const std::vector<std::string> plan = {"plan", "--staffing", kStaffing, "--audience", "2000", "--channel", "sms",
                                         "--start", "2026-11-23T10:00:00Z", "--json"};
  auto first_interval_released = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = plan;
    args.insert(args.end(), extra.begin(), extra.end());
    const CliRun r = Tactctl(dir, args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const json j = json::parse(r.output, nullptr, false);
    return j.is_discarded() ? -1.0 : j["intervals"][0]["released_calls"].get<double>();
  };
  EXPECT_EQ(first_interval_released({}), 0);
  EXPECT_NEAR(first_interval_released({"--released", released}), 35, 1e-9);
  // Re-planning a released campaign leaves its own load out.
  EXPECT_NEAR(first_interval_released({"--released", released, "--id", "earlier"}), 5, 1e-9);

  std::ofstream(dir.path() + "/bad.json") << R"([{"spec": {"audience": "many"}}])";
  CliRun r = Tactctl(dir, {"plan", "--staffing", kStaffing, "--audience", "10", "--start", "2026-11-23T10:00:00Z",
                           "--released", dir.path() + "/bad.json"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--released: " + dir.path() + "/bad.json: campaign [0]:"), std::string::npos) << r.output;
  r = Tactctl(dir, {"plan", "--staffing", kStaffing, "--audience", "10", "--start", "2026-11-23T10:00:00Z",
                    "--redis", "127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--tenant: required with --redis"), std::string::npos) << r.output;
}

TEST(CapacityCliTest, PlanReadsReleasedCampaignsFromRedis) {
  TempDir dir;
  testing::RedisServer redis(dir.path());
  v1::Campaign c;
  c.mutable_spec()->set_tenant("acme");
  c.mutable_spec()->set_campaign_id("earlier");
  c.mutable_committed_start()->set_seconds(absl::ToUnixSeconds(absl::FromCivil(absl::CivilMinute(2026, 11, 23, 10, 0),
                                                                               absl::UTCTimeZone())));
  c.add_committed_calls(12);
  store::RedisSettings settings;
  ASSERT_TRUE(store::ParseRedisAddress(redis.address(), &settings).ok());
  store::RedisCapacityStore store(settings);
  ASSERT_TRUE(store.PutCampaign(c, /*create=*/true).ok());
  const CliRun r = Tactctl(dir, {"plan", "--staffing", kStaffing, "--audience", "2000", "--channel", "sms", "--start",
                                 "2026-11-23T10:00:00Z", "--json", "--redis", redis.address(), "--tenant", "acme"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NEAR(json::parse(r.output)["intervals"][0]["released_calls"].get<double>(), 12, 1e-9);
  const CliRun down = Tactctl(dir, {"plan", "--staffing", kStaffing, "--audience", "10", "--start",
                                    "2026-11-23T10:00:00Z", "--redis", "127.0.0.1:1", "--tenant", "acme"});
  EXPECT_EQ(down.exit_code, 2) << down.output;
  EXPECT_NE(down.output.find("tactctl: --redis: redis connect"), std::string::npos) << down.output;
}

}  // namespace
}  // namespace tact
