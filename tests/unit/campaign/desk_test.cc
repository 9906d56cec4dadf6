#include "daemon/campaign/desk.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/policy/parse.h"

namespace tact::campaign {
namespace {

using ::testing::HasSubstr;

const absl::Time kMonday = absl::FromCivil(absl::CivilSecond(2026, 11, 23, 0, 0, 0), absl::UTCTimeZone());

class RecordingSink final : public NoticePort {
 public:
  absl::Status Publish(const v1::CampaignNotice& notice) override {
    published.push_back(notice);
    return status;
  }
  std::vector<v1::CampaignNotice> published;
  absl::Status status;
};

// Two days, open 08:00–20:00, 30 scheduled at 30% shrinkage, AHT 300 s, 40 baseline calls.
v1::PutStaffingRequest Staffing() {
  v1::PutStaffingRequest req;
  req.set_tenant("acme");
  for (int i = 0; i < 4 * 96; ++i) {
    capacity::StaffingInterval si;
    si.start = kMonday + i * capacity::kIntervalLength;
    const int hour = (i % 96) / 4;
    const bool open = hour >= 8 && hour < 20;
    si.agents = open ? 30 : 0;
    si.shrinkage = 0.3;
    si.aht_s = 300;
    si.baseline_calls = open ? 40 : 0;
    *req.add_intervals() = StaffingIntervalToProto(si);
  }
  return req;
}

v1::CampaignSpec Spec(const std::string& id, int64_t audience) {
  v1::CampaignSpec c;
  c.set_tenant("acme");
  c.set_campaign_id(id);
  c.set_audience(audience);
  c.mutable_start()->set_seconds(absl::ToUnixSeconds(kMonday + absl::Hours(9)));
  c.mutable_promise()->set_offer("free delivery");
  return c;
}

class CampaignDeskTest : public ::testing::Test {
 protected:
  store::InMemoryCapacityStore store_;
  RecordingSink sink_;
  FakeClock clock_{kMonday};
  CampaignDesk desk_{store_, sink_, clock_};
};

TEST_F(CampaignDeskTest, StaffingErrorsNameTheProtoField) {
  v1::PutStaffingRequest req = Staffing();
  req.mutable_intervals(7)->set_shrinkage(0.99);
  EXPECT_EQ(desk_.PutStaffing(req).status().message(), "intervals[7].shrinkage: must be in [0, 0.95]");
  req = Staffing();
  req.mutable_intervals(2)->clear_start();
  EXPECT_EQ(desk_.PutStaffing(req).status().message(), "intervals[2].start: required");
  req.clear_tenant();
  EXPECT_EQ(desk_.PutStaffing(req).status().message(), "tenant: required");
}

TEST_F(CampaignDeskTest, CampaignErrorsNameTheField) {
  ASSERT_TRUE(desk_.PutStaffing(Staffing()).ok());
  // "campaign: required" (no spec in the request) is the API's: tests/component/campaign_service_test.cc.
  v1::CampaignSpec spec = Spec("c", 0);
  EXPECT_EQ(desk_.Plan(spec).status().message(), "campaign.audience: must be > 0");
  spec = Spec("c", 10);
  spec.set_contact_rate(3);
  EXPECT_EQ(desk_.Plan(spec).status().message(), "campaign.contact_rate: must be in [0, 1]");
  spec = Spec("c", 10);
  spec.mutable_start()->set_seconds(absl::ToUnixSeconds(kMonday - absl::Hours(1)));
  EXPECT_THAT(desk_.Plan(spec).status().message(), HasSubstr("campaign.start: 2026-11-22T23:00:00Z is outside"));
}

TEST_F(CampaignDeskTest, PlanWithoutStaffingIsAFailedPrecondition) {
  EXPECT_TRUE(absl::IsFailedPrecondition(desk_.Plan(Spec("c", 10)).status()));
}

TEST_F(CampaignDeskTest, ReleaseCommitsLoadThatLaterPlansSee) {
  ASSERT_TRUE(desk_.PutStaffing(Staffing()).ok());
  absl::StatusOr<v1::Campaign> first = desk_.Release(Spec("first", 4000));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->plan().verdict(), v1::VERDICT_RELEASE) << first->plan().reason();
  EXPECT_EQ(first->released_at().seconds(), absl::ToUnixSeconds(kMonday));
  EXPECT_TRUE(absl::IsAlreadyExists(desk_.Release(Spec("first", 4000)).status()));

  absl::StatusOr<v1::CampaignPlan> second = desk_.Plan(Spec("second", 4000));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->verdict(), v1::VERDICT_PACE) << second->reason();
  EXPECT_NEAR(second->intervals(0).released_calls(), first->plan().intervals(0).campaign_calls(), 1e-9);
  // Re-planning the released campaign itself does not count its own load twice.
  absl::StatusOr<v1::CampaignPlan> again = desk_.Plan(Spec("first", 4000));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->verdict(), v1::VERDICT_RELEASE);
}

TEST_F(CampaignDeskTest, RejectIsNotReleasedAndNoticesCarryThePromise) {
  ASSERT_TRUE(desk_.PutStaffing(Staffing()).ok());
  absl::Status s = desk_.Release(Spec("huge", 400000)).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_THAT(s.message(), HasSubstr("campaign rejected: the target cannot be held"));
  EXPECT_TRUE(absl::IsNotFound(desk_.Get("acme", "huge").status()));
  EXPECT_TRUE(sink_.published.empty());

  ASSERT_TRUE(desk_.Release(Spec("small", 1000)).ok());
  ASSERT_EQ(sink_.published.size(), 1u);
  const v1::CampaignNotice& n = sink_.published[0];
  EXPECT_EQ(n.kind(), "RELEASED");
  EXPECT_EQ(n.promise().offer(), "free delivery");
  EXPECT_EQ(n.at().seconds(), absl::ToUnixSeconds(kMonday));
  EXPECT_GT(n.predicted_size(), 0);
  EXPECT_NEAR(n.predicted_contacts(), 1000 * 0.98 * 0.02, 1e-6);

  absl::StatusOr<std::vector<v1::CampaignNotice>> notices = desk_.ListNotices("acme", "");
  ASSERT_TRUE(notices.ok());
  ASSERT_EQ(notices->size(), 1u);
}

TEST_F(CampaignDeskTest, AcknowledgeAndResume) {
  ASSERT_TRUE(desk_.PutStaffing(Staffing()).ok());
  ASSERT_TRUE(desk_.Release(Spec("small", 1000)).ok());
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(desk_.Acknowledge("acme", "small", "").status().message(), "acknowledged_by: required");
  absl::StatusOr<v1::Campaign> c = desk_.Acknowledge("acme", "small", "wfm");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->acknowledged());
  EXPECT_EQ(c->acknowledged_at().seconds(), absl::ToUnixSeconds(kMonday + absl::Hours(2)));
  EXPECT_EQ(sink_.published.back().kind(), "ACKNOWLEDGED");

  EXPECT_TRUE(absl::IsFailedPrecondition(desk_.Resume("acme", "small").status()));
  // A paused campaign (the pause itself is the feedback loop's, not here) resumes.
  v1::Campaign paused = *c;
  paused.set_state(v1::CAMPAIGN_PAUSED);
  paused.set_pause_reason("contacts 2.1x plan");
  ASSERT_TRUE(store_.PutCampaign(paused, false).ok());
  absl::StatusOr<v1::Campaign> resumed = desk_.Resume("acme", "small");
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->state(), v1::CAMPAIGN_RELEASED);
  EXPECT_EQ(resumed->pause_reason(), "");
  EXPECT_TRUE(absl::IsNotFound(desk_.Resume("acme", "nope").status()));
}

TEST_F(CampaignDeskTest, SinkFailureIsReported) {
  prometheus::Registry registry;
  CampaignStats stats{registry};
  desk_.set_stats(&stats);
  const std::vector<prometheus::MetricFamily> families = registry.Collect();
  ASSERT_EQ(families.size(), 1u) << "every kind's series, at 0 (an empty family is not collected)";
  EXPECT_EQ(families[0].metric.size(), std::size(kNoticeKinds));
  ASSERT_TRUE(desk_.PutStaffing(Staffing()).ok());
  sink_.status = absl::UnavailableError("kafka down");
  EXPECT_TRUE(desk_.Plan(Spec("c", 100)).ok());  // a what-if publishes nothing
  EXPECT_TRUE(absl::IsUnavailable(desk_.Propose(Spec("c", 100)).status()));
  EXPECT_EQ(stats.campaign_notices_total.With({"PROPOSED"}).Value(), 0);  // counted once published
  sink_.status = absl::OkStatus();
  ASSERT_TRUE(desk_.Propose(Spec("c", 100)).ok());
  EXPECT_EQ(stats.campaign_notices_total.With({"PROPOSED"}).Value(), 1);
}

constexpr char kGatePolicy[] = R"(
version: "g1"
rules: []
campaign_gates:
  - id: promos
    match: { tenant: acme }
    pause_when: { contacts_over_plan: 1.5, complaints_per_1000: 3, min_contacts: 5, min_released: 100 }
)";

v1::Signal CampaignSignal(v1::SignalKind kind, const std::string& signal_id, absl::Time at) {
  v1::Signal s;
  s.set_tenant("acme");
  s.set_customer_id("maria@example.com");
  s.set_kind(kind);
  s.set_campaign_id("small");
  s.set_signal_id(signal_id);
  s.mutable_at()->set_seconds(absl::ToUnixSeconds(at));
  return s;
}

class CampaignFeedbackTest : public CampaignDeskTest {
 protected:
  void SetUp() override {
    absl::StatusOr<policy::Policy> p = policy::ParsePolicy({{"gates.yaml", kGatePolicy}});
    ASSERT_TRUE(p.ok()) << p.status();
    policies_.Set(std::make_shared<const policy::Policy>(*p));
    desk_.set_policies([this] { return policies_.Get(); });
    ASSERT_TRUE(desk_.PutStaffing(Staffing()).ok());
    absl::StatusOr<v1::Campaign> c = desk_.Release(Spec("small", 1000));
    ASSERT_TRUE(c.ok()) << c.status();
    plan_ = c->plan();
  }
  absl::StatusOr<v1::Campaign> Get() { return desk_.Get("acme", "small"); }
  decision::PolicyHolder policies_;
  v1::CampaignPlan plan_;
};

TEST_F(CampaignFeedbackTest, AContactFloodPausesTheCampaignWithANoticeAndResumeLiftsIt) {
  prometheus::Registry registry;
  CampaignStats stats{registry};
  desk_.set_stats(&stats);
  const absl::Time now = kMonday + absl::Hours(9) + absl::Minutes(30);
  clock_.Set(now);
  const double predicted = PredictedContactsBy(plan_, now);
  ASSERT_GT(predicted, 1);
  // Enough contacts to pass 1.5× plan (and min_contacts 5); a repeated signal_id counts once.
  const int needed = std::max(5, static_cast<int>(1.5 * predicted) + 1);
  for (int i = 0; i < needed - 1; ++i) {
    ASSERT_TRUE(desk_.OnCampaignSignal(CampaignSignal(v1::CONTACT, absl::StrCat("s", i), now), now).ok());
    ASSERT_TRUE(desk_.OnCampaignSignal(CampaignSignal(v1::CONTACT, absl::StrCat("s", i), now), now).ok());
  }
  ASSERT_TRUE(desk_.OnCampaignSignal(CampaignSignal(v1::OPT_OUT, "o1", now), now).ok());  // not a contact
  absl::StatusOr<v1::Campaign> c = Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state(), v1::CAMPAIGN_RELEASED);
  EXPECT_EQ(c->figures().contacts(), needed - 1);
  EXPECT_NEAR(c->figures().predicted_contacts(), predicted, 1e-9);

  ASSERT_TRUE(desk_.OnCampaignSignal(CampaignSignal(v1::CSAT, "last", now), now).ok());
  c = Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state(), v1::CAMPAIGN_PAUSED);
  EXPECT_THAT(c->pause_reason(), HasSubstr(absl::StrCat("(", needed, " actual, ")));
  EXPECT_THAT(c->pause_reason(), HasSubstr("× plan"));
  EXPECT_THAT(c->pause_reason(), HasSubstr("pause above 1.5×"));
  EXPECT_EQ(c->figures_at_pause().contacts(), needed);
  EXPECT_EQ(c->paused_at().seconds(), absl::ToUnixSeconds(now));
  const v1::CampaignNotice& n = sink_.published.back();
  EXPECT_EQ(n.kind(), "PAUSED");
  EXPECT_EQ(stats.campaign_notices_total.With({"PAUSED"}).Value(), 1);  // tact_campaign_notices_total{kind}
  EXPECT_EQ(n.reason(), c->pause_reason());
  EXPECT_EQ(n.figures().contacts(), needed);
  EXPECT_GT(n.figures().contacts_over_plan(), 1.5);

  absl::StatusOr<v1::Campaign> resumed = desk_.Resume("acme", "small");
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->state(), v1::CAMPAIGN_RELEASED);
  EXPECT_EQ(resumed->figures_at_resume().contacts(), needed);
  EXPECT_EQ(sink_.published.back().kind(), "RESUMED");
  EXPECT_EQ(stats.campaign_notices_total.With({"RESUMED"}).Value(), 1);
  // After a resume the thresholds apply to what happens from then on: one more contact does not pause again.
  ASSERT_TRUE(desk_.OnCampaignSignal(CampaignSignal(v1::CONTACT, "after", now), now).ok());
  EXPECT_EQ(Get()->state(), v1::CAMPAIGN_RELEASED);
}

TEST_F(CampaignFeedbackTest, ComplaintsPerThousandReleasedPause) {
  const absl::Time now = kMonday + absl::Hours(30);
  clock_.Set(now);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(store_.CountReleased("acme", "small", absl::StrCat("e", i)).ok());
  ASSERT_TRUE(desk_.OnCampaignSignal(CampaignSignal(v1::COMPLAINT_OPENED, "k1", now), now).ok());
  v1::Campaign c = *Get();
  EXPECT_EQ(c.state(), v1::CAMPAIGN_RELEASED);  // 2 per 1,000
  EXPECT_EQ(c.figures().complaints(), 1);
  EXPECT_EQ(c.figures().contacts(), 1);
  EXPECT_EQ(c.figures().released(), 500);
  EXPECT_DOUBLE_EQ(c.figures().complaints_per_1000(), 2);
  ASSERT_TRUE(desk_.OnCampaignSignal(CampaignSignal(v1::COMPLAINT_OPENED, "k2", now), now).ok());
  c = *Get();
  EXPECT_EQ(c.state(), v1::CAMPAIGN_PAUSED);
  EXPECT_EQ(c.pause_reason(), "complaints 4.0 per 1,000 released (2 of 500; pause above 3)");
}

}  // namespace
}  // namespace tact::campaign
