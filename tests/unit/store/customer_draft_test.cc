// CustomerDraft (redis.checks compare_and_set): check.lua's check run in tactd on a customer's key as read. The exact
// bytes it writes for the common cases, what it leaves to check.lua, and the markers it moves out. (Against check.lua
// itself on random steps: tests/integration/redis_cas_test.cc.)
#include "daemon/store/customer_draft.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/store/keys.h"

namespace tact::store {
namespace {

constexpr int64_t kNow = 1'806'000'000'000;  // ms
constexpr int64_t kSeenTtl = 3'600'000;      // 1 h
const absl::Time kAt = absl::FromUnixMillis(kNow);

CheckSpec Cap(int64_t count, absl::Duration window = absl::Hours(24)) {
  CheckSpec spec;
  spec.limits.push_back({.counter = "r:day", .count = count, .kind = WindowKind::kRolling, .window = window});
  return spec;
}

CustomerCheck Check(const CheckSpec& spec, std::string event, absl::Time at = kAt) {
  return {.tenant = "acme", .customer_id = "ana", .event_id = std::move(event), .now = at, .spec = spec,
          .marker = "mk"};
}

TEST(CustomerDraftTest, ANewCustomersReleaseWritesItsCounterAndMarkerAsCheckLuaDoes) {
  const CheckSpec spec = Cap(2);
  CustomerDraft d(std::nullopt, /*older_layouts=*/false);
  const std::optional<CheckResult> r = d.Check(Check(spec, "e1"), std::nullopt, kSeenTtl);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->outcome.reserved);
  EXPECT_FALSE(r->duplicate);
  ASSERT_EQ(r->outcome.usage.size(), 1u);
  EXPECT_EQ(r->outcome.usage[0].used, 0);
  EXPECT_EQ(d.write(), CustomerDraft::Write::kSet);
  const int64_t empty_at = kNow + 86'400'000;
  EXPECT_EQ(*d.value(), absl::StrCat("2 0\nk5 ", empty_at, " ", kNow, "\nr:day", "m2 9 ", kNow + kSeenTtl,
                                     "\ne11||0:0|mk"));
  EXPECT_EQ(d.ttl_ms(), empty_at + kCounterKeepMs - kNow);  // the counter's keep is the last thing in it
  EXPECT_TRUE(d.moved().empty());
}

// The key keeps kMarkersInCustomerKey markers: the final decisions that fill it move none; the next one moves the
// oldest out, with the time it has left.
TEST(CustomerDraftTest, AFinalDecisionOnAKeyFullOfMarkersMovesTheOldestWithTheTimeItHasLeft) {
  const CheckSpec spec = Cap(1);
  CustomerDraft first(std::nullopt, false);
  ASSERT_TRUE(first.Check(Check(spec, "e1"), std::nullopt, kSeenTtl).has_value());
  std::string value = *first.value();
  const absl::Time later = kAt + absl::Minutes(10);
  for (int e = 2; e <= kMarkersInCustomerKey; ++e) {  // suppressed (the cap of 1 is used), final: kept in the key
    CustomerDraft d(value, false);
    ASSERT_TRUE(d.Check(Check(spec, absl::StrCat("e", e), later), std::nullopt, kSeenTtl).has_value());
    EXPECT_TRUE(d.moved().empty()) << e;
    value = *d.value();
    EXPECT_NE(value.find("e11||0:0|mk"), std::string::npos) << value;  // e1's marker, still in the key
  }
  CustomerDraft d(value, false);
  const std::string next = absl::StrCat("e", kMarkersInCustomerKey + 1);
  const std::optional<CheckResult> r = d.Check(Check(spec, next, later), std::nullopt, kSeenTtl);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->outcome.reserved);  // the cap of 1 is used: suppressed, final
  EXPECT_EQ(r->outcome.usage[0].used, 1);
  EXPECT_EQ(r->outcome.usage[0].frees_at, kAt + absl::Hours(24));
  ASSERT_EQ(d.moved().size(), 1u);
  EXPECT_EQ(d.moved()[0].event_id, "e1");
  EXPECT_EQ(d.moved()[0].payload, "1||0:0|mk");
  EXPECT_EQ(d.moved()[0].ttl_ms, kSeenTtl - 600'000);
  EXPECT_NE(d.value()->find(absl::StrCat("\n", next, "0||1:", kNow + 86'400'000, "|mk")), std::string::npos)
      << *d.value();
  EXPECT_EQ(d.value()->find("e11"), std::string::npos);  // moved out, not kept
  // A redelivery of e1 in the same call finds it where it was moved.
  const std::optional<CheckResult> again = d.Check(Check(spec, "e1", later), std::nullopt, kSeenTtl);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->marker, "mk");
  EXPECT_TRUE(again->outcome.reserved);
}

TEST(CustomerDraftTest, ADuplicateADeferralAndADryRunWriteNothing) {
  CustomerDraft d(std::nullopt, false);
  const std::optional<CheckResult> dup = d.Check(Check(Cap(2), "e9"), "1|0:-1|2:0|earlier", kSeenTtl);
  ASSERT_TRUE(dup.has_value());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->marker, "earlier");
  ASSERT_EQ(dup->outcome.signals.size(), 1u);
  EXPECT_EQ(dup->outcome.usage[0].used, 2);
  CheckSpec quiet = Cap(2);
  quiet.hold = Hold::kDefer;
  ASSERT_TRUE(d.Check(Check(quiet, "e1"), std::nullopt, kSeenTtl).has_value());
  CustomerCheck dry = Check(Cap(2), "e2");
  dry.dry_run = true;
  const std::optional<CheckResult> r = d.Check(dry, std::nullopt, kSeenTtl);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->outcome.reserved);
  EXPECT_EQ(d.write(), CustomerDraft::Write::kNone);
  EXPECT_FALSE(d.value().has_value());
}

TEST(CustomerDraftTest, ASignalWithoutAnEndKeepsTheKeyForeverAndIsReportedWithItsField) {
  CheckSpec spec = Cap(2);
  const std::vector<std::string> complaints = {"complaint:*"};
  spec.signals.push_back({.fields = complaints});
  CustomerDraft d(absl::StrCat("2 0\ng13 ", kNow - 1000, " 0\ncomplaint:T-1"), false);
  const std::optional<CheckResult> r = d.Check(Check(spec, "e1"), std::nullopt, kSeenTtl);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->outcome.signals.size(), 1u);
  EXPECT_TRUE(r->outcome.signals[0].hit);
  EXPECT_EQ(r->outcome.signals[0].field, "complaint:T-1");
  EXPECT_EQ(r->outcome.signals[0].until, absl::InfiniteFuture());
  EXPECT_FALSE(r->outcome.reserved);  // suppressed by the condition: final, the marker stored
  EXPECT_EQ(d.write(), CustomerDraft::Write::kSetForever);
  EXPECT_NE(d.value()->find("0|1:-1|0:0|mk"), std::string::npos) << *d.value();
}

TEST(CustomerDraftTest, WhatCheckLuaMustDecideIsLeftToIt) {
  auto declined = [](std::optional<std::string> value, bool older, const CheckSpec& spec) {
    CustomerDraft d(std::move(value), older);
    return !d.Check(Check(spec, "e1"), std::nullopt, kSeenTtl).has_value();
  };
  EXPECT_TRUE(declined(std::nullopt, /*older=*/true, Cap(1)));           // may be in an older layout
  EXPECT_TRUE(declined(absl::StrCat("2 ", kNow + 1, "\n"), true, Cap(1)));  // moved from one recently
  EXPECT_FALSE(declined(absl::StrCat("2 ", kNow + 1, "\n"), false, Cap(1)));
  EXPECT_TRUE(declined("v1 state", false, Cap(1)));                      // not store v2's encoding
  EXPECT_TRUE(declined("2 0\nk5 1 2\nr:dayk5 1 2\nr:day", false, Cap(1)));  // a counter twice
  EXPECT_TRUE(declined("2 0\nk50 1 2\nr:day", false, Cap(1)));           // an entry past the end
  EXPECT_TRUE(declined(std::nullopt, false, Cap(0)));                    // a limit of 0
  CheckSpec shared = Cap(1);
  shared.limits.push_back(shared.limits[0]);
  EXPECT_TRUE(declined(std::nullopt, false, shared));                    // two limits of one counter
  CustomerDraft d(std::nullopt, false);
  EXPECT_FALSE(d.Check(Check(Cap(1), "e1"), "not an outcome", kSeenTtl).has_value());  // a malformed marker
}

// With the older layouts looked in, a customer without a store-v2 key (or moved from an older layout recently) is
// probed there first (LooksInOlderLayouts); found in none, the draft decides it, writing what it would with the older
// layouts not looked in (check.lua's probe finding nothing, then its common path).
TEST(CustomerDraftTest, ACustomerTheOlderLayoutsHoldNothingOfIsDecidedAsWithoutThem) {
  const std::string moved = absl::StrCat("2 ", kNow + 1, "\n");
  EXPECT_TRUE(CustomerDraft(std::nullopt, true).LooksInOlderLayouts(kNow));
  EXPECT_TRUE(CustomerDraft(moved, true).LooksInOlderLayouts(kNow));
  EXPECT_FALSE(CustomerDraft(moved, true).LooksInOlderLayouts(kNow + 1));  // looked at until then
  EXPECT_FALSE(CustomerDraft("2 0\n", true).LooksInOlderLayouts(kNow));
  EXPECT_FALSE(CustomerDraft("v1 state", true).LooksInOlderLayouts(kNow));  // declined anyway (check.lua's)
  EXPECT_FALSE(CustomerDraft(std::nullopt, false).LooksInOlderLayouts(kNow));
  for (const std::optional<std::string>& value : {std::optional<std::string>(), std::optional<std::string>(moved)}) {
    CustomerDraft looked(value, /*older_layouts=*/true);
    CustomerDraft without(value, /*older_layouts=*/false);
    const std::optional<CheckResult> a = looked.Check(Check(Cap(2), "e1"), std::nullopt, kSeenTtl,
                                                      /*nothing_older=*/true);
    const std::optional<CheckResult> b = without.Check(Check(Cap(2), "e1"), std::nullopt, kSeenTtl);
    ASSERT_TRUE(a.has_value() && b.has_value());
    EXPECT_TRUE(a->outcome.reserved);
    EXPECT_EQ(looked.value(), without.value());
    EXPECT_TRUE(looked.value()->starts_with(value ? moved : "2 0\n")) << *looked.value();  // the header kept
    EXPECT_EQ(looked.ttl_ms(), without.ttl_ms());
    // the next check of the same call: a new customer's key now says the older layouts are not looked at for it
    EXPECT_EQ(looked.LooksInOlderLayouts(kNow), value.has_value());
  }
}

TEST(CustomerDraftTest, EarlierDecisionSplitsTheOutcomeFromTheMarkerAtTheThirdBar) {
  const std::optional<CheckResult> r = EarlierDecision("0|1:5,0:-1|3:7|a|b");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->marker, "a|b");
  ASSERT_EQ(r->outcome.signals.size(), 2u);
  EXPECT_EQ(r->outcome.signals[0].until, absl::FromUnixMillis(5));
  EXPECT_EQ(r->outcome.usage[0].frees_at, absl::FromUnixMillis(7));
  EXPECT_FALSE(EarlierDecision("2|||m").has_value());
}

}  // namespace
}  // namespace tact::store
