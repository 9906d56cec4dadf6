#include "daemon/capacity/erlang.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tact::capacity {
namespace {

constexpr double kTol = 1e-3;

// ---- Erlang B: published traffic-table entries (Erlangs that give 1% / 2% blocking for N circuits, the
// standard Erlang B table, to 2 decimals of load) and an exact small case. Reference values recomputed with
// direct factorial sums at 50 digits (mpmath).
struct BCase {
  int agents;
  double erlangs;
  double blocking;
};
class ErlangBTable : public ::testing::TestWithParam<BCase> {};
TEST_P(ErlangBTable, MatchesPublishedTable) {
  const BCase& c = GetParam();
  EXPECT_NEAR(ErlangB(c.agents, c.erlangs), c.blocking, 1e-6);
}
INSTANTIATE_TEST_SUITE_P(Published, ErlangBTable,
                         ::testing::Values(BCase{10, 4.46, 0.0099852784},  // table: 10 circuits @1% = 4.46 E
                                           BCase{10, 5.08, 0.01992105},    // 10 circuits @2% = 5.08 E
                                           BCase{20, 12.03, 0.0099958679}, // 20 circuits @1% = 12.03 E
                                           BCase{50, 37.90, 0.0099953981}, // 50 circuits @1% = 37.90 E
                                           BCase{5, 1.36, 0.0099788937},   // 5 circuits @1% = 1.36 E
                                           BCase{30, 25, 0.052603172},     // 30 lines, 25 E ≈ 5%
                                           BCase{2, 1, 0.2}));             // exact: (1/2)/(1+1+1/2)

TEST(ErlangBTest, LargeAgentCountsStayFinite) {
  // A direct A^N/N! would overflow; the recurrence does not.
  const double b = ErlangB(2000, 1900);
  EXPECT_TRUE(std::isfinite(b));
  EXPECT_GT(b, 0);
  EXPECT_LT(b, 0.05);
}

// ---- Erlang C.
struct CCase {
  int agents;
  double erlangs;
  double aht_s;
  double threshold_s;
  double p_wait;
  double service_level;
  double asa_s;
};
class ErlangCVectors : public ::testing::TestWithParam<CCase> {};
TEST_P(ErlangCVectors, MatchesReference) {
  const CCase& c = GetParam();
  const Metrics m = ErlangC(c.agents, c.erlangs, c.aht_s, c.threshold_s);
  EXPECT_TRUE(m.stable);
  EXPECT_NEAR(m.p_wait, c.p_wait, kTol);
  EXPECT_NEAR(m.service_level, c.service_level, kTol);
  ASSERT_TRUE(m.asa_s.has_value());
  EXPECT_NEAR(*m.asa_s, c.asa_s, kTol);
  EXPECT_NEAR(m.occupancy, c.erlangs / c.agents, 1e-12);
}
INSTANTIATE_TEST_SUITE_P(
    Vectors, ErlangCVectors,
    ::testing::Values(
        // The check vector (the classic "100 calls per 30 min, 3 min AHT, 14 agents" example). Its
        // ASA "7.84 s" is rounded to two decimals; the exact value is 7.835937 s (mpmath), checked here.
        CCase{14, 10, 180, 20, 0.1741, 0.8884, 7.835937012},
        // M/M/2 at ρ=1/2: P(wait) = 2ρ²/(1+ρ) = 1/3 exactly; ASA = P(wait)·AHT/(N−A) = 20 s.
        CCase{2, 1, 60, 0, 1.0 / 3, 2.0 / 3, 20},
        // M/M/3, A=2: P(wait) = 4/9 exactly.
        CCase{3, 2, 120, 10, 4.0 / 9, 0.591091371276, 53.3333333333},
        // The rest: direct factorial sums at 80 digits (mpmath), an independent computation.
        CCase{55, 48, 240, 20, 0.238700936378, 0.866796488173, 8.18403210439},
        CCase{11, 25.0 / 3, 180, 20, 0.299619350037, 0.777212915019, 20.2243061275},
        CCase{100, 90, 300, 30, 0.216940480906, 0.920192057117, 6.50821442719}));

TEST(ErlangCTest, CheckVectorThroughWorkload) {
  // 50 calls in 15 minutes at 180 s AHT = 10 Erlangs.
  const Metrics m = Evaluate({.calls = 50, .interval_s = 900, .aht_s = 180}, 14, 20);
  EXPECT_EQ(m.model, Model::kErlangC);
  EXPECT_NEAR(m.offered_erlangs, 10, 1e-12);
  EXPECT_NEAR(m.p_wait, 0.1741, kTol);
  EXPECT_NEAR(m.service_level, 0.8884, kTol);
  EXPECT_NEAR(*m.asa_s, 7.84, 7.84 * kTol);  // 7.84 as published (two decimals): relative 1e-3
  EXPECT_NEAR(*m.asa_s, 7.835937012, 1e-6);
}

TEST(ErlangCTest, OverloadIsReportedUnstableNeverNaN) {
  for (int agents : {0, 5, 10}) {
    const Metrics m = ErlangC(agents, 10, 180, 20);
    EXPECT_FALSE(m.stable) << agents;
    EXPECT_EQ(m.p_wait, 1);
    EXPECT_EQ(m.service_level, 0);
    EXPECT_FALSE(m.asa_s.has_value());
    EXPECT_EQ(m.occupancy, 1);
    EXPECT_FALSE(Meets(m, Target{}));
  }
}

TEST(ErlangCTest, NoCallsMeansNoWait) {
  const Metrics m = ErlangC(3, 0, 180, 20);
  EXPECT_TRUE(m.stable);
  EXPECT_EQ(m.p_wait, 0);
  EXPECT_EQ(m.service_level, 1);
  EXPECT_EQ(*m.asa_s, 0);
}

// ---- Erlang A. Reference: mpmath at 80 digits — P(wait) and P(abandon) by the Mandelbaum–Zeltyn closed
// forms through the lower incomplete gamma function, P(answered within t) by the hypoexponential
// partial-fraction formula (exact at 80 digits), ASA = E[Q]/λ. Independent of the series + uniformization here.
struct ACase {
  int agents;
  double calls;
  double patience_s;
  double p_wait;
  double abandon;
  double service_level;
  double asa_s;
  double occupancy;
};
class ErlangAVectors : public ::testing::TestWithParam<ACase> {};
TEST_P(ErlangAVectors, MatchesReference) {
  const ACase& c = GetParam();
  const Workload w{.calls = c.calls, .interval_s = 900, .aht_s = 180, .patience_s = c.patience_s};
  const Metrics m = ErlangA(c.agents, w, 20);
  EXPECT_EQ(m.model, Model::kErlangA);
  EXPECT_TRUE(m.stable);
  EXPECT_NEAR(m.p_wait, c.p_wait, kTol);
  EXPECT_NEAR(m.abandon_rate, c.abandon, kTol);
  EXPECT_NEAR(m.service_level, c.service_level, kTol);
  ASSERT_TRUE(m.asa_s.has_value());
  EXPECT_NEAR(*m.asa_s, c.asa_s, kTol);
  EXPECT_NEAR(m.occupancy, c.occupancy, kTol);
}
INSTANTIATE_TEST_SUITE_P(
    Vectors, ErlangAVectors,
    ::testing::Values(
        // Moderate load (A=10, N=14): close to Erlang C, slightly better because some callers leave.
        ACase{14, 50, 120, 0.12697634008, 0.0228392865318, 0.932729580698, 2.74071438382, 0.697971938192},
        ACase{12, 55, 60, 0.328648336705, 0.10847823464, 0.800635609619, 6.50869407841, 0.817228284913},
        ACase{30, 140, 180, 0.377389694314, 0.0456205235651, 0.805209235696, 8.21169424171, 0.890754178006},
        // Overloaded (A > N): Erlang C says "unstable, 0%"; Erlang A says how many hang up.
        ACase{10, 80, 60, 0.831496577997, 0.394747166141, 0.327580763098, 23.6848299684, 0.968404534175},
        ACase{20, 120, 120, 0.759156971448, 0.195978181624, 0.439099767251, 23.5173817949, 0.964826182051},
        ACase{5, 60, 90, 0.960938188223, 0.587830546775, 0.0852253541398, 52.9047492097, 0.98920668774},
        ACase{14, 200, 120, 0.999964730358, 0.65000126703, 0.000499275882835, 78.0001520436,
              0.999996379915}));

TEST(ErlangATest, LongPatienceConvergesToErlangC) {
  const Workload w{.calls = 50, .interval_s = 900, .aht_s = 180, .patience_s = 1e7};
  const Metrics a = ErlangA(14, w, 20);
  EXPECT_NEAR(a.p_wait, 0.1741, kTol);
  EXPECT_NEAR(a.service_level, 0.8884, kTol);
  EXPECT_NEAR(*a.asa_s, 7.84, 5e-3);
  EXPECT_LT(a.abandon_rate, 1e-5);
}

TEST(ErlangATest, HeavyOverloadStaysFinite) {
  // 5000 calls on 10 agents with 10 minutes' patience: the tail series would overflow in linear space.
  const Workload w{.calls = 5000, .interval_s = 900, .aht_s = 300, .patience_s = 600};
  const Metrics m = ErlangA(10, w, 20);
  EXPECT_TRUE(std::isfinite(m.p_wait));
  EXPECT_NEAR(m.p_wait, 1, 1e-6);
  EXPECT_GT(m.abandon_rate, 0.99);
  EXPECT_GE(m.service_level, 0);
  EXPECT_LT(m.service_level, 0.01);
}

TEST(ErlangATest, NoAgentsEveryoneAbandons) {
  const Metrics m = ErlangA(0, {.calls = 30, .interval_s = 900, .aht_s = 180, .patience_s = 60}, 20);
  EXPECT_EQ(m.service_level, 0);
  EXPECT_NEAR(m.abandon_rate, 1, 1e-9);
  EXPECT_NEAR(*m.asa_s, 60, 1e-6);  // everyone waits out their patience
}

// ---- Properties.
TEST(ErlangPropertyTest, ServiceLevelRisesWithAgentsAndFallsWithLoad) {
  for (double patience : {0.0, 45.0, 180.0}) {
    for (double calls : {20.0, 60.0, 150.0, 400.0}) {
      const Workload w{.calls = calls, .interval_s = 900, .aht_s = 240, .patience_s = patience};
      double last = -1;
      for (int n = 1; n <= 150; ++n) {
        const double sl = Evaluate(w, n, 20).service_level;
        EXPECT_GE(sl, last - 1e-12) << "calls=" << calls << " n=" << n << " patience=" << patience;
        last = sl;
      }
    }
    for (int n : {5, 20, 60}) {
      double last = 2;
      for (double calls = 1; calls < 600; calls *= 1.3) {
        const Workload w{.calls = calls, .interval_s = 900, .aht_s = 240, .patience_s = patience};
        const Metrics m = Evaluate(w, n, 20);
        EXPECT_LE(m.service_level, last + 1e-12) << "calls=" << calls << " n=" << n;
        EXPECT_GE(m.p_wait, 0);
        EXPECT_LE(m.p_wait, 1);
        last = m.service_level;
      }
    }
  }
}

TEST(ErlangPropertyTest, AbandonmentFallsWithAgents) {
  const Workload w{.calls = 200, .interval_s = 900, .aht_s = 180, .patience_s = 90};
  double last = 2;
  for (int n = 0; n <= 60; ++n) {
    const double ab = ErlangA(n, w, 20).abandon_rate;
    EXPECT_LE(ab, last + 1e-12) << n;
    last = ab;
  }
}

// ---- Agents needed, shrinkage, capacity.
TEST(AgentsNeededTest, CheckVector) {
  const Workload w{.calls = 50, .interval_s = 900, .aht_s = 180};
  // SL(12) = 0.6402, SL(13) = 0.7956, SL(14) = 0.8884; ASA(13) = 17.12 s, ASA(14) = 7.84 s.
  EXPECT_EQ(AgentsNeeded(w, {.service_level = 0.8, .threshold_s = 20}), 14);
  EXPECT_EQ(AgentsNeeded(w, {.service_level = 0.79, .threshold_s = 20}), 13);
  EXPECT_EQ(AgentsNeeded(w, {.service_level = 0, .threshold_s = 20, .max_asa_s = 8}), 14);
  EXPECT_EQ(AgentsNeeded(w, {.service_level = 0, .threshold_s = 20, .max_asa_s = 20}), 13);
  EXPECT_EQ(AgentsNeeded({.calls = 0, .aht_s = 180}, Target{}), 0);
}

TEST(AgentsNeededTest, IsTheSmallestThatMeets) {
  for (double calls : {5.0, 40.0, 333.0, 2500.0}) {
    for (double patience : {0.0, 120.0}) {
      const Workload w{.calls = calls, .interval_s = 900, .aht_s = 300, .patience_s = patience};
      const Target t{.service_level = 0.8, .threshold_s = 20, .max_abandon = patience > 0 ? 0.05 : 0};
      const int n = AgentsNeeded(w, t);
      ASSERT_GT(n, 0);
      EXPECT_TRUE(Meets(Evaluate(w, n, 20), t)) << calls;
      EXPECT_FALSE(Meets(Evaluate(w, n - 1, 20), t)) << calls;
    }
  }
}

TEST(AgentsNeededTest, ErlangANeedsNoMoreThanErlangCForServiceLevel) {
  const Workload c{.calls = 300, .interval_s = 900, .aht_s = 240};
  Workload a = c;
  a.patience_s = 120;
  EXPECT_LE(AgentsNeeded(a, Target{}), AgentsNeeded(c, Target{}));
}

TEST(ShrinkageTest, ScheduledAndOnPhone) {
  EXPECT_EQ(ScheduledAgents(13, 0.3), 19);  // 13 / 0.7 = 18.57
  EXPECT_EQ(ScheduledAgents(14, 0.3), 20);  // exactly 20, no spurious rounding up
  EXPECT_EQ(ScheduledAgents(10, 0.2), 13);  // 12.5
  EXPECT_EQ(OnPhoneAgents(20, 0.3), 14);
  EXPECT_EQ(OnPhoneAgents(19, 0.3), 13);
  EXPECT_EQ(ScheduledAgents(0, 0.3), 0);
}

TEST(MaxCallsTest, IsTheBoundaryOfTheTarget) {
  const Workload shape{.interval_s = 900, .aht_s = 180};
  const Target t{};
  const double max = MaxCalls(shape, 14, t);
  Workload w = shape;
  w.calls = max;
  EXPECT_TRUE(HoldsTarget(w, 14, t));
  w.calls = max + 0.01;
  EXPECT_FALSE(HoldsTarget(w, 14, t));
  EXPECT_GT(max, 50);  // 50 calls (the check vector) hold at 14 agents
  EXPECT_EQ(MaxCalls(shape, 0, t), 0);
}

}  // namespace
}  // namespace tact::capacity
