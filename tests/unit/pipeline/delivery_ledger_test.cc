#include "daemon/pipeline/delivery_ledger.h"

#include <gtest/gtest.h>

namespace tact::pipeline {
namespace {

using std::chrono::milliseconds;
using Committable = std::map<TopicPartition, int64_t>;

const TopicPartition kP0{"tact.outbound", 0};
const TopicPartition kP1{"tact.outbound", 1};
const DeliveryLedger::TimePoint kT0{};

std::vector<OutputRecord> Outputs(int n) {
  std::vector<OutputRecord> out;
  for (int i = 0; i < n; ++i) out.push_back({.topic = "t" + std::to_string(i), .value = "v"});
  return out;
}

// Begin + Add in one step, as the pipeline does once an input is decided.
std::vector<PendingOutput*> Emit(DeliveryLedger& l, const TopicPartition& tp, int64_t offset, int outputs) {
  l.Begin(tp, offset);
  const DeliveryLedger::Added added = l.Add(tp, offset, Outputs(outputs));
  return {added.begin(), added.end()};
}

TEST(DeliveryLedgerTest, AnInputIsCommittableOnlyOnceEveryOutputIsDelivered) {
  DeliveryLedger l;
  std::vector<PendingOutput*> outs = Emit(l, kP0, 10, 2);
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[0]->source, kP0);
  EXPECT_EQ(outs[0]->offset, 10);
  EXPECT_EQ(outs[1]->topic, "t1");
  EXPECT_EQ(l.InFlight(), 1u);
  l.Delivered(outs[1]);
  EXPECT_TRUE(l.TakeCommittable().empty());
  l.Delivered(outs[0]);
  EXPECT_EQ(l.TakeCommittable(), (Committable{{kP0, 11}}));
  EXPECT_TRUE(l.TakeCommittable().empty()) << "taken once";
  EXPECT_EQ(l.InFlight(), 0u);
}

TEST(DeliveryLedgerTest, OnlyAContiguousPrefixAdvancesEachPartition) {
  DeliveryLedger l;
  PendingOutput* a = Emit(l, kP0, 1, 1)[0];
  PendingOutput* b = Emit(l, kP0, 2, 1)[0];
  PendingOutput* c = Emit(l, kP1, 7, 1)[0];
  l.Delivered(b);  // offset 2 done before 1: nothing of kP0 may be stored yet
  l.Delivered(c);
  EXPECT_EQ(l.TakeCommittable(), (Committable{{kP1, 8}}));
  EXPECT_EQ(l.InFlight(kP0), 1u);
  l.Delivered(a);
  EXPECT_EQ(l.TakeCommittable(), (Committable{{kP0, 3}}));
}

TEST(DeliveryLedgerTest, AHeldInputHoldsBackLaterOffsetsUntilItsOutputsAreKnown) {
  DeliveryLedger l;
  l.Begin(kP0, 1);  // taken in, decided much later (a deferred record held until due)
  PendingOutput* later = Emit(l, kP0, 2, 1)[0];
  l.Delivered(later);
  EXPECT_TRUE(l.TakeCommittable().empty());
  EXPECT_EQ(l.InFlight(), 0u) << "a held input has no outputs in flight";
  EXPECT_EQ(l.Unfinished(), 1u);
  EXPECT_TRUE(l.Add(kP0, 1, {}).empty()) << "no outputs: done at once";
  EXPECT_EQ(l.TakeCommittable(), (Committable{{kP0, 3}}));
  EXPECT_EQ(l.Unfinished(), 0u);
}

TEST(DeliveryLedgerTest, FailedOutputsWaitForTheirOwnBackoff) {
  DeliveryLedger l(absl::Milliseconds(100), absl::Milliseconds(400));
  std::vector<PendingOutput*> outs = Emit(l, kP0, 1, 2);
  EXPECT_EQ(l.Failed(outs[0], kT0), 1);
  EXPECT_EQ(l.NextRetry(), kT0 + milliseconds(100));
  EXPECT_TRUE(l.DueRetries(kT0 + milliseconds(99)).empty());
  EXPECT_EQ(l.DueRetries(kT0 + milliseconds(100)), std::vector<PendingOutput*>{outs[0]});
  EXPECT_EQ(l.Failed(outs[0], kT0), 2);
  EXPECT_EQ(l.Failed(outs[1], kT0), 1);
  EXPECT_EQ(l.DueRetries(kT0 + milliseconds(100)), std::vector<PendingOutput*>{outs[1]});
  EXPECT_EQ(l.DueRetries(kT0 + milliseconds(200)), std::vector<PendingOutput*>{outs[0]}) << "doubled";
  EXPECT_EQ(l.Failed(outs[0], kT0), 3);
  EXPECT_EQ(l.Failed(outs[0], kT0), 4);
  EXPECT_EQ(l.NextRetry(), kT0 + milliseconds(400)) << "capped at max";
  l.DueRetries(kT0 + milliseconds(400));
  l.RetryNow(outs[1], kT0 + milliseconds(5));
  EXPECT_EQ(l.DueRetries(kT0 + milliseconds(5)), std::vector<PendingOutput*>{outs[1]}) << "rewritten: no backoff";
  EXPECT_FALSE(l.NextRetry().has_value());
  EXPECT_TRUE(l.TakeCommittable().empty()) << "a failure never advances the offset";
}

TEST(DeliveryLedgerTest, ADroppedPartitionNeverBecomesCommittable) {
  DeliveryLedger l;
  PendingOutput* a = Emit(l, kP0, 1, 1)[0];
  PendingOutput* b = Emit(l, kP1, 1, 1)[0];
  PendingOutput* c = Emit(l, kP0, 2, 1)[0];
  l.Delivered(a);  // committable 2 for kP0, not yet taken
  l.DropPartition(kP0);
  EXPECT_EQ(l.InFlight(kP0), 1u) << "its output is still in the producer";
  l.Delivered(c);  // the report of a revoked partition's output
  l.Delivered(b);
  EXPECT_EQ(l.TakeCommittable(), (Committable{{kP1, 2}}));
  EXPECT_EQ(l.InFlight(), 0u);
  // Assigned again later: starts afresh.
  l.Delivered(Emit(l, kP0, 5, 1)[0]);
  EXPECT_EQ(l.TakeCommittable(), (Committable{{kP0, 6}}));
}

TEST(DeliveryLedgerTest, ClearForgetsEverything) {
  DeliveryLedger l;
  std::vector<PendingOutput*> outs = Emit(l, kP0, 1, 2);
  l.Failed(outs[0], kT0);
  l.Clear();
  EXPECT_EQ(l.InFlight(), 0u);
  EXPECT_EQ(l.Unfinished(), 0u);
  EXPECT_FALSE(l.NextRetry().has_value());
  EXPECT_TRUE(l.TakeCommittable().empty());
}

}  // namespace
}  // namespace tact::pipeline
