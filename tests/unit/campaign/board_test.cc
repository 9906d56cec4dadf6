// The campaign board's pages (daemon/campaign/board.h) over the in-memory campaign repository. The page in a real
// browser against tactd: tests/integration/campaign_board_test.cc.
#include "daemon/campaign/board.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "daemon/campaign/desk.h"
#include "daemon/core/proto_time.h"
#include "tests/support/campaign_fixtures.h"

namespace tact::campaign {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class NullSink final : public NoticePort {
 public:
  absl::Status Publish(const v1::CampaignNotice&) override { return absl::OkStatus(); }
};

v1::Campaign Released(v1::CampaignVerdict verdict, bool acknowledged, absl::Time first_send) {
  v1::Campaign c;
  c.set_state(v1::CAMPAIGN_RELEASED);
  c.mutable_plan()->set_verdict(verdict);
  *c.mutable_plan()->mutable_first_send() = TimeToProto(first_send);
  c.set_acknowledged(acknowledged);
  return c;
}

TEST(BoardStateTest, FromTheRecordTheLastNoticeAndTheFirstSend) {
  const absl::Time t = testing::kCampaignStart;
  EXPECT_EQ(BoardState(nullptr, "PLANNED", t), "proposed");
  EXPECT_EQ(BoardState(nullptr, "PROPOSED", t), "proposed");
  EXPECT_EQ(BoardState(nullptr, "CANCELLED", t), "cancelled");
  v1::Campaign c = Released(v1::VERDICT_PACE, false, t);
  EXPECT_EQ(BoardState(&c, "RELEASED", t), "noticed");
  c = Released(v1::VERDICT_PACE, true, t);
  EXPECT_EQ(BoardState(&c, "ACKNOWLEDGED", t - absl::Minutes(1)), "acknowledged");
  EXPECT_EQ(BoardState(&c, "ACKNOWLEDGED", t), "paced");
  c = Released(v1::VERDICT_RELEASE, true, t);
  EXPECT_EQ(BoardState(&c, "ACKNOWLEDGED", t), "released");
  c.set_state(v1::CAMPAIGN_PAUSED);
  EXPECT_EQ(BoardState(&c, "PAUSED", t), "paused");
  c.set_state(static_cast<v1::CampaignState>(77));  // a state this build does not know
  EXPECT_EQ(BoardState(&c, "", t), "unknown");
}

TEST(BoardQueryTest, DecodesPercentAndPlus) {
  std::string out;
  EXPECT_TRUE(DecodeQueryValue("a%20b+c%2fd", out));
  EXPECT_EQ(out, "a b c/d");
  EXPECT_FALSE(DecodeQueryValue("a%2", out));
  EXPECT_FALSE(DecodeQueryValue("a%zz", out));
}

class CampaignBoardTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(desk_.PutStaffing(testing::SmallDesk()).ok()); }

  store::InMemoryCapacityStore store_;
  NullSink sink_;
  FakeClock clock_{testing::kCampaignStart - absl::Hours(1)};
  CampaignDesk desk_{store_, sink_, clock_};
  CampaignBoard board_{store_, clock_};
};

TEST_F(CampaignBoardTest, ListsEveryCampaignWithItsStateFiguresAndChart) {
  ASSERT_TRUE(desk_.Propose(testing::CallbackSpec("only-planned", 40)).ok());
  v1::CampaignSpec hostile = testing::CallbackSpec("<b>\"sale\"</b>&co", 40);
  hostile.mutable_promise()->set_offer("<script>alert(1)</script>");
  ASSERT_TRUE(desk_.Release(hostile).ok());
  ASSERT_TRUE(desk_.Release(testing::CallbackSpec("acked", 40)).ok());
  ASSERT_TRUE(desk_.Acknowledge("acme", "acked", "wfm-anna").ok());
  ASSERT_TRUE(desk_.Release(testing::CallbackSpec("paused-one", 40)).ok());
  ASSERT_TRUE(desk_.Acknowledge("acme", "paused-one", "wfm-anna").ok());
  clock_.Advance(absl::Hours(2));  // past the first sends
  // Feedback naming a campaign, from a customer whose id must never appear on the board.
  v1::Signal signal;
  signal.set_tenant("acme");
  signal.set_customer_id("maria@example.com");
  signal.set_kind(v1::CONTACT);
  signal.set_campaign_id("paused-one");
  for (const std::string id : {"s1", "s2", "s3"}) {
    signal.set_signal_id(id);
    ASSERT_TRUE(desk_.OnCampaignSignal(signal, clock_.Now()).ok());
  }
  absl::StatusOr<std::optional<v1::Campaign>> stored = store_.GetCampaign("acme", "paused-one");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  v1::Campaign paused = **stored;
  paused.set_state(v1::CAMPAIGN_PAUSED);
  paused.set_pause_reason("contacts 2.0× plan (3 actual, 1.5 predicted by now; pause above 1.5×)");
  *paused.mutable_paused_at() = TimeToProto(clock_.Now());
  ASSERT_TRUE(store_.PutCampaign(paused, /*create=*/false).ok());

  const ops::AdminPage page = board_.Serve("/campaigns", "tenant=acme");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(page.body, HasSubstr("<tr data-campaign=\"only-planned\" data-state=\"proposed\">"));
  EXPECT_THAT(page.body, HasSubstr("data-campaign=\"acked\" data-state=\"paced\""));
  EXPECT_THAT(page.body, HasSubstr("data-state=\"noticed\""));
  EXPECT_THAT(page.body, HasSubstr("data-campaign=\"paused-one\" data-state=\"paused\""));
  EXPECT_THAT(page.body, HasSubstr("contacts 2.0× plan (3 actual"));
  EXPECT_THAT(page.body, HasSubstr("by wfm-anna at "));
  // Observed contacts next to the plan's prediction so far.
  EXPECT_THAT(page.body, HasSubstr("<td class=\"n\">3</td>"));
  EXPECT_THAT(page.body, HasSubstr("<td>PACE</td>"));
  EXPECT_THAT(page.body, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  // Every string from the repository is escaped; no customer id is shown.
  EXPECT_THAT(page.body, HasSubstr("&lt;b&gt;&quot;sale&quot;&lt;/b&gt;&amp;co"));
  EXPECT_THAT(page.body, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(page.body, Not(HasSubstr("<script")));
  EXPECT_THAT(page.body, Not(HasSubstr("<b>")));
  EXPECT_THAT(page.body, Not(HasSubstr("maria")));
  EXPECT_THAT(page.body, HasSubstr("href=\"/campaigns/%3Cb%3E%22sale%22%3C%2Fb%3E%26co.svg?tenant=acme\""));
}

TEST_F(CampaignBoardTest, ChartOfOneCampaign) {
  ASSERT_TRUE(desk_.Release(testing::CallbackSpec("a b", 40)).ok());
  const ops::AdminPage svg = board_.Serve("/campaigns/a%20b.svg", "tenant=acme");
  ASSERT_EQ(svg.status, 200) << svg.body;
  EXPECT_EQ(svg.content_type, "image/svg+xml");
  EXPECT_THAT(svg.body, HasSubstr("a b: PACE"));
  EXPECT_EQ(board_.Serve("/campaigns/nope.svg", "tenant=acme").status, 404);
}

TEST_F(CampaignBoardTest, AsksForTheTenantAndRefusesBadRequests) {
  const ops::AdminPage form = board_.Serve("/campaigns", "");
  EXPECT_EQ(form.status, 200);
  EXPECT_THAT(form.body, HasSubstr("<form method=\"get\" action=\"/campaigns\">"));
  EXPECT_EQ(board_.Serve("/campaigns", "tenant=no%20spaces").status, 400);
  EXPECT_THAT(board_.Serve("/campaigns", "tenant=no%20spaces").body,
              HasSubstr("tenant: may contain only letters, digits"));
  EXPECT_EQ(board_.Serve("/campaigns", "tenant=%zz").status, 400);
  EXPECT_EQ(board_.Serve("/campaigns/x.svg", "").status, 400);
  EXPECT_EQ(board_.Serve("/campaigns/x", "tenant=acme").status, 404);
  EXPECT_EQ(board_.Serve("/campaigns/a/b.svg", "tenant=acme").status, 404);
  const ops::AdminPage empty = board_.Serve("/campaigns/", "tenant=nobody");
  EXPECT_EQ(empty.status, 200);
  EXPECT_THAT(empty.body, HasSubstr("No campaigns for this tenant."));
}

}  // namespace
}  // namespace tact::campaign
