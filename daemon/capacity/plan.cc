#include "daemon/capacity/plan.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/capacity/plan_grid.h"
#include "daemon/core/strings.h"

namespace tact::capacity {
namespace {

using internal::DescribePlan;
using internal::Grid;
using internal::IndexOf;
using internal::MakeGrid;
using internal::MixedWorkload;

constexpr double kEps = 1e-9;
std::string Rfc3339(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kRelease: return "RELEASE";
    case Verdict::kPace: return "PACE";
    case Verdict::kReject: return "REJECT";
  }
  return "REJECT";
}

namespace {

// A schedule's campaign contacts per answering interval (after carry-over), raw per interval, and past the horizon.
struct Load {
  std::vector<double> answered;
  std::vector<double> raw;
  double unchecked = 0;
};

// The campaign's contacts over the grid.
class Contacts {
 public:
  Contacts(const Grid& g, const ResponseCurve& curve, const CampaignSpec& campaign, size_t first)
      : g_(g), curve_(curve), per_message_(campaign.deliverability * campaign.contact_rate), first_(first),
        acc_(g.n, 0) {}

  // Contacts per message sent in interval k, by answering interval (sparse, after carry-over). Returns whether
  // some of the batch's contacts would fall where no staffing can answer them.
  bool Kernel(size_t k, std::vector<std::pair<size_t, double>>& out) {
    out.clear();
    touched_.clear();
    bool unchecked = false;
    for (size_t d = 0; d < curve_.shares.size(); ++d) {
      if (curve_.shares[d] == 0) continue;
      if (k + d >= g_.n || g_.route[k + d].empty()) {
        unchecked = true;
        continue;
      }
      for (const auto& [j, w] : g_.route[k + d]) {
        if (acc_[j] == 0) touched_.push_back(j);
        acc_[j] += per_message_ * curve_.shares[d] * w;
      }
    }
    for (size_t j : touched_) {
      out.emplace_back(j, acc_[j]);
      acc_[j] = 0;
    }
    return unchecked;
  }

  // Loads a schedule (sends per interval).
  Load LoadOf(const std::vector<int64_t>& sends) const {
    Load l;
    l.answered.assign(g_.n, 0);
    l.raw.assign(g_.n, 0);
    for (size_t k = first_; k < g_.n; ++k) {
      if (sends[k] == 0) continue;
      const double m = static_cast<double>(sends[k]) * per_message_;
      for (size_t d = 0; d < curve_.shares.size(); ++d) {
        const double c = m * curve_.shares[d];
        if (k + d >= g_.n || g_.route[k + d].empty()) {
          l.unchecked += c;
          continue;
        }
        l.raw[k + d] += c;
        for (const auto& [j, w] : g_.route[k + d]) l.answered[j] += c * w;
      }
    }
    return l;
  }

  bool BreaksAt(const std::vector<double>& answered, size_t i) const {
    return answered[i] > g_.allowance[i] + 1e-6 * std::max(1.0, g_.allowance[i]);
  }
  // Intervals from the campaign's first where `answered` breaks the allowance.
  int CountBreaks(const std::vector<double>& answered) const {
    int n = 0;
    for (size_t i = first_; i < g_.n; ++i) n += BreaksAt(answered, i) ? 1 : 0;
    return n;
  }

 private:
  const Grid& g_;
  const ResponseCurve& curve_;
  const double per_message_;
  const size_t first_;
  std::vector<double> acc_;  // Kernel's scratch: zero between calls
  std::vector<size_t> touched_;
};

// The fastest schedule: everything at once, or as fast as the sending platform allows.
std::vector<int64_t> BlastSchedule(const CampaignSpec& campaign, size_t total, size_t first, size_t last_send) {
  std::vector<int64_t> blast(total, 0);
  int64_t left = campaign.audience;
  for (size_t k = first; k <= last_send && left > 0; ++k) {
    blast[k] = campaign.max_batch > 0 ? std::min(left, campaign.max_batch) : left;
    left -= blast[k];
  }
  return blast;
}

// The paced schedule, greedy earliest-first; `*sent` is what it sends in all. A batch smaller than the minimum
// is not sent (its headroom is left), unless it is all that is left of the audience.
std::vector<int64_t> PacedSchedule(const CampaignSpec& campaign, const Grid& g, Contacts& contacts, size_t first,
                                   size_t last_send, int64_t* sent) {
  std::vector<int64_t> paced(g.n, 0);
  std::vector<double> answered(g.n, 0);
  std::vector<std::pair<size_t, double>> k_pairs;
  const int64_t min_batch = EffectiveMinBatch(campaign);
  int64_t left = campaign.audience;
  for (size_t k = first; k <= last_send && left > 0; ++k) {
    // A paced batch must have its whole response inside the staffing horizon, or it could not be checked.
    if (contacts.Kernel(k, k_pairs)) continue;
    double most = static_cast<double>(campaign.max_batch > 0 ? std::min(left, campaign.max_batch) : left);
    for (const auto& [j, w] : k_pairs) {
      most = std::min(most, std::max(0.0, (g.allowance[j] - answered[j]) / w));
    }
    const int64_t batch = static_cast<int64_t>(std::floor(most + kEps));
    if (batch <= 0 || batch < std::min(min_batch, left)) continue;
    paced[k] = batch;
    left -= batch;
    *sent += batch;
    for (const auto& [j, w] : k_pairs) answered[j] += static_cast<double>(batch) * w;
  }
  return paced;
}

// One row of the plan: interval i under the chosen schedule.
IntervalRow MakeRow(const StaffingInterval& si, const Grid& g, const Contacts& contacts, const Load& load,
                    int64_t sends, size_t i) {
  IntervalRow row;
  row.start = si.start;
  row.agents_scheduled = si.agents;
  row.agents_on_phone = g.on_phone[i];
  row.baseline_calls = g.baseline[i];
  row.committed_calls = g.committed[i];
  row.campaign_calls = load.answered[i];
  row.sends = sends;
  row.capacity_calls = g.capacity[i];
  row.target_service_level = si.target.service_level;
  row.failing_before = g.failing_before[i];
  const Target& planning = g.planning_target[i];
  row.planning_service_level = planning.service_level;
  const Workload w = MixedWorkload(si, g, i, load.answered[i]);
  row.aht_s = w.aht_s;
  if (g.on_phone[i] > 0) {
    row.metrics = Evaluate(w, g.on_phone[i], si.target.threshold_s);
    row.meets_target = HoldsTarget(w, g.on_phone[i], si.target);
    row.meets_planning_target = row.meets_target && HoldsTarget(w, g.on_phone[i], planning);
    row.breaks = contacts.BreaksAt(load.answered, i);
  } else {
    // Closed: its calls are carried forward. The model is still the interval's, for the record.
    row.metrics = Evaluate({.interval_s = kIntervalSeconds, .aht_s = si.aht_s, .patience_s = si.patience_s}, 0,
                           si.target.threshold_s);
  }
  if (!row.meets_planning_target) {
    row.agents_needed = AgentsNeeded(w, planning);
    row.extra_agents_scheduled = std::max(0, ScheduledAgents(row.agents_needed, si.shrinkage) - si.agents);
  }
  return row;
}

// The schedule to send, its committed load and its rows. Returns the first failing interval and the worst
// service level among the failing ones (for the reason).
std::pair<absl::Time, double> FillPlan(const Staffing& staffing, const Grid& g, const Contacts& contacts,
                                       const std::vector<int64_t>& chosen, const Load& load, absl::Time start,
                                       size_t first, CampaignPlan& plan) {
  plan.unchecked_contacts = load.unchecked;
  for (size_t k = first; k < g.n; ++k) {
    if (chosen[k] == 0) continue;
    // Never before the requested start: a batch in the start's interval goes at the start.
    plan.schedule.push_back({std::max(staffing.intervals[k].start, start), chosen[k]});
  }
  if (!plan.schedule.empty()) {
    plan.first_send = plan.schedule.front().start;
    plan.last_send = plan.schedule.back().start;
  }
  plan.load.start = staffing.intervals[first].start;
  plan.load.calls.assign(load.raw.begin() + static_cast<std::ptrdiff_t>(first), load.raw.end());
  absl::Time first_fail = absl::InfinitePast();
  double worst_sl = 1;
  for (size_t i = first; i < g.n; ++i) {
    const IntervalRow row = MakeRow(staffing.intervals[i], g, contacts, load, chosen[i], i);
    plan.predicted_contacts += load.answered[i];
    plan.intervals_failing_before += row.failing_before ? 1 : 0;
    if (row.breaks) {
      plan.failing.push_back(plan.rows.size());
      plan.extra_agents_scheduled = std::max(plan.extra_agents_scheduled, row.extra_agents_scheduled);
      if (first_fail == absl::InfinitePast()) first_fail = row.start;
      worst_sl = std::min(worst_sl, row.metrics.service_level);
    }
    plan.rows.push_back(row);
  }
  return {first_fail, worst_sl};
}

// Why the verdict. `failing_blast`: intervals sending at once would break (PACE); `first_fail`, `worst_sl`: of
// the chosen schedule (REJECT).
std::string PlanReason(const CampaignPlan& plan, const CampaignSpec& campaign, absl::Time horizon_end,
                       int failing_blast, absl::Time first_fail, double worst_sl) {
  const std::string before =
      plan.intervals_failing_before > 0
          ? absl::StrCat("; ", plan.intervals_failing_before,
                         " interval(s) already miss the target (with the planning margin) without this campaign "
                         "(it may add at most ",
                         kToleranceCalls, " call to each)")
          : "";
  switch (plan.verdict) {
    case Verdict::kRelease:
      return absl::StrCat("every interval holds its target with the whole audience sent from ",
                          Rfc3339(plan.first_send), before);
    case Verdict::kPace:
      return absl::StrCat("sending at once would break the target in ", failing_blast, " interval(s); paced in ",
                          plan.schedule.size(), " batch(es), last batch at ", Rfc3339(plan.last_send), before);
    case Verdict::kReject:
      break;
  }
  if (plan.failing.empty()) {
    return absl::StrFormat("at most %d messages per interval cannot send %d messages before %s%s",
                           campaign.max_batch, campaign.audience, Rfc3339(campaign.send_by), before);
  }
  return absl::StrFormat(
      "the target cannot be held: at most %d of %d messages can be paced before %s; sending them at once "
      "breaks %d interval(s) from %s (worst service level %.1f%%); %d more scheduled agent(s) at the worst "
      "interval would let it go at once%s",
      plan.sendable, campaign.audience,
      campaign.send_by == absl::InfiniteFuture() ? Rfc3339(horizon_end) : Rfc3339(campaign.send_by),
      plan.failing.size(), Rfc3339(first_fail), 100 * worst_sl, plan.extra_agents_scheduled, before);
}

}  // namespace

absl::StatusOr<CampaignPlan> PlanCampaign(const Staffing& staffing, std::span<const CommittedLoad> committed,
                                          const CampaignSpec& campaign) {
  if (absl::Status s = ValidateStaffing(staffing); !s.ok()) return s;
  const ResponseCurve curve = campaign.curve.shares.empty() ? DefaultResponseCurve(campaign.channel) : campaign.curve;
  if (absl::Status s = ValidateCurve(curve); !s.ok()) return s;
  if (absl::Status s = ValidateCampaign(staffing, campaign); !s.ok()) return s;

  const size_t total = staffing.intervals.size();
  const size_t first = static_cast<size_t>(IndexOf(staffing, campaign.start));
  const size_t last_send = static_cast<size_t>(
      std::min<int64_t>(static_cast<int64_t>(total) - 1, IndexOf(staffing, campaign.send_by - absl::Nanoseconds(1))));
  const Grid g = MakeGrid(staffing, committed, campaign, first);
  Contacts contacts(g, curve, campaign, first);

  const std::vector<int64_t> blast = BlastSchedule(campaign, total, first, last_send);
  const Load blast_load = contacts.LoadOf(blast);
  int64_t blast_sent = 0;
  for (int64_t s : blast) blast_sent += s;
  bool blast_ok = blast_sent == campaign.audience;
  for (size_t i = first; i < total && blast_ok; ++i) {
    blast_ok = !contacts.BreaksAt(blast_load.answered, i);
  }
  int64_t paced_sent = 0;
  const std::vector<int64_t> paced =
      blast_ok ? std::vector<int64_t>(total, 0) : PacedSchedule(campaign, g, contacts, first, last_send, &paced_sent);

  CampaignPlan plan;
  plan.campaign_id = campaign.id;
  plan.audience = campaign.audience;
  const bool paced_ok = !blast_ok && paced_sent == campaign.audience;
  plan.verdict = blast_ok ? Verdict::kRelease : paced_ok ? Verdict::kPace : Verdict::kReject;
  plan.sendable = blast_ok ? campaign.audience : paced_sent;
  const bool pace = plan.verdict == Verdict::kPace;
  const auto [first_fail, worst_sl] =
      FillPlan(staffing, g, contacts, pace ? paced : blast, pace ? contacts.LoadOf(paced) : blast_load,
               campaign.start, first, plan);
  const int failing_blast = pace ? contacts.CountBreaks(blast_load.answered) : 0;
  plan.reason = PlanReason(plan, campaign, staffing.intervals.back().start + kIntervalLength, failing_blast,
                           first_fail, worst_sl);
  DescribePlan(staffing, campaign, first, plan);
  return plan;
}

}  // namespace tact::capacity
