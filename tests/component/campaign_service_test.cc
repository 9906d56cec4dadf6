// Component tier (tests/component/in_process_services.h): campaign flows through the Capacity, Campaigns,
// Throttle and Signals services on an in-process channel, the notice port a fake.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/core/proto_time.h"
#include "tests/component/in_process_services.h"
#include "tests/support/campaign_fixtures.h"

namespace tact {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Call;

const std::string kPolicy = R"(
version: "component-1"
rules:
  - id: promo-daily
    description: at most five promotions a day
    match: { message_class: PROMOTION }
    limit: { count: 5, window: 1d }
)" + std::string(testing::kPromotionGateYaml);

// The services' clock starts at the campaign's start (tests/support/campaign_fixtures.h).
const absl::Time kStart = testing::kCampaignStart;
using testing::CallbackSpec;
using testing::SmallDesk;

class CampaignComponentTest : public ::testing::Test, protected testing::InProcessServices {
 protected:
  CampaignComponentTest() : InProcessServices(kPolicy, kStart + absl::Minutes(1)) {}

  grpc::Status PutStaffing(const v1::PutStaffingRequest& req) {
    v1::PutStaffingResponse resp;
    return Call(capacity_.get(), &v1::Capacity::Stub::PutStaffing, req, &resp);
  }
  grpc::Status Plan(const v1::CampaignSpec& spec, v1::CampaignPlan* plan) {
    v1::PlanCampaignRequest req;
    *req.mutable_campaign() = spec;
    return Call(campaigns_.get(), &v1::Campaigns::Stub::PlanCampaign, req, plan);
  }
  grpc::Status Release(const v1::CampaignSpec& spec, v1::Campaign* c) {
    v1::ReleaseCampaignRequest req;
    *req.mutable_campaign() = spec;
    return Call(campaigns_.get(), &v1::Campaigns::Stub::ReleaseCampaign, req, c);
  }
  grpc::Status Acknowledge(const std::string& id, v1::Campaign* c) {
    v1::AcknowledgeCampaignRequest req;
    req.set_tenant("acme");
    req.set_campaign_id(id);
    req.set_acknowledged_by("wfm-team");
    return Call(campaigns_.get(), &v1::Campaigns::Stub::AcknowledgeCampaign, req, c);
  }
  v1::Decision Check(const std::string& event_id, const std::string& campaign_id) {
    v1::CheckRequest req;
    v1::OutboundEvent* ev = req.mutable_event();
    ev->set_event_id(event_id);
    ev->set_tenant("acme");
    ev->set_customer_id(absl::StrCat("customer-", event_id));
    ev->set_channel(v1::EMAIL);
    ev->set_message_class(v1::PROMOTION);
    ev->set_campaign_id(campaign_id);
    v1::CheckResponse resp;
    const grpc::Status s = Call(throttle_.get(), &v1::Throttle::Stub::Check, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.decision();
  }
  std::vector<std::string> StoredNoticeKinds(const std::string& campaign_id) {
    v1::ListNoticesRequest req;
    req.set_tenant("acme");
    req.set_campaign_id(campaign_id);
    v1::ListNoticesResponse resp;
    const grpc::Status s = Call(campaigns_.get(), &v1::Campaigns::Stub::ListNotices, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> kinds;
    for (const v1::CampaignNotice& n : resp.notices()) kinds.push_back(n.kind());
    return kinds;
  }
};

TEST_F(CampaignComponentTest, ProposePlanReleaseAcknowledgeOpensTheGateAndEveryNoticeReachesThePort) {
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  EXPECT_EQ(Check("e0", "callback-week").reason(), "campaign callback-week not released");

  v1::CampaignPlan plan;
  grpc::Status s = Plan(CallbackSpec("callback-week", 60), &plan);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(plan.verdict(), v1::VERDICT_PACE) << plan.reason();
  EXPECT_GT(plan.schedule_size(), 1);
  EXPECT_THAT(notices_.Kinds(), ElementsAre("PLANNED"));

  v1::Campaign released;
  s = Release(CallbackSpec("callback-week", 60), &released);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(released.state(), v1::CAMPAIGN_RELEASED);
  EXPECT_EQ(TimeFromProto(released.released_at()), clock_.Now());
  const v1::Decision waiting = Check("e1", "callback-week");
  EXPECT_EQ(waiting.decision(), v1::DEFER);
  EXPECT_EQ(waiting.rule_id(), "campaign-gate:promotions");
  EXPECT_EQ(waiting.reason(), "waiting for contact-centre acknowledgement");

  v1::Campaign acked;
  s = Acknowledge("callback-week", &acked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(acked.acknowledged());
  EXPECT_EQ(acked.acknowledged_by(), "wfm-team");
  const v1::Decision open = Check("e2", "callback-week");
  EXPECT_EQ(open.decision(), v1::RELEASE) << open.reason();
  EXPECT_THAT(open.matched_rules(), ::testing::Contains("campaign-gate:promotions"));

  // The port got each notice once, in order, with the plan's figures; the desk's own record agrees.
  EXPECT_THAT(notices_.Kinds(), ElementsAre("PLANNED", "RELEASED", "ACKNOWLEDGED"));
  EXPECT_EQ(StoredNoticeKinds("callback-week"), notices_.Kinds());
  const v1::CampaignNotice rel = notices_.Notices()[1];
  EXPECT_EQ(rel.tenant(), "acme");
  EXPECT_EQ(rel.campaign_id(), "callback-week");
  EXPECT_EQ(rel.verdict(), v1::VERDICT_PACE);
  EXPECT_EQ(rel.schedule_size(), plan.schedule_size());
  EXPECT_EQ(rel.promise().offer(), "a free callback for every recipient");
  EXPECT_EQ(notices_.Notices()[2].acknowledged_by(), "wfm-team");
}

TEST_F(CampaignComponentTest, ErrorsCrossTheChannelWithTheirCodeAndField) {
  v1::CampaignPlan plan;
  grpc::Status s = Call(campaigns_.get(), &v1::Campaigns::Stub::PlanCampaign, v1::PlanCampaignRequest(), &plan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "campaign: required");
  v1::Campaign c;
  s = Call(campaigns_.get(), &v1::Campaigns::Stub::ReleaseCampaign, v1::ReleaseCampaignRequest(), &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "campaign: required");

  s = Plan(CallbackSpec("callback-week", 60), &plan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("no staffing for tenant 'acme'"));

  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  s = Plan(CallbackSpec("callback-week", 0), &plan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("campaign.audience"));

  v1::PutStaffingRequest bad = SmallDesk();
  bad.mutable_intervals(3)->set_aht_seconds(-1);
  s = PutStaffing(bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("intervals[3].aht_seconds"));

  ASSERT_TRUE(Release(CallbackSpec("callback-week", 60), &c).ok());
  s = Release(CallbackSpec("callback-week", 60), &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(notices_.Kinds(), ElementsAre("RELEASED"));  // refused calls notify nobody
}

TEST_F(CampaignComponentTest, ARefusingNoticePortFailsTheCallAfterTheNoticeIsRecorded) {
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  notices_.Fail(absl::UnavailableError("kafka deliver tact.campaign-notices: broker down"));
  v1::Campaign c;
  const grpc::Status s = Release(CallbackSpec("callback-week", 60), &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(notices_.Kinds(), ElementsAre());
  EXPECT_THAT(StoredNoticeKinds("callback-week"), ElementsAre("RELEASED"));
}

TEST_F(CampaignComponentTest, ContactSignalsThroughSignalsPausePublishAPausedNoticeAndResumeReopens) {
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  v1::Campaign c;
  ASSERT_TRUE(Release(CallbackSpec("callback-week", 60), &c).ok());
  ASSERT_TRUE(Acknowledge("callback-week", &c).ok());
  ASSERT_EQ(Check("p0", "callback-week").decision(), v1::RELEASE);
  for (int i = 0; i < 8; ++i) {  // far over the plan's prediction one minute in
    v1::PutSignalRequest req;
    v1::Signal* sig = req.mutable_signal();
    sig->set_tenant("acme");
    sig->set_customer_id(absl::StrCat("caller-", i));
    sig->set_kind(v1::CONTACT);
    sig->set_campaign_id("callback-week");
    sig->set_signal_id(absl::StrCat("call-", i));
    *sig->mutable_at() = TimeToProto(clock_.Now());
    v1::PutSignalResponse resp;
    const grpc::Status s = Call(signals_.get(), &v1::Signals::Stub::PutSignal, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_THAT(notices_.Kinds(), ElementsAre("RELEASED", "ACKNOWLEDGED", "PAUSED"));
  const v1::CampaignNotice paused = notices_.Notices()[2];
  EXPECT_THAT(paused.reason(), HasSubstr("contacts"));
  EXPECT_EQ(paused.figures().contacts(), 5);  // paused at min_contacts; later contacts only counted
  const v1::Decision held = Check("p1", "callback-week");
  EXPECT_EQ(held.decision(), v1::DEFER);
  EXPECT_THAT(held.reason(), HasSubstr("campaign callback-week paused: contacts"));

  v1::ResumeCampaignRequest resume;
  resume.set_tenant("acme");
  resume.set_campaign_id("callback-week");
  const grpc::Status s = Call(campaigns_.get(), &v1::Campaigns::Stub::ResumeCampaign, resume, &c);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(c.state(), v1::CAMPAIGN_RELEASED);
  EXPECT_THAT(notices_.Kinds(), ElementsAre("RELEASED", "ACKNOWLEDGED", "PAUSED", "RESUMED"));
  EXPECT_EQ(Check("p1", "callback-week").decision(), v1::RELEASE);
}

}  // namespace
}  // namespace tact
