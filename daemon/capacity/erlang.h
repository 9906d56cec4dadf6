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

namespace tact::capacity {

enum class Model { kErlangC, kErlangA };

// One interval's demand. `patience_s` = 0 means patience is not modelled (Erlang C).
struct Workload {
  double calls = 0;          // offered contacts in the interval
  double interval_s = 900;   // interval length
  double aht_s = 0;          // average handle time
  double patience_s = 0;     // mean customer patience; 0 = not modelled
};

// What an interval must achieve. A zero field is "no such target".
struct Target {
  double service_level = 0.8;  // fraction answered within `threshold_s`
  double threshold_s = 20;
  double max_asa_s = 0;        // average speed of answer
  double max_abandon = 0;      // fraction of offered calls abandoning (needs patience: Erlang A)
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
Metrics Evaluate(const Workload& w, int agents, double threshold_s);

// True when `m` satisfies every target that is set. An unstable Erlang C result meets nothing but an
// abandonment-only target (which it cannot judge, so it fails that too).
bool Meets(const Metrics& m, const Target& t);

// Whether `agents` hold `target` for `w` in the planner's sense: service level and ASA by Erlang C (stable and
// meeting them), and — when the workload has a patience and the target a max_abandon — abandonment by Erlang A.
// Erlang C for SL/ASA is cheap and, because it ignores abandonment, does not credit the queue for callers
// who hang up.
bool HoldsTarget(const Workload& w, int agents, const Target& target);

// The fewest agents on the phones for which Evaluate(w, n, threshold) meets `target` (Erlang A when the
// workload has a patience, Erlang C otherwise). 0 when there are no calls. -1 if no count up to
// `max_agents` does (e.g. a max_abandon of 0.0001 with a 1-second patience).
int AgentsNeeded(const Workload& w, const Target& target, int max_agents = 100000);

// The fewest agents for which HoldsTarget(w, n, target) is true; 0 with no calls; -1 past `max_agents`.
int AgentsToHold(const Workload& w, const Target& target, int max_agents = 100000);

// The most calls in the interval that `agents` can take while HoldsTarget. 0 when none can be.
double MaxCalls(const Workload& shape, int agents, const Target& target);

// Agents to schedule so that `on_phone` remain after `shrinkage` (breaks, training, absence): ⌈n / (1−s)⌉.
int ScheduledAgents(int on_phone, double shrinkage);
// Agents on the phones out of `scheduled` after `shrinkage`: ⌊n·(1−s)⌋.
int OnPhoneAgents(int scheduled, double shrinkage);

}  // namespace tact::capacity
