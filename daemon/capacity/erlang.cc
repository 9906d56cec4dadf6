#include "daemon/capacity/erlang.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace tact::capacity {
namespace {

// The tail series stops when its terms are below e^-40 (≈4e-18) of the largest and shrinking.
constexpr double kTailLogCutoff = 40.0;
// Bound on the tail series length (patience and arrival rates are validated at the edges so that this is
// never reached in practice: it needs ~λ·patience queued callers).
constexpr int kMaxTailTerms = 5'000'000;
// Uniformization runs in chunks whose Poisson mean is at most this (e^-64 is far from underflow).
constexpr double kMaxPoissonMean = 64.0;

double Clamp01(double x) { return std::clamp(x, 0.0, 1.0); }

}  // namespace

double OfferedLoad(const Workload& w) {
  if (!(w.calls > 0) || !(w.aht_s > 0) || !(w.interval_s > 0)) {
    return 0;
  }
  return w.calls * w.aht_s / w.interval_s;
}

double ErlangB(int agents, double erlangs) {
  if (!(erlangs > 0)) {
    return agents <= 0 ? 1.0 : 0.0;
  }
  double b = 1.0;
  for (int n = 1; n <= agents; ++n) {
    b = erlangs * b / (n + erlangs * b);
  }
  return b;
}

Metrics ErlangC(int agents, double erlangs, double aht_s, double threshold_s) {
  Metrics m;
  m.model = Model::kErlangC;
  m.agents = agents;
  m.offered_erlangs = erlangs > 0 ? erlangs : 0;
  if (m.offered_erlangs == 0) {
    m.asa_s = 0;
    return m;  // no calls: nobody waits
  }
  const double a = m.offered_erlangs;
  if (agents <= a) {
    m.stable = false;
    m.p_wait = 1;
    m.service_level = 0;
    m.asa_s = std::nullopt;
    m.occupancy = 1;
    return m;
  }
  const double b = ErlangB(agents, a);
  const double n = agents;
  m.p_wait = Clamp01(n * b / (n - a * (1 - b)));
  m.service_level = Clamp01(1 - m.p_wait * std::exp(-(n - a) * std::max(threshold_s, 0.0) / aht_s));
  m.asa_s = std::max(0.0, m.p_wait * aht_s / (n - a));
  m.occupancy = Clamp01(a / n);
  return m;
}

namespace {

// Stationary weights of the states N+j, j ≥ 0, relative to state N: Π_{i=1..j} λ/(Nμ+iθ), as logarithms, up to
// where they stop mattering. `*log_max` is the largest.
std::vector<double> QueueLogTerms(double lambda, double n_mu, double theta, double* log_max) {
  std::vector<double> log_terms{0.0};
  *log_max = 0.0;
  for (int j = 1; j < kMaxTailTerms; ++j) {
    const double rate = n_mu + j * theta;
    const double next = log_terms.back() + std::log(lambda / rate);
    log_terms.push_back(next);
    *log_max = std::max(*log_max, next);
    if (rate > lambda && next < *log_max - kTailLogCutoff) {
      break;
    }
  }
  return log_terms;
}

// One uniformized chunk of length `mean` (in steps): moves `state` (mass still waiting, by position) on and
// returns the mass answered during the chunk.
double AnswerChunk(double n_mu, double theta, double uniform, double mean, std::vector<double>& state) {
  const size_t size = state.size();
  std::vector<double> cur = state;
  std::vector<double> next(size), acc(size);
  double cur_answered = 0;  // mass answered during this chunk after k steps
  double weight = std::exp(-mean);
  double cumulative = weight;
  for (size_t r = 0; r < size; ++r) {
    acc[r] = weight * cur[r];
  }
  double acc_answered = 0;
  const int max_steps = static_cast<int>(mean + 12 * std::sqrt(mean) + 30);
  for (int k = 1; k <= max_steps && cumulative < 1 - 1e-15; ++k) {
    cur_answered += cur[0] * n_mu / uniform;
    for (size_t r = 0; r < size; ++r) {
      const double out = n_mu + static_cast<double>(r) * theta + theta;
      const double stay = cur[r] * (1 - out / uniform);
      const double from_behind =
          r + 1 < size ? cur[r + 1] * (n_mu + static_cast<double>(r + 1) * theta) / uniform : 0.0;
      next[r] = stay + from_behind;
    }
    cur.swap(next);
    weight *= mean / k;
    cumulative += weight;
    for (size_t r = 0; r < size; ++r) {
      acc[r] += weight * cur[r];
    }
    acc_answered += weight * cur_answered;
  }
  // Mass left in the truncated Poisson tail is < 1e-15; renormalise so it is not silently dropped.
  for (size_t r = 0; r < size; ++r) {
    state[r] = acc[r] / cumulative;
  }
  return acc_answered / cumulative;
}

// P(a caller who waits is answered within t): uniformization of the tagged caller's position r (callers ahead).
// From r it moves to r−1 (r=0: answered) at rate Nμ+rθ and abandons at rate θ. Start: arrival finds N+r in the
// system, with probability pi[r].
double AnsweredWithin(const std::vector<double>& pi, double n_mu, double theta, double t) {
  double answered = 0;
  if (t > 0 && n_mu > 0) {
    const size_t size = pi.size();
    const double uniform = n_mu + static_cast<double>(size - 1) * theta + theta;
    const int chunks = std::max(1, static_cast<int>(std::ceil(uniform * t / kMaxPoissonMean)));
    const double mean = uniform * t / chunks;
    std::vector<double> state = pi;  // mass still waiting, by position
    for (int c = 0; c < chunks; ++c) {
      answered += AnswerChunk(n_mu, theta, uniform, mean, state);
    }
  }
  return answered;
}

}  // namespace

Metrics ErlangA(int agents, const Workload& w, double threshold_s) {
  Metrics m;
  m.model = Model::kErlangA;
  m.agents = agents;
  m.offered_erlangs = OfferedLoad(w);
  m.asa_s = 0;
  if (m.offered_erlangs == 0) {
    return m;
  }
  const double lambda = w.calls / w.interval_s;
  const double mu = 1.0 / w.aht_s;
  const double theta = 1.0 / w.patience_s;
  const double n_mu = agents * mu;
  const double b = ErlangB(agents, m.offered_erlangs);
  if (b == 0) {
    return m;  // B underflowed: P(wait) < 1e-300, indistinguishable from no waiting
  }
  // Stationary weights relative to state N: the states below N sum to 1/B − 1; the states N+j from QueueLogTerms.
  const double lower = 1.0 / b - 1.0;
  double log_max = 0.0;
  const std::vector<double> log_terms = QueueLogTerms(lambda, n_mu, theta, &log_max);
  // Normalise relative to the largest term so nothing overflows.
  std::vector<double> pi(log_terms.size());
  double tail = 0;
  for (size_t j = 0; j < log_terms.size(); ++j) {
    pi[j] = std::exp(log_terms[j] - log_max);
    tail += pi[j];
  }
  const double below = lower * std::exp(-log_max);
  const double norm = below + tail;
  double mean_queue = 0;
  for (size_t j = 0; j < pi.size(); ++j) {
    pi[j] /= norm;
    mean_queue += static_cast<double>(j) * pi[j];
  }
  const double p_no_wait = below / norm;
  m.p_wait = Clamp01(tail / norm);
  m.abandon_rate = Clamp01(theta * mean_queue / lambda);
  m.asa_s = std::max(0.0, mean_queue / lambda);
  m.occupancy = agents > 0 ? Clamp01(m.offered_erlangs * (1 - m.abandon_rate) / agents) : 0;
  m.service_level = Clamp01(p_no_wait + AnsweredWithin(pi, n_mu, theta, std::max(threshold_s, 0.0)));
  return m;
}

std::string_view ModelName(Model model) { return model == Model::kErlangA ? "erlang_a" : "erlang_c"; }

Model ModelFor(const Workload& w) { return w.patience_s > 0 ? Model::kErlangA : Model::kErlangC; }

Metrics Evaluate(const Workload& w, int agents, double threshold_s) {
  if (ModelFor(w) == Model::kErlangA) {
    return ErlangA(agents, w, threshold_s);
  }
  return ErlangC(agents, OfferedLoad(w), w.aht_s, threshold_s);
}

bool Meets(const Metrics& m, const Target& t) {
  if (m.model == Model::kErlangC && !m.stable) {
    return false;
  }
  if (t.service_level > 0 && m.service_level < t.service_level) {
    return false;
  }
  if (t.max_asa_s > 0 && (!m.asa_s.has_value() || *m.asa_s > t.max_asa_s)) {
    return false;
  }
  if (t.max_occupancy > 0 && m.occupancy > t.max_occupancy) {
    return false;
  }
  if (t.max_abandon > 0 && (m.model != Model::kErlangA || m.abandon_rate > t.max_abandon)) {
    return m.model == Model::kErlangC && m.offered_erlangs == 0;
  }
  return true;
}

bool HoldsTarget(const Workload& w, int agents, const Target& target) {
  if (OfferedLoad(w) == 0) {
    return true;
  }
  if (!Meets(Evaluate(w, agents, target.threshold_s), target)) {
    return false;
  }
  for (const ServiceLevelPoint& p : target.more_service_levels) {
    if (p.service_level > 0 && Evaluate(w, agents, p.threshold_s).service_level < p.service_level) {
      return false;
    }
  }
  return true;
}

namespace {

// The smallest n in [0, max_agents] with ok(n), for a predicate monotone in n; -1 if none.
template <typename Pred>
int SmallestAgents(double erlangs, int max_agents, Pred ok) {
  int hi = std::max(1, static_cast<int>(std::ceil(erlangs)));
  int lo = 0;  // ok(0) is false whenever there is load
  while (!ok(hi)) {
    lo = hi;
    if (hi >= max_agents) {
      return -1;
    }
    hi = std::min(max_agents, hi * 2);
  }
  while (hi - lo > 1) {
    const int mid = lo + (hi - lo) / 2;
    (ok(mid) ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace

int AgentsNeeded(const Workload& w, const Target& target, int max_agents) {
  const double a = OfferedLoad(w);
  if (a == 0) {
    return 0;
  }
  return SmallestAgents(a, max_agents, [&](int n) { return HoldsTarget(w, n, target); });
}

int AgentsToHold(const Workload& w, const Target& target, int max_agents) {
  return AgentsNeeded(w, target, max_agents);
}

double MaxCalls(const Workload& shape, int agents, const Target& target) {
  if (agents <= 0 || !(shape.aht_s > 0) || !(shape.interval_s > 0)) {
    return 0;
  }
  Workload w = shape;
  auto holds = [&](double calls) {
    w.calls = calls;
    return HoldsTarget(w, agents, target);
  };
  // Erlang C targets never hold at A ≥ N; Erlang A ones (an abandonment-only target) may hold beyond it.
  double hi = agents * shape.interval_s / shape.aht_s;
  double lo = 0;
  while (holds(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > 1e9) {
      return lo;
    }
  }
  // Bisect to a thousandth of a call.
  while (hi - lo > 1e-3) {
    const double mid = 0.5 * (lo + hi);
    (holds(mid) ? lo : hi) = mid;
  }
  return lo;
}

int ScheduledAgents(int on_phone, double shrinkage) {
  if (on_phone <= 0) {
    return 0;
  }
  const double s = std::clamp(shrinkage, 0.0, 0.99);
  // Guard against 10 / 0.8 = 12.000000000000002 rounding up to 13.
  return static_cast<int>(std::ceil(on_phone / (1 - s) - 1e-9));
}

int OnPhoneAgents(int scheduled, double shrinkage) {
  if (scheduled <= 0) {
    return 0;
  }
  const double s = std::clamp(shrinkage, 0.0, 0.99);
  return static_cast<int>(std::floor(scheduled * (1 - s) + 1e-9));
}

}  // namespace tact::capacity
