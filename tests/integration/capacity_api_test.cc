// The campaign gate over real gRPC: tactd with redis-server and tact-devbroker as processes. Staffing put,
// campaigns planned and released, notices on tact.campaign-notices, state surviving a tactd restart (Redis).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "daemon/campaign/records.h"
#include "daemon/capacity/staffing_csv.h"
#include "tact/v1/capacity.grpc.pb.h"
#include "tests/support/stack.h"
#include "tests/support/wait.h"

namespace tact {
namespace {

using testing::DevBroker;
using testing::RedisServer;
using testing::Tactd;
using testing::TempDir;
using testing::TopicReader;
using testing::WaitFor;

constexpr char kTenant[] = "acme";

v1::PutStaffingRequest SampleStaffing() {
  std::ifstream in(std::string(TACT_SOURCE_DIR) + "/tests/fixtures/capacity/staffing_week.csv");
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<capacity::Staffing> s = capacity::ParseStaffingCsv("staffing_week.csv", text.str());
  EXPECT_TRUE(s.ok()) << s.status();
  v1::PutStaffingRequest req;
  req.set_tenant(kTenant);
  for (const capacity::StaffingInterval& si : s->intervals) {
    *req.add_intervals() = campaign::StaffingIntervalToProto(si);
  }
  return req;
}

v1::CampaignSpec Spec(const std::string& id, int64_t audience) {
  v1::CampaignSpec c;
  c.set_tenant(kTenant);
  c.set_campaign_id(id);
  c.set_audience(audience);
  c.set_channel(v1::EMAIL);
  c.mutable_start()->set_seconds(absl::ToUnixSeconds(absl::FromCivil(absl::CivilMinute(2026, 11, 23, 9, 0),
                                                                     absl::UTCTimeZone())));
  c.mutable_promise()->set_offer("20% off winter tyres until Sunday");
  c.mutable_promise()->set_how_to_respond("call 0800 123 456 or reply to the email");
  return c;
}

template <typename Stub>
std::unique_ptr<Stub> Connect(const Tactd& tactd) {
  return std::make_unique<Stub>(grpc::CreateChannel(tactd.grpc_target(), grpc::InsecureChannelCredentials()));
}

int64_t Sent(const v1::CampaignPlan& p) {
  int64_t n = 0;
  for (const v1::Batch& b : p.schedule()) n += b.messages();
  return n;
}

TEST(CapacityApiTest, StaffingPlanReleaseNoticesAndRestart) {
  TempDir dir;
  RedisServer redis(dir.path());
  DevBroker broker(dir.path(), 1);
  TopicReader notices_topic(broker.bootstrap(), "tact.campaign-notices");
  auto tactd = std::make_unique<Tactd>(dir.path(), broker.bootstrap(), redis.address());
  auto capacity = Connect<v1::Capacity::Stub>(*tactd);
  auto campaigns = Connect<v1::Campaigns::Stub>(*tactd);

  // No staffing yet.
  {
    grpc::ClientContext ctx;
    v1::PlanCampaignRequest req;
    *req.mutable_campaign() = Spec("winter-tyres", 40000);
    v1::CampaignPlan plan;
    const grpc::Status s = campaigns->PlanCampaign(&ctx, req, &plan);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  }
  // Invalid staffing names the field.
  {
    v1::PutStaffingRequest bad = SampleStaffing();
    bad.mutable_intervals(3)->set_aht_seconds(0);
    grpc::ClientContext ctx;
    v1::PutStaffingResponse resp;
    const grpc::Status s = capacity->PutStaffing(&ctx, bad, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(), "intervals[3].aht_seconds: must be in (0, 86400]");
  }
  {
    grpc::ClientContext ctx;
    v1::PutStaffingResponse resp;
    const grpc::Status s = capacity->PutStaffing(&ctx, SampleStaffing(), &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.intervals(), 7 * 96);
  }
  // Plan: a 40,000-recipient email campaign is paced (Erlang A, the sample week has a patience; 20,000 go at once).
  v1::CampaignPlan first_plan;
  {
    grpc::ClientContext ctx;
    v1::PlanCampaignRequest req;
    *req.mutable_campaign() = Spec("winter-tyres", 40000);
    const grpc::Status s = campaigns->PlanCampaign(&ctx, req, &first_plan);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(first_plan.verdict(), v1::VERDICT_PACE) << first_plan.reason();
    EXPECT_EQ(Sent(first_plan), 40000);
    EXPECT_EQ(first_plan.model(), "erlang_a");
    for (const v1::IntervalForecast& f : first_plan.intervals()) EXPECT_FALSE(f.breaks());
  }
  // Propose it: the contact centre hears of it (a plan alone tells nobody).
  {
    grpc::ClientContext ctx;
    v1::ProposeCampaignRequest req;
    *req.mutable_campaign() = Spec("winter-tyres", 20000);
    v1::CampaignPlan proposed;
    const grpc::Status s = campaigns->ProposeCampaign(&ctx, req, &proposed);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(Sent(proposed), 20000);
  }
  // Release it; a second release of the same id is refused.
  {
    grpc::ClientContext ctx;
    v1::ReleaseCampaignRequest req;
    *req.mutable_campaign() = Spec("winter-tyres", 40000);
    v1::Campaign c;
    const grpc::Status s = campaigns->ReleaseCampaign(&ctx, req, &c);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(c.state(), v1::CAMPAIGN_RELEASED);
    EXPECT_GT(c.committed_calls_size(), 0);
    EXPECT_EQ(Sent(c.plan()), 40000);
    grpc::ClientContext ctx2;
    EXPECT_EQ(campaigns->ReleaseCampaign(&ctx2, req, &c).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  }
  // A later campaign sees the released one's load and is paced more slowly.
  {
    grpc::ClientContext ctx;
    v1::PlanCampaignRequest req;
    *req.mutable_campaign() = Spec("snow-chains", 40000);
    v1::CampaignPlan second;
    ASSERT_TRUE(campaigns->PlanCampaign(&ctx, req, &second).ok());
    EXPECT_GT(second.intervals(0).released_calls(), 0);
    EXPECT_NEAR(second.intervals(0).released_calls(), first_plan.intervals(0).campaign_calls(), 1e-6);
    ASSERT_GT(second.schedule_size(), 0);
    EXPECT_GT(absl::FromUnixSeconds(second.last_send().seconds()),
              absl::FromUnixSeconds(first_plan.last_send().seconds()));
  }
  // What cannot be held is not released.
  {
    grpc::ClientContext ctx;
    v1::ReleaseCampaignRequest req;
    *req.mutable_campaign() = Spec("mega-blast", 400000);
    v1::Campaign c;
    const grpc::Status s = campaigns->ReleaseCampaign(&ctx, req, &c);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(s.error_message().find("campaign rejected: the target cannot be held"), std::string::npos)
        << s.error_message();
  }
  // The contact centre acknowledges; resume of a campaign that is not paused is refused.
  {
    grpc::ClientContext ctx;
    v1::AcknowledgeCampaignRequest req;
    req.set_tenant(kTenant);
    req.set_campaign_id("winter-tyres");
    req.set_acknowledged_by("wfm-team");
    v1::Campaign c;
    ASSERT_TRUE(campaigns->AcknowledgeCampaign(&ctx, req, &c).ok());
    EXPECT_TRUE(c.acknowledged());
    grpc::ClientContext ctx2;
    v1::ResumeCampaignRequest resume;
    resume.set_tenant(kTenant);
    resume.set_campaign_id("winter-tyres");
    EXPECT_EQ(campaigns->ResumeCampaign(&ctx2, resume, &c).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  // Notices: kept for ListNotices and published on tact.campaign-notices with the promise.
  {
    grpc::ClientContext ctx;
    v1::ListNoticesRequest req;
    req.set_tenant(kTenant);
    req.set_campaign_id("winter-tyres");
    v1::ListNoticesResponse resp;
    ASSERT_TRUE(campaigns->ListNotices(&ctx, req, &resp).ok());
    std::vector<std::string> kinds;
    for (const v1::CampaignNotice& n : resp.notices()) kinds.push_back(n.kind());
    EXPECT_EQ(kinds, (std::vector<std::string>{"PROPOSED", "RELEASED", "ACKNOWLEDGED"}));
    const v1::CampaignNotice& released = resp.notices(1);
    EXPECT_EQ(released.promise().offer(), "20% off winter tyres until Sunday");
    EXPECT_EQ(released.verdict(), v1::VERDICT_PACE);
    EXPECT_GT(released.predicted_size(), 0);
    EXPECT_GT(released.schedule_size(), 0);
  }
  // Publishing is synchronous, so the three notices are on the topic now; the three PlanCampaign calls (the
  // refused one, the first plan, snow-chains) published nothing.
  ASSERT_TRUE(WaitFor([&] { return notices_topic.Count() >= 3; }, absl::Seconds(30),
                      "3 notices on tact.campaign-notices"));
  bool saw_released = false;
  for (const testing::Record& r : notices_topic.Records()) {
    EXPECT_EQ(r.key, "acme:winter-tyres") << r.value;
    if (r.value.find("\"kind\":\"RELEASED\"") != std::string::npos) {
      saw_released = true;
      EXPECT_NE(r.value.find("\"offer\":\"20% off winter tyres until Sunday\""), std::string::npos) << r.value;
      EXPECT_NE(r.value.find("\"since_kind\":\"PROPOSED\""), std::string::npos) << r.value;
    }
  }
  EXPECT_EQ(notices_topic.Count(), 3u);
  EXPECT_TRUE(saw_released);

  // Restart tactd: the released campaign is still there (Redis).
  tactd->process().Signal(SIGTERM);
  ASSERT_EQ(tactd->process().Wait(absl::Seconds(30)), 0);
  tactd = std::make_unique<Tactd>(dir.path(), broker.bootstrap(), redis.address());
  campaigns = Connect<v1::Campaigns::Stub>(*tactd);
  {
    grpc::ClientContext ctx;
    v1::GetCampaignRequest req;
    req.set_tenant(kTenant);
    req.set_campaign_id("winter-tyres");
    v1::Campaign c;
    const grpc::Status s = campaigns->GetCampaign(&ctx, req, &c);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(c.acknowledged());
    EXPECT_EQ(c.acknowledged_by(), "wfm-team");
    EXPECT_EQ(Sent(c.plan()), 40000);
    grpc::ClientContext ctx2;
    req.set_campaign_id("never-released");
    EXPECT_EQ(campaigns->GetCampaign(&ctx2, req, &c).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

}  // namespace
}  // namespace tact
