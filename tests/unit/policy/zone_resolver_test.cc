#include "daemon/policy/zone_resolver.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "daemon/policy/evaluate.h"
#include "daemon/policy/parse.h"

namespace tact::policy {
namespace {

constexpr char kPerDay[] = R"(
version: "1"
rules:
  - id: per-day
    description: one a day
    limit: { count: 1, kind: calendar, window: day }
)";

// A loader that knows only "Test/Plus2" (UTC+2) and counts what it was asked.
struct FakeZones {
  std::vector<std::string> asked;
  ZoneResolver::Loader Loader() {
    return [this](const std::string& name, absl::TimeZone* tz) {
      asked.push_back(name);
      if (name != "Test/Plus2") return false;
      *tz = absl::FixedTimeZone(2 * 3600);
      return true;
    };
  }
};

Event Promotion(const std::string& tz) {
  Event e;
  e.event_id = "e1";
  e.tenant = "acme";
  e.customer_id = "c1";
  e.channel = v1::EMAIL;
  e.message_class = v1::PROMOTION;
  e.customer_timezone = tz;
  return e;
}

TEST(ZoneResolverTest, EvaluationUsesThePolicysOwnResolver) {
  absl::StatusOr<Policy> p = ParsePolicy({{"a.yaml", kPerDay}});
  ASSERT_TRUE(p.ok()) << p.status();
  FakeZones fake;
  p->zones = std::make_shared<ZoneResolver>(fake.Loader());
  const absl::Time now = absl::FromUnixSeconds(1'795'042'800);  // 2026-11-18T23:00:00Z: 01:00 on the 19th at +2
  const Plan plan = PlanEvent(*p, Promotion("Test/Plus2"), now);
  EXPECT_EQ(plan.timezone, "Test/Plus2");
  ASSERT_EQ(plan.limits.size(), 1u);
  EXPECT_EQ(plan.limits[0].counter, "c:per-day:2026-11-19");
  EXPECT_EQ(plan.limits[0].period_end, absl::FromUnixSeconds(1'795'125'600));  // 2026-11-19T22:00:00Z
  std::string name;
  EXPECT_EQ(CustomerZone(*p, Promotion("Test/Plus2"), &name).At(now).offset, 2 * 3600);
  EXPECT_EQ(name, "Test/Plus2");
}

TEST(ZoneResolverTest, EachZoneIsLoadedOncePerResolver) {
  FakeZones fake;
  ZoneResolver zones(fake.Loader());
  const absl::Time now = absl::FromUnixSeconds(1'795'000'000);
  ZoneResolver::Local local;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(zones.Resolve("Test/Plus2", nullptr, now + absl::Hours(30 * i), &local));  // across days too
    EXPECT_EQ(local.name, "Test/Plus2");
    EXPECT_TRUE(local.day.Holds(now + absl::Hours(30 * i)));
    EXPECT_FALSE(zones.Resolve("Test/Nowhere", nullptr, now, &local));
  }
  absl::TimeZone tz;
  EXPECT_TRUE(zones.Load("Test/Plus2", &tz));
  EXPECT_EQ(fake.asked, (std::vector<std::string>{"Test/Plus2", "Test/Nowhere"}));
  EXPECT_EQ(zones.loads(), 2u);
  // A zone the caller already has (the policy's defaults) is never loaded.
  ASSERT_TRUE(zones.Resolve("Policy/Default", &tz, now, &local));
  EXPECT_EQ(local.name, "Policy/Default");
  EXPECT_EQ(zones.loads(), 2u);
}

TEST(ZoneResolverTest, LocalDayKnowsItsPeriods) {
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  const LocalDay d = ComputeLocalDay(berlin, absl::FromUnixSeconds(1'795'000'000));  // Wed 2026-11-18 12:06
  EXPECT_EQ(d.day_label.view(), "2026-11-18");
  EXPECT_EQ(d.week_label.view(), "w2026-11-16");
  EXPECT_EQ(d.month_label.view(), "2026-11");
  EXPECT_TRUE(d.uniform);
  EXPECT_EQ(d.end - d.start, absl::Hours(24));
}

}  // namespace
}  // namespace tact::policy
