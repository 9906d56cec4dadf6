// Planning under the campaign gate's notice rules (daemon/campaign/notice_rules.h) and the notices' change
// against the previous one (daemon/campaign/notices.h). Pure.
#include "daemon/campaign/notice_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "daemon/campaign/notices.h"
#include "daemon/core/proto_time.h"
#include "daemon/decision/policy_files.h"

namespace tact::campaign {
namespace {

using ::testing::ElementsAre;

const absl::Time kRelease = absl::FromCivil(absl::CivilSecond(2026, 12, 4, 14, 37, 20), absl::UTCTimeZone());

policy::Policy ExamplePolicy() {
  absl::StatusOr<policy::Policy> p = decision::LoadPolicyDir(std::string(TACT_SOURCE_DIR) + "/policies/examples");
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : policy::Policy{};
}

TEST(NoticeRulesTest, TheGateOfTheClassOrTheStrictestOfAllClasses) {
  const policy::Policy p = ExamplePolicy();
  const NoticeRules promo = NoticeRulesFor(&p, "acme", v1::EMAIL, v1::PROMOTION);
  EXPECT_EQ(promo.gate_id, "promotions");
  EXPECT_EQ(promo.min_notice, absl::Hours(48));
  EXPECT_TRUE(promo.require_acknowledgement);
  // An outage apology by email is not held to the promotions' two days.
  const NoticeRules service = NoticeRulesFor(&p, "acme", v1::EMAIL, v1::PROACTIVE_SERVICE);
  EXPECT_EQ(service.gate_id, "service-campaigns");
  EXPECT_EQ(service.min_notice, absl::ZeroDuration());
  EXPECT_FALSE(service.require_acknowledgement);
  const NoticeRules any = NoticeRulesFor(&p, "acme", v1::EMAIL, v1::MESSAGE_CLASS_UNSPECIFIED);
  EXPECT_EQ(any.gate_id, "promotions");
  EXPECT_EQ(any.min_notice, absl::Hours(48));
  // Push promotions are not gated by `promotions` (EMAIL, SMS): only service-campaigns applies.
  EXPECT_EQ(NoticeRulesFor(&p, "acme", v1::PUSH, v1::MESSAGE_CLASS_UNSPECIFIED).min_notice, absl::ZeroDuration());
  EXPECT_TRUE(NoticeRulesFor(nullptr, "acme", v1::EMAIL, v1::PROMOTION).gate_id.empty());
}

TEST(NoticeRulesTest, AStartBeforeTheNoticeIntervalIsTooEarlyAndEarliestMovesIt) {
  const NoticeRules rules{.gate_id = "promotions", .min_notice = absl::Hours(48)};
  const absl::Time earliest = kRelease + absl::Hours(48);  // 2026-12-06T14:37:20Z
  capacity::CampaignSpec c{.start = earliest - absl::Minutes(8)};  // 14:29: the interval before
  StartCheck check = ApplyNoticeRule(rules, kRelease, /*start_earliest=*/false, &c);
  EXPECT_EQ(check.earliest, earliest);
  EXPECT_TRUE(check.too_early);
  EXPECT_EQ(c.start, earliest - absl::Minutes(8));  // not moved
  capacity::CampaignPlan plan{.verdict = capacity::Verdict::kPace};
  RejectTooEarly(rules, check, "set start_earliest", &plan);
  EXPECT_EQ(plan.verdict, capacity::Verdict::kReject);
  EXPECT_EQ(plan.reason,
            "notice lead time 48h (campaign gate promotions): the gate sends nothing before 2026-12-06T14:37:20Z "
            "for a release now, so the requested start 2026-12-06T14:29:20Z cannot hold; the earliest feasible "
            "start is 2026-12-06T14:37:20Z (set start_earliest to plan from it)");

  c.start = earliest - absl::Minutes(7);  // 14:30:20, the interval the gate opens in: usable
  EXPECT_FALSE(ApplyNoticeRule(rules, kRelease, false, &c).too_early);

  c.start = absl::InfinitePast();  // unset
  check = ApplyNoticeRule(rules, kRelease, /*start_earliest=*/true, &c);
  EXPECT_TRUE(check.shifted);
  EXPECT_FALSE(check.too_early);
  EXPECT_EQ(c.start, earliest);
  c.start = earliest + absl::Hours(24);  // later than the notice needs: kept
  EXPECT_FALSE(ApplyNoticeRule(rules, kRelease, true, &c).shifted);
  EXPECT_EQ(c.start, earliest + absl::Hours(24));

  // A gate without a notice period still holds nothing before now; without a gate any start is the caller's.
  capacity::CampaignSpec past{.start = kRelease - absl::Hours(24)};
  const StartCheck held = ApplyNoticeRule({.gate_id = "service"}, kRelease, false, &past);
  EXPECT_TRUE(held.too_early);
  capacity::CampaignPlan late{.verdict = capacity::Verdict::kRelease};
  RejectTooEarly({.gate_id = "service"}, held, "set start_earliest", &late);
  EXPECT_EQ(late.reason, "the requested start 2026-12-03T14:37:20Z is in the past; the earliest feasible start is "
                         "2026-12-04T14:37:20Z (set start_earliest to plan from it)");
  EXPECT_FALSE(ApplyNoticeRule({}, kRelease, false, &past).too_early);
}

v1::CampaignNotice Notice(std::string kind, int64_t audience, std::vector<std::pair<int, double>> batches_calls) {
  v1::CampaignNotice n;
  n.set_campaign_id("spring");
  n.set_kind(std::move(kind));
  n.set_audience(audience);
  n.set_verdict(v1::VERDICT_PACE);
  double total = 0;
  for (const auto& [hour, calls] : batches_calls) {
    v1::Batch* b = n.add_schedule();
    *b->mutable_start() = TimeToProto(kRelease + absl::Hours(hour));
    b->set_messages(audience / static_cast<int64_t>(batches_calls.size()));
    v1::PredictedContacts* p = n.add_predicted();
    *p->mutable_start() = b->start();
    p->set_calls(calls);
    total += calls;
  }
  n.set_predicted_contacts(total);
  *n.mutable_at() = TimeToProto(kRelease);
  return n;
}

TEST(NoticeChangeTest, SaysWhatChangedSinceThePreviousPlanNotice) {
  EXPECT_THAT(DiffNotice(std::nullopt, Notice("PROPOSED", 100, {{1, 2}})).summary(),
              ElementsAre("first notice of this campaign"));
  const v1::CampaignNotice proposed = Notice("PROPOSED", 100, {{1, 2}, {2, 2}});
  const v1::NoticeChange same = DiffNotice(proposed, Notice("RELEASED", 100, {{1, 2}, {2, 2}}));
  EXPECT_THAT(same.summary(), ElementsAre("no change since the PROPOSED notice of 2026-12-04T14:37:20Z"));
  EXPECT_EQ(same.predicted_size(), 0);

  const v1::NoticeChange more = DiffNotice(proposed, Notice("RELEASED", 150, {{1, 2}, {2, 3}, {3, 1}}));
  EXPECT_EQ(more.since_kind(), "PROPOSED");
  EXPECT_THAT(more.summary(), ElementsAre("audience 100 -> 150", "last send 2026-12-04T16:37:20Z -> "
                                          "2026-12-04T17:37:20Z", "batches 2 -> 3", "predicted contacts 4.0 -> 6.0",
                                          "predicted contacts changed in 2 interval(s)"));
  ASSERT_EQ(more.predicted_size(), 2);
  EXPECT_EQ(more.predicted(0).previous_calls(), 2);
  EXPECT_EQ(more.predicted(0).calls(), 3);
  EXPECT_EQ(more.predicted(1).previous_calls(), 0);

  // Acknowledgements and pauses carry no plan: the change is against the last notice that did.
  const std::vector<v1::CampaignNotice> log = {proposed, Notice("ACKNOWLEDGED", 0, {}), Notice("PAUSED", 0, {})};
  ASSERT_TRUE(LastPlanNotice(log, "spring").has_value());
  EXPECT_EQ(LastPlanNotice(log, "spring")->kind(), "PROPOSED");
  EXPECT_FALSE(LastPlanNotice(log, "autumn").has_value());
}

}  // namespace
}  // namespace tact::campaign
