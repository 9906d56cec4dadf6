#pragma once

// Queueing formulas for one contact-centre interval. Pure: values in, values out, no I/O, no clock.
//
// Erlang C (M/M/N, infinite patience): Erlang B by the stable recurrence B(0)=1, B(n)=A·B(n−1)/(n+A·B(n−1)),
// then P(wait)=N·B/(N−A(1−B)), SL(t)=1−P(wait)·e^(−(N−A)t/AHT), ASA=P(wait)·AHT/(N−A). N ≤ A is unstable: the
// queue grows without bound, reported as `stable=false`, P(wait)=1, SL=0, ASA=nullopt (never NaN or negative).
//
// Erlang A (M/M/N+M: exponential patience with mean P, abandonment rate θ=1/P) by exact birth–death chain
// sums. Why this method: the stationary weights relative to state N are 1/B(N,A) for the states below N
// (so the Erlang B recurrence above gives them without factorials) and, above N, the series
// Σ_j Π_{i=1..j} λ/(Nμ+iθ), which is exactly the Mandelbaum–Zeltyn A(Nμ/θ, λ/θ) = 1+Σ y^j/Π(x+k) (the
// incomplete-gamma series). The series is summed in log space (no overflow at heavy overload) until its terms
// fall below 1e-17 of the largest, so the result is exact to double precision without an incomplete-gamma
// implementation. Service level under Erlang A needs the waiting-time distribution, which has no stable
// closed form (the hypoexponential coefficients alternate and cancel catastrophically); it is computed by
// uniformization of the tagged caller's queue-position chain (position r moves up at rate Nμ+rθ, the caller
// abandons at rate θ), started from the arrival distribution, in chunks so Poisson weights never underflow.
// Definitions (all over *offered* calls): P(wait) = P(all agents busy on arrival); abandon_rate = θ·E[Q]/λ;
// service_level = P(answered within t) — a call that abandons counts as not answered; ASA = E[time in queue]
// over all arrivals = E[Q]/λ (Little); occupancy = carried load / N.
#include <optional>
#include <string_view>
#include <vector>

namespace tact::capacity {

// One model for every figure of a workload (tactctl erlang, tactctl plan, PlanCampaign alike): Erlang A when
// the workload has a patience, Erlang C otherwise (ModelFor).
enum class Model { kErlangC, kErlangA };
// "erlang_c" | "erlang_a" (the JSON and proto spelling).
std::string_view ModelName(Model model);

// One interval's demand. `patience_s` = 0 means patience is not modelled (Erlang C).
struct Workload {
  double calls = 0;          // offered contacts in the interval
  double interval_s = 900;   // interval length
  double aht_s = 0;          // average handle time
  double patience_s = 0;     // mean customer patience; 0 = not modelled
};

// "80% in 20 s": the share of offered contacts answered within `threshold_s`.
struct ServiceLevelPoint {
  double service_level = 0;
  double threshold_s = 0;
  bool operator==(const ServiceLevelPoint&) const = default;
};

// What an interval must achieve; every target that is set must hold. A zero field is "no such target".
struct Target {
  double service_level = 0.8;  // fraction answered within `threshold_s`
  double threshold_s = 20;
  double max_asa_s = 0;        // average speed of answer
  double max_abandon = 0;      // fraction of offered calls abandoning (needs patience: Erlang A)
  double max_occupancy = 0;    // agents' busy share (carried load / agents), e.g. 0.85
  std::vector<ServiceLevelPoint> more_service_levels;  // further "X% in T s" targets ("90% in 90 s")
  bool operator==(const Target&) const = default;
};

struct Metrics {
  Model model = Model::kErlangC;
  bool stable = true;             // Erlang C only: N > A. Erlang A is always stable.
  int agents = 0;
  double offered_erlangs = 0;     // A = calls × AHT / interval
  double p_wait = 0;
  double service_level = 1;
  std::optional<double> asa_s;    // nullopt when unbounded (unstable Erlang C)
  double occupancy = 0;           // in [0, 1]
  double abandon_rate = 0;        // 0 under Erlang C
};

// A = calls × AHT / interval, in Erlangs. 0 when any input is not positive.
double OfferedLoad(const Workload& w);

// Erlang B blocking probability for `agents` servers and `erlangs` offered load (the stable recurrence).
double ErlangB(int agents, double erlangs);

// Erlang C metrics for `agents` on the phones. `threshold_s` is the service-level threshold.
Metrics ErlangC(int agents, double erlangs, double aht_s, double threshold_s);

// Erlang A metrics (M/M/N+M). `patience_s` must be positive; `calls` over `interval_s` gives the arrival rate.
Metrics ErlangA(int agents, const Workload& w, double threshold_s);

// Erlang A when the workload has a patience, Erlang C otherwise.
Model ModelFor(const Workload& w);
// The metrics of ModelFor(w).
Metrics Evaluate(const Workload& w, int agents, double threshold_s);

// True when `m` satisfies the targets `m` can judge: service level at `t.threshold_s`, ASA, abandonment,
// occupancy (not `more_service_levels`: HoldsTarget checks those). An unstable Erlang C result meets nothing
// but an abandonment-only target (which it cannot judge, so it fails that too).
bool Meets(const Metrics& m, const Target& t);

// Whether `agents` hold every target that is set for `w`, all by the one model of ModelFor(w): Meets on
// Evaluate(w, agents, threshold) and each of `more_service_levels` at its own threshold. Under Erlang A a
// caller who hangs up counts as not answered, so the queue gets no credit for abandonment in service level.
bool HoldsTarget(const Workload& w, int agents, const Target& target);

// The fewest agents on the phones for which HoldsTarget(w, n, target). 0 when there are no calls. -1 if no
// count up to `max_agents` does (e.g. a max_abandon of 0.0001 with a 1-second patience).
int AgentsNeeded(const Workload& w, const Target& target, int max_agents = 100000);

// The same as AgentsNeeded (kept for callers that read as "agents to hold the target").
int AgentsToHold(const Workload& w, const Target& target, int max_agents = 100000);

// The most calls in the interval that `agents` can take while HoldsTarget. 0 when none can be.
double MaxCalls(const Workload& shape, int agents, const Target& target);

// Agents to schedule so that `on_phone` remain after `shrinkage` (breaks, training, absence): ⌈n / (1−s)⌉.
int ScheduledAgents(int on_phone, double shrinkage);
// Agents on the phones out of `scheduled` after `shrinkage`: ⌊n·(1−s)⌋.
int OnPhoneAgents(int scheduled, double shrinkage);

}  // namespace tact::capacity
