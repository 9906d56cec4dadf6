#include "daemon/capacity/plan_grid.h"

#include <algorithm>

namespace tact::capacity::internal {
namespace {

// Contacts predicted while the centre is closed are answered over its first hour open (four intervals).
constexpr size_t kCarryIntervals = 4;

Workload WorkloadOf(const StaffingInterval& si, double calls) {
  return {.calls = calls, .interval_s = kIntervalSeconds, .aht_s = si.aht_s, .patience_s = si.patience_s};
}

// Where contacts offered in each interval are answered (Grid::route).
std::vector<std::vector<std::pair<size_t, double>>> Routes(const std::vector<int>& on_phone) {
  const size_t total = on_phone.size();
  std::vector<std::vector<std::pair<size_t, double>>> route(total);
  for (size_t i = 0; i < total; ++i) {
    for (size_t j = i; j < total && route[i].size() < (on_phone[i] > 0 ? 1 : kCarryIntervals); ++j) {
      if (on_phone[j] > 0) route[i].emplace_back(j, 1.0);
    }
    for (auto& [j, w] : route[i]) w = 1.0 / static_cast<double>(route[i].size());
  }
  return route;
}

// MaxCalls per distinct interval shape: a week of identical intervals computes it once.
class CapacityCache {
 public:
  double Get(const StaffingInterval& si, int on_phone, const Target& target) {
    for (const Entry& e : entries_) {
      if (e.on_phone == on_phone && e.aht_s == si.aht_s && e.patience_s == si.patience_s && e.target == target) {
        return e.capacity;
      }
    }
    const double capacity = MaxCalls(WorkloadOf(si, 0), on_phone, target);
    if (entries_.size() < kMaxEntries) entries_.push_back({on_phone, si.aht_s, si.patience_s, target, capacity});
    return capacity;
  }

 private:
  static constexpr size_t kMaxEntries = 256;
  struct Entry {
    int on_phone;
    double aht_s, patience_s;
    Target target;
    double capacity;
  };
  std::vector<Entry> entries_;
};

// The most campaign contacts interval i takes while holding `target` (mixed handle times), to a thousandth.
double MaxCampaignCalls(const StaffingInterval& si, const Grid& g, size_t i, const Target& target) {
  auto holds = [&](double x) { return HoldsTarget(MixedWorkload(si, g, i, x), g.on_phone[i], target); };
  const double aht = g.campaign_aht > 0 ? g.campaign_aht : si.aht_s;
  double lo = 0;
  double hi = std::max(1.0, g.on_phone[i] * kIntervalSeconds / aht);
  while (holds(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > 1e9) return lo;
  }
  while (hi - lo > 1e-3) {
    const double mid = 0.5 * (lo + hi);
    (holds(mid) ? lo : hi) = mid;
  }
  return lo;
}

// Baseline and committed contacts, and their work, after carry-over.
void Background(const Staffing& staffing, std::span<const CommittedLoad> committed, Grid& g) {
  const size_t total = g.n;
  g.baseline.assign(total, 0);
  g.committed.assign(total, 0);
  g.background_work.assign(total, 0);
  g.uniform_aht.assign(total, true);
  for (size_t i = 0; i < total; ++i) {
    for (const auto& [j, w] : g.route[i]) g.baseline[j] += w * staffing.intervals[i].baseline_calls;
  }
  for (const CommittedLoad& c : committed) {
    const int64_t offset = IndexOf(staffing, c.start);
    for (size_t k = 0; k < c.calls.size(); ++k) {
      const int64_t i = offset + static_cast<int64_t>(k);
      if (i < 0 || i >= static_cast<int64_t>(total)) continue;
      for (const auto& [j, w] : g.route[i]) {
        const double aht_j = staffing.intervals[j].aht_s;
        g.committed[j] += w * c.calls[k];
        g.background_work[j] += w * c.calls[k] * (c.aht_s > 0 ? c.aht_s : aht_j);
        if (c.aht_s > 0 && c.aht_s != aht_j && c.calls[k] > 0) g.uniform_aht[j] = false;
      }
    }
  }
  g.background.resize(total);
  for (size_t i = 0; i < total; ++i) {
    g.background[i] = g.baseline[i] + g.committed[i];
    g.background_work[i] += g.baseline[i] * staffing.intervals[i].aht_s;
    if (g.campaign_aht > 0 && g.campaign_aht != staffing.intervals[i].aht_s) g.uniform_aht[i] = false;
  }
}

}  // namespace

int64_t IndexOf(const Staffing& s, absl::Time t) {
  absl::Duration rem;
  int64_t q = absl::IDivDuration(t - s.intervals.front().start, kIntervalLength, &rem);
  if (rem < absl::ZeroDuration()) --q;
  return q;
}

Workload MixedWorkload(const StaffingInterval& si, const Grid& g, size_t i, double campaign_calls) {
  Workload w = WorkloadOf(si, g.background[i] + campaign_calls);
  if (!g.uniform_aht[i] && w.calls > 0) {
    const double aht = g.campaign_aht > 0 ? g.campaign_aht : si.aht_s;
    w.aht_s = (g.background_work[i] + campaign_calls * aht) / w.calls;
  }
  return w;
}

Grid MakeGrid(const Staffing& staffing, std::span<const CommittedLoad> committed, const CampaignSpec& campaign,
              size_t first) {
  const size_t total = staffing.intervals.size();
  Grid g;
  g.n = total;
  g.campaign_aht = campaign.contact_aht_s;
  g.on_phone.resize(total);
  for (size_t i = 0; i < total; ++i) {
    g.on_phone[i] = OnPhoneAgents(staffing.intervals[i].agents, staffing.intervals[i].shrinkage);
  }
  g.route = Routes(g.on_phone);
  Background(staffing, committed, g);
  g.capacity.assign(total, 0);
  g.allowance.assign(total, 0);
  g.failing_before.assign(total, false);
  g.planning_target.resize(total);
  CapacityCache cache;
  for (size_t i = first; i < total; ++i) {
    const StaffingInterval& si = staffing.intervals[i];
    g.planning_target[i] = PlanningTarget(si.target, campaign.target_margin);
    if (g.on_phone[i] == 0) continue;  // closed (receives nothing)
    const Target& target = g.planning_target[i];
    g.capacity[i] = cache.Get(si, g.on_phone[i], target);
    g.failing_before[i] = !HoldsTarget(MixedWorkload(si, g, i, 0), g.on_phone[i], target);
    if (g.failing_before[i]) {
      g.allowance[i] = kToleranceCalls;
    } else if (g.uniform_aht[i]) {
      g.allowance[i] = std::max(0.0, g.capacity[i] - g.background[i]);
    } else {
      g.allowance[i] = MaxCampaignCalls(si, g, i, target);
    }
  }
  // A start inside its interval: the campaign's contacts arrive in what is left of it.
  const absl::Duration left = staffing.intervals[first].start + kIntervalLength - campaign.start;
  g.allowance[first] *= std::clamp(absl::FDivDuration(left, kIntervalLength), 0.0, 1.0);
  return g;
}

}  // namespace tact::capacity::internal
