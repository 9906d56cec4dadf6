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

// The same gate with a 48-hour notice rule (policies/examples/campaign-gates.yaml's promotions).
const std::string kNoticePolicy = R"(
version: "component-notice"
rules: []
campaign_gates:
  - id: promotions
    match: { tenant: acme, message_class: PROMOTION }
    require_acknowledgement: true
    min_notice: 48h
)";

class CampaignServices : public ::testing::Test, protected testing::InProcessServices {
 protected:
  explicit CampaignServices(const std::string& policy) : InProcessServices(policy, kStart + absl::Minutes(1)) {}

  grpc::Status PutStaffing(const v1::PutStaffingRequest& req) {
    v1::PutStaffingResponse resp;
    return Call(capacity_.get(), &v1::Capacity::Stub::PutStaffing, req, &resp);
  }
  grpc::Status Plan(const v1::CampaignSpec& spec, v1::CampaignPlan* plan) {
    v1::PlanCampaignRequest req;
    *req.mutable_campaign() = spec;
    return Call(campaigns_.get(), &v1::Campaigns::Stub::PlanCampaign, req, plan);
  }
  grpc::Status Propose(const v1::CampaignSpec& spec, v1::CampaignPlan* plan) {
    v1::ProposeCampaignRequest req;
    *req.mutable_campaign() = spec;
    return Call(campaigns_.get(), &v1::Campaigns::Stub::ProposeCampaign, req, plan);
  }
  grpc::Status Cancel(const std::string& id, const std::string& by, const std::string& reason, v1::Campaign* c) {
    v1::CancelCampaignRequest req;
    req.set_tenant("acme");
    req.set_campaign_id(id);
    req.set_cancelled_by(by);
    req.set_reason(reason);
    return Call(campaigns_.get(), &v1::Campaigns::Stub::CancelCampaign, req, c);
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

class CampaignComponentTest : public CampaignServices {
 protected:
  CampaignComponentTest() : CampaignServices(kPolicy) {}
};

class NoticeRuleComponentTest : public CampaignServices {
 protected:
  NoticeRuleComponentTest() : CampaignServices(kNoticePolicy) {}
};

TEST_F(CampaignComponentTest, ProposePlanReleaseAcknowledgeOpensTheGateAndEveryNoticeReachesThePort) {
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  EXPECT_EQ(Check("e0", "callback-week").reason(), "campaign callback-week not released");

  v1::CampaignPlan plan;
  grpc::Status s = Plan(CallbackSpec("callback-week", 60), &plan);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(plan.verdict(), v1::VERDICT_PACE) << plan.reason();
  EXPECT_GT(plan.schedule_size(), 1);
  EXPECT_THAT(notices_.Kinds(), ElementsAre());  // a what-if tells nobody
  s = Propose(CallbackSpec("callback-week", 60), &plan);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(notices_.Kinds(), ElementsAre("PROPOSED"));

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
  EXPECT_THAT(notices_.Kinds(), ElementsAre("PROPOSED", "RELEASED", "ACKNOWLEDGED"));
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

namespace tact {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST_F(CampaignComponentTest, PlanCallsPublishNothingProposeAndReleasePublishOneNoticeEachWithTheChange) {
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  v1::CampaignPlan plan;
  ASSERT_TRUE(Plan(CallbackSpec("spring", 60), &plan).ok());
  ASSERT_TRUE(Plan(CallbackSpec("spring", 100000), &plan).ok());
  EXPECT_EQ(plan.verdict(), v1::VERDICT_REJECT);
  EXPECT_THAT(notices_.Kinds(), ElementsAre());  // what-ifs and rejects tell nobody
  EXPECT_THAT(StoredNoticeKinds("spring"), ElementsAre());

  ASSERT_TRUE(Propose(CallbackSpec("spring", 60), &plan).ok());
  ASSERT_THAT(notices_.Kinds(), ElementsAre("PROPOSED"));
  EXPECT_EQ(notices_.Notices()[0].audience(), 60);
  EXPECT_THAT(notices_.Notices()[0].change().summary(), ElementsAre("first notice of this campaign"));
  ASSERT_TRUE(Propose(CallbackSpec("spring", 60), &plan).ok());
  EXPECT_THAT(notices_.Notices()[1].change().summary(),
              ElementsAre("no change since the PROPOSED notice of 2027-01-04T10:01:00Z"));

  v1::Campaign c;
  ASSERT_TRUE(Release(CallbackSpec("spring", 80), &c).ok());
  ASSERT_THAT(notices_.Kinds(), ElementsAre("PROPOSED", "PROPOSED", "RELEASED"));
  const v1::NoticeChange change = notices_.Notices()[2].change();
  EXPECT_EQ(change.since_kind(), "PROPOSED");
  EXPECT_EQ(change.previous_audience(), 60);
  EXPECT_NEAR(change.previous_predicted_contacts(), 60, 1e-6);
  EXPECT_THAT(change.summary(), Contains("audience 60 -> 80"));
  EXPECT_THAT(change.summary(), Contains("predicted contacts 60.0 -> 80.0"));
  EXPECT_GT(change.predicted_size(), 0);
  EXPECT_EQ(StoredNoticeKinds("spring"), notices_.Kinds());
}

TEST_F(NoticeRuleComponentTest, AStartInsideTheNoticePeriodIsRejectedWithTheEarliestStartOrMovedToIt) {
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  const absl::Time earliest = clock_.Now() + absl::Hours(48);  // 2027-01-06T10:01:00Z
  v1::CampaignPlan plan;
  ASSERT_TRUE(Plan(CallbackSpec("winter", 60), &plan).ok());
  EXPECT_EQ(plan.verdict(), v1::VERDICT_REJECT);
  EXPECT_EQ(TimeFromProto(plan.earliest_start()), earliest);
  EXPECT_EQ(plan.notice_gate(), "promotions");
  EXPECT_EQ(plan.min_notice_seconds(), 48 * 3600);
  EXPECT_TRUE(plan.waits_for_acknowledgement());
  EXPECT_THAT(plan.reason(), StartsWith("notice lead time 48h (campaign gate promotions): "));
  EXPECT_THAT(plan.reason(), HasSubstr("the earliest feasible start is 2027-01-06T10:01:00Z"));
  v1::Campaign c;
  grpc::Status s = Release(CallbackSpec("winter", 60), &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("the earliest feasible start is 2027-01-06T10:01:00Z"));

  v1::CampaignSpec asap = CallbackSpec("winter", 60);
  asap.clear_start();
  asap.set_start_earliest(true);
  s = Release(asap, &c);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(TimeFromProto(c.spec().start()), earliest);
  ASSERT_GT(c.plan().schedule_size(), 1);
  EXPECT_GE(TimeFromProto(c.plan().schedule(0).start()), campaign::IntervalStart(earliest));
  EXPECT_THAT(notices_.Kinds(), ElementsAre("RELEASED"));

  // The released plan can send: every batch's interval is open once acknowledged and the notice has run.
  ASSERT_TRUE(Acknowledge("winter", &c).ok());
  clock_.Set(earliest - absl::Seconds(30));
  EXPECT_EQ(Check("w0", "winter").reason(), "notice lead time 48h: first send at 2027-01-06T10:01:00Z");
  for (int b = 0; b < c.plan().schedule_size(); ++b) {
    clock_.Set(std::max(earliest, TimeFromProto(c.plan().schedule(b).start())));
    const v1::Decision d = Check(absl::StrCat("w", b + 1), "winter");
    EXPECT_EQ(d.decision(), v1::RELEASE) << "batch " << b << ": " << d.reason();
  }
}

TEST_F(CampaignComponentTest, ALateAcknowledgementMovesTheScheduleSoTheReleasedPlanStillSends) {
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  v1::Campaign c;
  ASSERT_TRUE(Release(CallbackSpec("late", 60), &c).ok());
  EXPECT_TRUE(c.plan().waits_for_acknowledgement());
  const int batches = c.plan().schedule_size();
  clock_.Set(TimeFromProto(c.plan().last_send()) + absl::Hours(6));  // acknowledged after the schedule ended
  ASSERT_TRUE(Acknowledge("late", &c).ok());
  ASSERT_EQ(c.plan().schedule_size(), batches);
  EXPECT_EQ(TimeFromProto(c.plan().schedule(0).start()), campaign::IntervalStart(clock_.Now()));
  for (int b = 0; b < c.plan().schedule_size(); ++b) {
    clock_.Set(std::max(clock_.Now(), TimeFromProto(c.plan().schedule(b).start())));
    const v1::Decision d = Check(absl::StrCat("l", b), "late");
    EXPECT_EQ(d.decision(), v1::RELEASE) << "batch " << b << ": " << d.reason();
  }
  ASSERT_THAT(notices_.Kinds(), ElementsAre("RELEASED", "ACKNOWLEDGED"));
  const v1::CampaignNotice ack = notices_.Notices()[1];
  EXPECT_EQ(ack.acknowledged_by(), "wfm-team");
  EXPECT_THAT(ack.reason(), StartsWith("acknowledged after the first batch was due (2027-01-04T10:00:00Z): the "
                                       "schedule moves to start "));
  EXPECT_EQ(ack.schedule_size(), batches);
  EXPECT_EQ(ack.change().since_kind(), "RELEASED");
  EXPECT_THAT(ack.change().summary(), Contains(StartsWith("first send 2027-01-04T10:00:00Z -> ")));
}

TEST_F(CampaignComponentTest, CancelGivesTheCapacityBackHoldsTheGateAndTellsTheContactCentre) {
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  v1::CampaignSpec second = CallbackSpec("second", 60);
  *second.mutable_send_by() = TimeToProto(kStart + absl::Hours(2));
  v1::CampaignPlan alone;
  ASSERT_TRUE(Plan(second, &alone).ok());
  ASSERT_EQ(alone.verdict(), v1::VERDICT_PACE) << alone.reason();
  v1::Campaign first;
  ASSERT_TRUE(Release(CallbackSpec("first", 60), &first).ok());
  v1::CampaignPlan crowded;
  ASSERT_TRUE(Plan(second, &crowded).ok());
  ASSERT_EQ(crowded.verdict(), v1::VERDICT_REJECT) << crowded.reason();

  v1::Campaign c;
  grpc::Status s = Cancel("first", "marketing-ops", "the send platform failed after release", &c);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(c.state(), v1::CAMPAIGN_CANCELLED);
  EXPECT_EQ(TimeFromProto(c.cancelled_at()), clock_.Now());
  v1::CampaignPlan after;
  ASSERT_TRUE(Plan(second, &after).ok());
  EXPECT_EQ(after.verdict(), v1::VERDICT_PACE) << after.reason();
  EXPECT_EQ(after.schedule_size(), alone.schedule_size());
  EXPECT_EQ(after.last_send().seconds(), alone.last_send().seconds());

  const v1::Decision held = Check("x1", "first");
  EXPECT_EQ(held.decision(), v1::DEFER);
  EXPECT_EQ(held.reason(), "campaign first cancelled");

  ASSERT_THAT(notices_.Kinds(), ElementsAre("RELEASED", "CANCELLED"));
  const v1::CampaignNotice n = notices_.Notices()[1];
  EXPECT_EQ(n.cancelled_by(), "marketing-ops");
  EXPECT_EQ(n.reason(), "the send platform failed after release");
  EXPECT_EQ(n.schedule_size(), 0);
  EXPECT_EQ(n.predicted_contacts(), 0);
  EXPECT_EQ(n.change().since_kind(), "RELEASED");
  EXPECT_THAT(n.change().summary(), Contains(absl::StrCat("batches ", first.plan().schedule_size(), " -> 0")));
  EXPECT_THAT(n.change().summary(), Contains("predicted contacts 60.0 -> 0.0"));

  // Idempotent; a different cancel, an unknown id and a missing field are errors naming the field.
  ASSERT_TRUE(Cancel("first", "marketing-ops", "the send platform failed after release", &c).ok());
  EXPECT_EQ(notices_.Kinds().size(), 2u);
  s = Cancel("first", "someone-else", "", &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(),
            "campaign_id: campaign 'first' already cancelled at 2027-01-04T10:01:00Z by marketing-ops");
  s = Cancel("never", "marketing-ops", "", &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "campaign_id: no released campaign 'never' for tenant 'acme'");
  s = Cancel("first", "", "", &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "cancelled_by: required");
  s = Release(CallbackSpec("first", 60), &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(CampaignComponentTest, ACancelledCampaignKeepsTheLoadOfWhatItSentAndAFinishedOneIsNotCancelled) {
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  v1::Campaign c;
  ASSERT_TRUE(Release(CallbackSpec("first", 60), &c).ok());
  ASSERT_TRUE(Acknowledge("first", &c).ok());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Check(absl::StrCat("s", i), "first").decision(), v1::RELEASE);
  ASSERT_TRUE(Cancel("first", "marketing-ops", "", &c).ok());
  double kept = 0;
  for (double calls : c.committed_calls()) kept += calls;
  EXPECT_NEAR(kept, 4, 1e-9);  // 3 released (+2% for the approximate count, rounded up), each one call
  EXPECT_NEAR(notices_.Notices().back().predicted_contacts(), 4, 1e-9);
  EXPECT_EQ(notices_.Notices().back().reason(), "cancelled by marketing-ops");

  ASSERT_TRUE(Release(CallbackSpec("later", 60), &c).ok());
  clock_.Set(TimeFromProto(c.plan().last_send()) + absl::Minutes(15));
  const grpc::Status s = Cancel("later", "marketing-ops", "", &c);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), StartsWith("campaign_id: campaign 'later' finished: its last batch was at "));
}

}  // namespace
}  // namespace tact
