// Component tier: the plan request's fields across the gRPC channel (issue #28 items 2, 4, 5, 6): a response
// curve that does not sum to 1 is INVALID_ARGUMENT naming the field; the planning fields map both ways.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tests/component/in_process_services.h"
#include "tests/support/campaign_fixtures.h"

namespace tact {
namespace {

using ::testing::HasSubstr;
using testing::Call;
using testing::CallbackSpec;
using testing::SmallDesk;

class PlanRequestTest : public ::testing::Test, protected testing::InProcessServices {
 protected:
  PlanRequestTest() : InProcessServices(kPolicy, testing::kCampaignStart) {}
  static constexpr char kPolicy[] = R"(
version: "component-plan"
rules:
  - id: promo-daily
    description: at most five promotions a day
    match: { message_class: PROMOTION }
    limit: { count: 5, window: 1d }
)";

  grpc::Status PutStaffing(const v1::PutStaffingRequest& req) {
    v1::PutStaffingResponse resp;
    return Call(capacity_.get(), &v1::Capacity::Stub::PutStaffing, req, &resp);
  }
  grpc::Status Plan(const v1::CampaignSpec& spec, v1::CampaignPlan* plan) {
    v1::PlanCampaignRequest req;
    *req.mutable_campaign() = spec;
    return Call(campaigns_.get(), &v1::Campaigns::Stub::PlanCampaign, req, plan);
  }
};

TEST_F(PlanRequestTest, ABadResponseCurveIsInvalidArgumentNamingTheShare) {
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());
  v1::CampaignPlan plan;
  v1::CampaignSpec half = CallbackSpec("half", 60);
  half.set_response_curve(0, 0.5);  // sums to 0.5: would silently halve the predicted contacts
  grpc::Status s = Plan(half, &plan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("campaign.response_curve: shares sum to 0.5000; they must sum to 1"));

  v1::CampaignSpec nan = CallbackSpec("nan", 60);
  nan.clear_response_curve();
  for (double share : {0.25, 0.25, 0.25, std::nan(""), 0.25}) nan.add_response_curve(share);
  s = Plan(nan, &plan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "campaign.response_curve[3]: must be a finite number in [0, 1]");

  v1::CampaignSpec negative = CallbackSpec("negative", 60);
  negative.clear_response_curve();
  for (double share : {1.1, -0.1}) negative.add_response_curve(share);
  s = Plan(negative, &plan);
  EXPECT_EQ(s.error_message(), "campaign.response_curve[0]: must be a finite number in [0, 1]");

  v1::CampaignSpec margin = CallbackSpec("margin", 60);
  margin.set_target_margin(0.9);
  s = Plan(margin, &plan);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "campaign.target_margin: must be in [0, 0.5]");
}

TEST_F(PlanRequestTest, PlanningFieldsMapAndTheModelIsStated) {
  v1::PutStaffingRequest staffing = SmallDesk();
  v1::ServiceLevelTarget* extra = staffing.mutable_intervals(2)->add_service_levels();
  extra->set_service_level(0.9);
  extra->set_threshold_seconds(-1);
  grpc::Status s = PutStaffing(staffing);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "intervals[2].service_levels[0]: threshold must be in [0, 3600] s");
  ASSERT_TRUE(PutStaffing(SmallDesk()).ok());

  v1::CampaignPlan plan;
  v1::CampaignSpec spec = CallbackSpec("fields", 60);
  spec.set_min_batch(0);
  ASSERT_TRUE(Plan(spec, &plan).ok());
  EXPECT_EQ(plan.model(), "erlang_c");  // SmallDesk gives no patience
  EXPECT_DOUBLE_EQ(plan.target_margin(), 0.05);
  EXPECT_EQ(plan.min_batch(), 0);
  ASSERT_GT(plan.notes_size(), 2);
  EXPECT_THAT(plan.notes(0), HasSubstr("model: Erlang C"));
  EXPECT_THAT(plan.reason(), HasSubstr("Erlang C, planned to 85% in 20 s"));
  ASSERT_GT(plan.intervals_size(), 0);
  EXPECT_EQ(plan.intervals(0).model(), "erlang_c");
  EXPECT_DOUBLE_EQ(plan.intervals(0).planning_service_level(), 0.85);
  EXPECT_EQ(plan.intervals(0).aht_seconds(), 60);

  spec.set_target_margin(0);
  spec.set_contact_aht_seconds(120);
  spec.clear_min_batch();
  ASSERT_TRUE(Plan(spec, &plan).ok());
  EXPECT_EQ(plan.target_margin(), 0);
  EXPECT_EQ(plan.min_batch(), 1);  // the default: 1% of 60 recipients, at least 1
  EXPECT_THAT(plan.notes(), ::testing::Contains(HasSubstr("this campaign's contacts take 120 s")));
}

}  // namespace
}  // namespace tact
