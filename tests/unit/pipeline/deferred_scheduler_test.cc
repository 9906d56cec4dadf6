// The pure parts of deferred delivery: when a deferred event is acted on, header times, DLQ headers.
#include "daemon/pipeline/deferred_scheduler.h"

#include <gtest/gtest.h>

#include "daemon/core/proto_time.h"

namespace tact::pipeline {
namespace {

absl::Time At(const char* rfc3339) {
  absl::Time t;
  EXPECT_TRUE(ParseHeaderTime(rfc3339, &t)) << rfc3339;
  return t;
}

TEST(DeferredTimingTest, FirstDeferralIsDueAtItsDeferUntilAndStaleFromCreation) {
  const DeferredSchedulerOptions opts;
  const HeaderList headers = {{"tact-decision", "DEFER"},
                              {"tact-defer-until", "2026-11-24T08:00:00Z"},
                              {"tact-decided-at", "2026-11-23T22:00:00Z"}};
  const DeferredTiming t =
      TimeDeferred(headers, At("2026-11-23T21:30:00Z"), v1::PROMOTION, At("2026-11-23T22:00:05Z"), opts);
  EXPECT_EQ(t.deferrals, 1);
  EXPECT_EQ(t.due, At("2026-11-24T08:00:00Z"));
  EXPECT_EQ(t.stale_at, At("2026-11-24T21:30:00Z"));  // PROMOTION: 24h after created_at
  EXPECT_EQ(t.first_deferred, At("2026-11-23T22:00:00Z"));
  EXPECT_EQ(t.act_at(), t.due);
}

TEST(DeferredTimingTest, WithoutCreatedAtStalenessRunsFromTheFirstDeferral) {
  const DeferredSchedulerOptions opts;
  const HeaderList headers = {{"tact-defer-until", "2026-11-26T08:00:00Z"},
                              {"tact-decided-at", "2026-11-25T22:00:00Z"},
                              {"tact-deferrals", "2"},
                              {"tact-first-deferred-at", "2026-11-23T22:00:00Z"}};
  const DeferredTiming t =
      TimeDeferred(headers, absl::InfinitePast(), v1::PROACTIVE_SERVICE, At("2026-11-25T22:00:01Z"), opts);
  EXPECT_EQ(t.deferrals, 3);
  EXPECT_EQ(t.stale_at, At("2026-11-25T22:00:00Z"));  // 48h after the first deferral
  EXPECT_EQ(t.act_at(), t.stale_at);                  // stale before due: acts (EXPIRED) at the limit
}

TEST(DeferredTimingTest, MissingOrPastDueTimeFallsBackToRetryIntervalAndMinimumDelay) {
  DeferredSchedulerOptions opts;
  opts.retry_interval = absl::Minutes(15);
  const absl::Time now = At("2026-11-23T10:00:00Z");
  EXPECT_EQ(TimeDeferred({}, absl::InfinitePast(), v1::SERVICE, now, opts).due, now + absl::Minutes(15));
  const HeaderList past = {{"tact-defer-until", "2026-11-23T09:00:00Z"}, {"tact-decided-at", "2026-11-23T10:00:00Z"}};
  EXPECT_EQ(TimeDeferred(past, absl::InfinitePast(), v1::SERVICE, now, opts).due, now + absl::Seconds(1));
  const HeaderList garbage = {{"tact-defer-until", "tomorrow"}, {"tact-deferrals", "x"}};
  const DeferredTiming g = TimeDeferred(garbage, absl::InfinitePast(), v1::SERVICE, now, opts);
  EXPECT_EQ(g.due, now + absl::Minutes(15));
  EXPECT_EQ(g.deferrals, 1);
}

TEST(DeferredTimingTest, ClassWithoutALimitUsesTheDefault) {
  DeferredSchedulerOptions opts;
  opts.max_age = {{v1::PROMOTION, absl::Hours(1)}};
  opts.default_max_age = absl::Hours(5);
  const absl::Time now = At("2026-11-23T10:00:00Z");
  EXPECT_EQ(TimeDeferred({}, now, v1::PROMOTION, now, opts).stale_at, now + absl::Hours(1));
  EXPECT_EQ(TimeDeferred({}, now, v1::SERVICE, now, opts).stale_at, now + absl::Hours(5));
}

std::unique_ptr<DeferredRecord> Rec(const std::string& event_id, int deferrals, absl::Time due, int64_t offset,
                                    int32_t partition = 0) {
  auto r = std::make_unique<DeferredRecord>();
  r->tp = {"tact.deferred", partition};
  r->offset = offset;
  r->event.event_id = event_id;
  r->timing.deferrals = deferrals;
  r->timing.due = due;
  r->timing.stale_at = due + absl::Hours(24);
  return r;
}

TEST(DeferredQueueTest, ActsInDueOrderOnlyWhenDue) {
  const absl::Time t0 = At("2026-11-24T08:00:00Z");
  DeferredQueue q(100);
  ASSERT_TRUE(q.Add(Rec("b", 1, t0 + absl::Minutes(5), 1)));
  ASSERT_TRUE(q.Add(Rec("a", 1, t0, 2)));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.next_at(), t0);
  EXPECT_FALSE(q.PopDue(t0 - absl::Seconds(1)).has_value());
  std::optional<DeferredQueue::Due> d = q.PopDue(t0 + absl::Hours(3));  // a clock jump: both are due, in order
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->record->event.event_id, "a");
  EXPECT_FALSE(d->superseded);
  d = q.PopDue(t0 + absl::Hours(3));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->record->event.event_id, "b");
  EXPECT_FALSE(q.PopDue(t0 + absl::Hours(3)).has_value());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_FALSE(q.next_at().has_value());
}

TEST(DeferredQueueTest, StaleBeforeDueActsAtTheLimit) {
  const absl::Time t0 = At("2026-11-24T08:00:00Z");
  DeferredQueue q(100);
  auto r = Rec("a", 1, t0 + absl::Hours(30), 1);
  r->timing.stale_at = t0 + absl::Hours(24);
  ASSERT_TRUE(q.Add(std::move(r)));
  EXPECT_EQ(q.next_at(), t0 + absl::Hours(24));
  EXPECT_TRUE(q.PopDue(t0 + absl::Hours(24)).has_value());
}

TEST(DeferredQueueTest, OlderDeferralOfTheSameEventIsSuperseded) {
  const absl::Time t0 = At("2026-11-24T08:00:00Z");
  DeferredQueue q(100);
  ASSERT_TRUE(q.Add(Rec("e", 1, t0, 1)));                       // read again after a restart…
  ASSERT_TRUE(q.Add(Rec("e", 2, t0 + absl::Hours(1), 2)));      // …behind its own re-deferral
  std::optional<DeferredQueue::Due> d = q.PopDue(t0);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->superseded);
  EXPECT_FALSE(q.PopDue(t0).has_value());
  d = q.PopDue(t0 + absl::Hours(1));
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->superseded);
  EXPECT_EQ(d->record->timing.deferrals, 2);
}

TEST(DeferredQueueTest, OfTwoEqualCopiesTheLastActs) {
  const absl::Time t0 = At("2026-11-24T08:00:00Z");
  DeferredQueue q(100);
  ASSERT_TRUE(q.Add(Rec("e", 1, t0, 1)));
  ASSERT_TRUE(q.Add(Rec("e", 1, t0, 2)));
  std::optional<DeferredQueue::Due> first = q.PopDue(t0);
  std::optional<DeferredQueue::Due> second = q.PopDue(t0);
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->superseded);
  EXPECT_EQ(first->record->offset, 1);
  EXPECT_FALSE(second->superseded);
  EXPECT_EQ(second->record->offset, 2);
}

TEST(DeferredQueueTest, CopyOfADeferralAlreadyActedOnIsRefusedButANewerOneIsHeld) {
  const absl::Time t0 = At("2026-11-24T08:00:00Z");
  DeferredQueue q(100);
  ASSERT_TRUE(q.Add(Rec("e", 1, t0, 1)));
  ASSERT_FALSE(q.PopDue(t0)->superseded);
  EXPECT_FALSE(q.Add(Rec("e", 1, t0, 2)));   // the pipeline wrote the same DEFER twice
  EXPECT_EQ(q.size(), 0u);
  EXPECT_TRUE(q.Add(Rec("e", 2, t0 + absl::Hours(1), 3)));  // deferred again after re-injection
  EXPECT_EQ(q.size(), 1u);
}

TEST(DeferredQueueTest, RemembersOnlyTheLastActedEvents) {
  const absl::Time t0 = At("2026-11-24T08:00:00Z");
  DeferredQueue q(2);
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(q.Add(Rec(id, 1, t0, 1)));
    ASSERT_TRUE(q.PopDue(t0).has_value());
  }
  EXPECT_TRUE(q.Add(Rec("a", 1, t0, 2)));   // forgotten: held again (the decision path dedupes)
  EXPECT_FALSE(q.Add(Rec("c", 1, t0, 3)));
}

TEST(DeferredQueueTest, RevokedPartitionsAreDropped) {
  const absl::Time t0 = At("2026-11-24T08:00:00Z");
  DeferredQueue q(100);
  ASSERT_TRUE(q.Add(Rec("a", 1, t0, 1, /*partition=*/0)));
  ASSERT_TRUE(q.Add(Rec("b", 1, t0, 1, /*partition=*/1)));
  ASSERT_TRUE(q.Add(Rec("c", 1, t0, 2, /*partition=*/1)));
  q.RemovePartitions({{"tact.deferred", 1}});
  EXPECT_EQ(q.size(), 1u);
  std::optional<DeferredQueue::Due> d = q.PopDue(t0);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->record->event.event_id, "a");
  EXPECT_TRUE(q.Add(Rec("b", 1, t0, 1, /*partition=*/1)));  // re-read by a later owner: not "acted on"
}

TEST(DeferralHeadersTest, DeferUntilAndDecidedAtRoundTripWithFractions) {
  v1::Decision d;
  d.set_decision(v1::DEFER);
  const absl::Time until = At("2026-11-24T08:00:00Z");
  *d.mutable_defer_until() = TimeToProto(until);
  HeaderList h;
  const absl::Time decided = until - absl::Hours(9) + absl::Milliseconds(250);
  AddDeferralHeaders(h, d, decided);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>("tact-defer-until", "2026-11-24T08:00:00Z")));
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>("tact-decided-at", "2026-11-23T23:00:00.25Z")));
  absl::Time back;
  ASSERT_TRUE(ParseHeaderTime(h[1].second, &back));
  EXPECT_EQ(back, decided);
  EXPECT_TRUE(ParseHeaderTime("2026-11-24T09:00:00+01:00", &back));
  EXPECT_EQ(back, until);

  HeaderList none;
  d.clear_defer_until();
  AddDeferralHeaders(none, d, decided);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].first, "tact-decided-at");
}

TEST(DeadLetterHeadersTest, ReasonAndSourceAfterTheInputHeaders) {
  HeaderList h = {{"content-type", "application/json"}};
  AddDeadLetterHeaders(h, "csat: must be 1..5", {"tact.signals", 2}, 41);
  const HeaderList want = {{"content-type", "application/json"},
                           {"tact-dlq-reason", "csat: must be 1..5"},
                           {"tact-source-topic", "tact.signals"},
                           {"tact-source-partition", "2"},
                           {"tact-source-offset", "41"}};
  EXPECT_EQ(h, want);
  EXPECT_EQ(*FindHeader(h, "tact-source-offset"), "41");
  EXPECT_EQ(FindHeader(h, "nope"), nullptr);
  EXPECT_EQ(Position({"tact.signals", 2}, 41), "tact.signals[2]@41");
}

}  // namespace
}  // namespace tact::pipeline
