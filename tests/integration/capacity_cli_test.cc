// tactctl erlang / plan as a user runs them: the built binary, its exit code, its exact JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace tact {
namespace {

using nlohmann::json;
using testing::Subprocess;
using testing::TempDir;

struct CliRun {
  int exit_code = -1;
  std::string output;
};

CliRun Tactctl(const TempDir& dir, std::vector<std::string> args) {
  static int n = 0;
  const std::string log = dir.path() + "/tactctl-" + std::to_string(++n) + ".out";
  args.insert(args.begin(), TACTCTL_BIN);
  Subprocess p(args, log);
  CliRun r;
  r.exit_code = p.Wait(absl::Seconds(60)).value_or(-1);
  r.output = testing::ReadFile(log);
  return r;
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
  EXPECT_EQ(keys, (std::vector<std::string>{"abandon_rate", "agents_needed", "asa_seconds", "occupancy", "p_wait",
                                            "service_level"}));
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
  const CliRun r = Tactctl(dir, {"plan", "--staffing", kStaffing, "--audience", "20000", "--channel", "email", "--start",
                              "2026-11-23T09:00:00Z", "--svg", svg, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_EQ(j["verdict"], "PACE");
  int64_t sent = 0;
  for (const json& b : j["schedule"]) sent += b["messages"].get<int64_t>();
  EXPECT_EQ(sent, 20000);
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

}  // namespace
}  // namespace tact
