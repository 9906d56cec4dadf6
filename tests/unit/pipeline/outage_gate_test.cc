#include "daemon/pipeline/outage_gate.h"

#include <gtest/gtest.h>

namespace tact::pipeline {
namespace {

TEST(OutageGateTest, ProbesAfterABackoffThatDoublesUpToItsMax) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  OutageGate gate(absl::Milliseconds(100), absl::Milliseconds(300), clock);
  EXPECT_FALSE(gate.active());
  EXPECT_FALSE(gate.ProbeDue()) << "no outage: nothing to probe";
  gate.Pause("UNAVAILABLE");
  EXPECT_TRUE(gate.active());
  EXPECT_EQ(gate.reason(), "UNAVAILABLE");
  EXPECT_EQ(gate.WaitMs(1000), 100);
  EXPECT_EQ(gate.WaitMs(40), 40) << "capped";
  clock.Advance(absl::Milliseconds(99));
  EXPECT_FALSE(gate.ProbeDue());
  clock.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(gate.ProbeDue());
  EXPECT_FALSE(gate.ProbeDue()) << "the next one is scheduled";
  EXPECT_EQ(gate.WaitMs(1000), 200) << "doubled";
  clock.Advance(absl::Milliseconds(200));
  EXPECT_TRUE(gate.ProbeDue());
  EXPECT_EQ(gate.WaitMs(1000), 300) << "at most the max";
  clock.Advance(absl::Milliseconds(500));
  EXPECT_EQ(gate.WaitMs(1000), 0) << "overdue";
  EXPECT_TRUE(gate.ProbeDue());
  EXPECT_EQ(gate.WaitMs(1000), 300);
  const OutageGate::Summary s = gate.Resume();
  EXPECT_EQ(s.paused, absl::Milliseconds(800));
  EXPECT_EQ(s.probes, 3);
  EXPECT_FALSE(gate.active());
}

TEST(OutageGateTest, ANewOutageStartsFromTheMinimumBackoff) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  OutageGate gate(absl::Milliseconds(100), absl::Seconds(2), clock);
  gate.Pause("UNAVAILABLE");
  clock.Advance(absl::Milliseconds(100));
  ASSERT_TRUE(gate.ProbeDue());
  gate.Resume();
  gate.Pause("DEADLINE_EXCEEDED");
  EXPECT_EQ(gate.reason(), "DEADLINE_EXCEEDED");
  EXPECT_EQ(gate.WaitMs(1000), 100);
  EXPECT_EQ(gate.Resume().probes, 0);
}

}  // namespace
}  // namespace tact::pipeline
