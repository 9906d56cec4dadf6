#include "daemon/decision/store_spec.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "daemon/policy/decide.h"

namespace tact::decision {
namespace {

using policy::OnExceed;

// Every combination of one condition, two limits and one quiet hold (enforcing or shadow, holding or not, each
// on_exceed): the store's rule on the converted spec reserves exactly when policy::Decide releases and stores a
// marker exactly when it releases or suppresses. This is the contract check.lua and InMemoryCounterStore follow.
TEST(StoreSpecTest, StoreRulesOnTheSpecAgreeWithDecide) {
  const std::vector<std::string> fields = {"csat:1"};
  int cases = 0;
  for (int sig = 0; sig < 3; ++sig) {          // none, enforcing, shadow
    for (int lim = 0; lim < 16; ++lim) {        // per limit: shadow bit, defer bit
      for (int quiet = 0; quiet < 4; ++quiet) {  // none, defer, suppress, shadow
        for (int seen = 0; seen < 8; ++seen) {   // condition holds, limit 0 full, limit 1 full
          policy::Plan plan;
          StoreOutcome o;
          if (sig > 0) {
            plan.signals.push_back({.rule_id = "s", .fields = fields, .shadow = sig == 2});
            o.signals.push_back({.hit = (seen & 1) != 0});
          }
          for (int i = 0; i < 2; ++i) {
            plan.limits.push_back({.rule_id = "l",
                                   .counter = i == 0 ? "r:a" : "c:b:2026-12-06",
                                   .count = 2,
                                   .kind = i == 0 ? policy::WindowKind::kRolling : policy::WindowKind::kCalendar,
                                   .window = absl::Hours(24),
                                   .period_end = absl::FromUnixSeconds(1'796'000'000),
                                   .on_exceed = (lim >> (2 * i + 1) & 1) != 0 ? OnExceed::kDefer : OnExceed::kSuppress,
                                   .shadow = (lim >> (2 * i) & 1) != 0});
            o.usage.push_back({.used = (seen >> (i + 1) & 1) != 0 ? 2 : 1});
          }
          if (quiet > 0) {
            plan.quiet.push_back({.rule_id = "q",
                                  .until = absl::FromUnixSeconds(1'795'100'000),
                                  .on_exceed = quiet == 2 ? OnExceed::kSuppress : OnExceed::kDefer,
                                  .shadow = quiet == 3});
          }
          const store::CheckSpec spec = ToCheckSpec(plan);
          const policy::Verdict v = policy::Decide(plan, o).verdict;
          const std::string where = absl::StrCat("sig ", sig, " lim ", lim, " quiet ", quiet, " seen ", seen);
          EXPECT_EQ(store::ShouldReserve(spec, o), v == policy::Verdict::kRelease) << where;
          EXPECT_EQ(store::IsFinal(spec, o), v != policy::Verdict::kDefer) << where;
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 3 * 16 * 4 * 8);
}

TEST(StoreSpecTest, SpecCarriesThePlansChecksInOrder) {
  const std::vector<std::string> fields = {"complaint:*"};
  policy::Plan plan;
  plan.signals.push_back({.rule_id = "s", .fields = fields, .since = absl::FromUnixSeconds(100),
                          .hold = absl::Hours(2), .shadow = true});
  plan.limits.push_back({.rule_id = "a", .counter = "r:a", .count = 3, .window = absl::Hours(24)});
  plan.limits.push_back({.rule_id = "b", .counter = "c:b:2026-12", .count = 1, .kind = policy::WindowKind::kCalendar,
                         .period_end = absl::FromUnixSeconds(5000), .on_exceed = OnExceed::kDefer});
  plan.quiet.push_back({.rule_id = "q1", .on_exceed = OnExceed::kSuppress, .shadow = true});
  plan.quiet.push_back({.rule_id = "q2", .on_exceed = OnExceed::kDefer});
  const store::CheckSpec spec = ToCheckSpec(plan);
  ASSERT_EQ(spec.signals.size(), 1u);
  EXPECT_EQ(spec.signals[0].fields.data(), fields.data());
  EXPECT_FALSE(spec.signals[0].decisive);
  EXPECT_EQ(store::SinceMs(spec.signals[0]), 100'000);
  EXPECT_EQ(spec.signals[0].hold, absl::Hours(2));
  ASSERT_EQ(spec.limits.size(), 2u);
  EXPECT_EQ(spec.limits[0].counter, "r:a");
  EXPECT_EQ(spec.limits[0].kind, store::WindowKind::kRolling);
  EXPECT_EQ(spec.limits[0].window, absl::Hours(24));
  EXPECT_TRUE(spec.limits[0].decisive);
  EXPECT_TRUE(spec.limits[0].suppress_on_exceed);
  EXPECT_EQ(spec.limits[1].kind, store::WindowKind::kCalendar);
  EXPECT_EQ(spec.limits[1].count, 1);
  EXPECT_EQ(store::PeriodEndMs(spec.limits[1]), 5'000'000);
  EXPECT_FALSE(spec.limits[1].suppress_on_exceed);
  EXPECT_EQ(store::QuietCode(spec), 1);  // the first enforcing hold (q2) defers
}

TEST(StoreSpecTest, SignalWriteCarriesTheCustomerAndRefusesAnIncompleteSignal) {
  absl::StatusOr<store::SignalWrite> w = ToStoreSignal({.tenant = "acme", .customer_id = "c1",
                                                        .kind = policy::SignalKind::kComplaintOpened, .ref = "T1",
                                                        .at = absl::FromUnixSeconds(10)});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->tenant, "acme");
  EXPECT_EQ(w->customer_id, "c1");
  EXPECT_EQ(w->field, "complaint:T1");
  EXPECT_FALSE(w->remove);
  EXPECT_EQ(w->at_ms, 10'000);
  EXPECT_EQ(w->expires_ms, 0);
  EXPECT_EQ(ToStoreSignal({.tenant = "acme", .customer_id = "c1", .kind = policy::SignalKind::kCsat, .csat = 9,
                           .at = absl::FromUnixSeconds(10)})
                .status()
                .message(),
            "signal.csat: must be 1..5");
}

}  // namespace
}  // namespace tact::decision
