#include "daemon/capacity/plan.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/core/strings.h"

namespace tact::capacity {
namespace {

constexpr double kEps = 1e-9;
// Contacts predicted while the centre is closed are answered over its first hour open (four intervals).
constexpr size_t kCarryIntervals = 4;

std::string IndexName(size_t i) { return absl::StrCat("intervals[", i, "]"); }

std::string Rfc3339(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

// Index of the interval containing t (may be negative or past the end).
int64_t IndexOf(const Staffing& s, absl::Time t) {
  absl::Duration rem;
  int64_t q = absl::IDivDuration(t - s.intervals.front().start, kIntervalLength, &rem);
  if (rem < absl::ZeroDuration()) --q;
  return q;
}

Workload WorkloadOf(const StaffingInterval& si, double calls) {
  return {.calls = calls, .interval_s = kIntervalSeconds, .aht_s = si.aht_s, .patience_s = si.patience_s};
}

// Metrics shown for a row: Erlang C while stable (abandonment from Erlang A when patience is known); Erlang A
// when Erlang C is unstable and patience is known, so an overloaded interval shows who hangs up, not "0%".
Metrics RowMetrics(const StaffingInterval& si, int on_phone, double calls) {
  const Workload w = WorkloadOf(si, calls);
  Metrics m = ErlangC(on_phone, OfferedLoad(w), si.aht_s, si.target.threshold_s);
  if (si.patience_s > 0 && OfferedLoad(w) > 0) {
    if (!m.stable) {
      return ErlangA(on_phone, w, si.target.threshold_s);
    }
    m.abandon_rate = ErlangA(on_phone, w, 0).abandon_rate;
  }
  return m;
}

// Everything the schedule search needs, computed once per plan.
struct Grid {
  size_t n = 0;
  std::vector<int> on_phone;
  // Where contacts offered in interval i are answered, with shares: {(i, 1)} when open; the next
  // kCarryIntervals open intervals when closed; empty past the last open interval (unchecked).
  std::vector<std::vector<std::pair<size_t, double>>> route;
  std::vector<double> background;  // baseline + committed, after carry-over
  std::vector<double> baseline;    // after carry-over
  std::vector<double> committed;   // after carry-over
  std::vector<double> capacity;
  std::vector<double> allowance;   // what this campaign may add
  std::vector<bool> failing_before;
};

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kRelease: return "RELEASE";
    case Verdict::kPace: return "PACE";
    case Verdict::kReject: return "REJECT";
  }
  return "REJECT";
}

absl::Status ValidateStaffing(const Staffing& staffing,
                              const std::function<std::string(size_t, std::string_view)>& where) {
  auto name = [&](size_t i, std::string_view field) {
    return where ? where(i, field) : absl::StrCat(IndexName(i), ".", AsAbsl(field));
  };
  if (staffing.intervals.empty()) {
    return absl::InvalidArgumentError("intervals: at least one interval required");
  }
  if (staffing.intervals.size() > kMaxIntervals) {
    return absl::InvalidArgumentError(absl::StrCat("intervals: at most ", kMaxIntervals, " (31 days)"));
  }
  for (size_t i = 0; i < staffing.intervals.size(); ++i) {
    const StaffingInterval& si = staffing.intervals[i];
    auto bad = [&](std::string_view field, std::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(name(i, field), ": ", AsAbsl(what)));
    };
    if (i == 0) {
      if (absl::ToUnixSeconds(si.start) % 900 != 0 || si.start != absl::FromUnixSeconds(absl::ToUnixSeconds(si.start))) {
        return bad("start", "must be on a quarter hour (:00, :15, :30, :45)");
      }
    } else if (si.start != staffing.intervals[i - 1].start + kIntervalLength) {
      return bad("start", absl::StrCat("must be 15 minutes after the previous interval (",
                                       Rfc3339(staffing.intervals[i - 1].start + kIntervalLength), ")"));
    }
    if (si.agents < 0 || si.agents > 100000) return bad("agents", "must be in [0, 100000]");
    if (!(si.shrinkage >= 0 && si.shrinkage <= 0.95)) return bad("shrinkage", "must be in [0, 0.95]");
    if (!(si.aht_s > 0 && si.aht_s <= 86400)) return bad("aht_s", "must be in (0, 86400]");
    if (!(si.baseline_calls >= 0 && si.baseline_calls <= 1e7)) return bad("baseline_calls", "must be in [0, 1e7]");
    if (!(si.target.service_level >= 0 && si.target.service_level < 1)) {
      return bad("target_sl", "must be in [0, 1)");
    }
    if (!(si.target.threshold_s >= 0 && si.target.threshold_s <= 3600)) {
      return bad("threshold_s", "must be in [0, 3600]");
    }
    if (!(si.target.max_asa_s >= 0 && si.target.max_asa_s <= 86400)) return bad("max_asa_s", "must be in [0, 86400]");
    if (!(si.target.max_abandon >= 0 && si.target.max_abandon < 1)) return bad("max_abandon", "must be in [0, 1)");
    if (!(si.patience_s >= 0 && si.patience_s <= 86400)) return bad("patience_s", "must be in [0, 86400]");
    if (si.target.max_abandon > 0 && si.patience_s == 0) {
      return bad("max_abandon", "needs patience_s (abandonment is modelled with Erlang A)");
    }
  }
  return absl::OkStatus();
}

namespace {

absl::Status ValidateCampaignFigures(const CampaignSpec& campaign) {
  if (campaign.audience < 0 || campaign.audience > 1'000'000'000) {
    return absl::InvalidArgumentError("audience: must be in [0, 1e9]");
  }
  if (!(campaign.deliverability >= 0 && campaign.deliverability <= 1)) {
    return absl::InvalidArgumentError("deliverability: must be in [0, 1]");
  }
  if (!(campaign.contact_rate >= 0 && campaign.contact_rate <= 1)) {
    return absl::InvalidArgumentError("contact_rate: must be in [0, 1]");
  }
  if (campaign.max_batch < 0) {
    return absl::InvalidArgumentError("max_batch: must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status ValidateCampaignWindow(const Staffing& staffing, const CampaignSpec& campaign) {
  const absl::Time horizon_start = staffing.intervals.front().start;
  const absl::Time horizon_end = staffing.intervals.back().start + kIntervalLength;
  if (campaign.start < horizon_start || campaign.start >= horizon_end) {
    return absl::InvalidArgumentError(absl::StrCat("start: ", Rfc3339(campaign.start),
                                                   " is outside the staffing horizon [", Rfc3339(horizon_start),
                                                   ", ", Rfc3339(horizon_end), ")"));
  }
  if (campaign.send_by <= campaign.start) {
    return absl::InvalidArgumentError("send_by: must be after start");
  }
  return absl::OkStatus();
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

// The grid: agents, carry-over, background load, capacity and allowance from the campaign's first interval.
Grid MakeGrid(const Staffing& staffing, std::span<const CommittedLoad> committed, size_t first) {
  const size_t total = staffing.intervals.size();
  Grid g;
  g.n = total;
  g.on_phone.resize(total);
  for (size_t i = 0; i < total; ++i) {
    g.on_phone[i] = OnPhoneAgents(staffing.intervals[i].agents, staffing.intervals[i].shrinkage);
  }
  g.route = Routes(g.on_phone);
  g.baseline.assign(total, 0);
  g.committed.assign(total, 0);
  for (size_t i = 0; i < total; ++i) {
    for (const auto& [j, w] : g.route[i]) g.baseline[j] += w * staffing.intervals[i].baseline_calls;
  }
  for (const CommittedLoad& c : committed) {
    const int64_t offset = IndexOf(staffing, c.start);
    for (size_t k = 0; k < c.calls.size(); ++k) {
      const int64_t i = offset + static_cast<int64_t>(k);
      if (i < 0 || i >= static_cast<int64_t>(total)) continue;
      for (const auto& [j, w] : g.route[i]) g.committed[j] += w * c.calls[k];
    }
  }
  g.background.resize(total);
  g.capacity.assign(total, 0);
  g.allowance.assign(total, 0);
  g.failing_before.assign(total, false);
  for (size_t i = 0; i < total; ++i) {
    g.background[i] = g.baseline[i] + g.committed[i];
    if (i < first || g.on_phone[i] == 0) continue;  // before the campaign, or closed (receives nothing)
    const StaffingInterval& si = staffing.intervals[i];
    g.capacity[i] = MaxCalls(WorkloadOf(si, 0), g.on_phone[i], si.target);
    g.failing_before[i] = !HoldsTarget(WorkloadOf(si, g.background[i]), g.on_phone[i], si.target);
    g.allowance[i] = g.failing_before[i] ? kToleranceCalls : std::max(0.0, g.capacity[i] - g.background[i]);
  }
  return g;
}

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

// The paced schedule, greedy earliest-first; `*sent` is what it sends in all.
std::vector<int64_t> PacedSchedule(const CampaignSpec& campaign, const Grid& g, Contacts& contacts, size_t first,
                                   size_t last_send, int64_t* sent) {
  std::vector<int64_t> paced(g.n, 0);
  std::vector<double> answered(g.n, 0);
  std::vector<std::pair<size_t, double>> k_pairs;
  int64_t left = campaign.audience;
  for (size_t k = first; k <= last_send && left > 0; ++k) {
    // A paced batch must have its whole response inside the staffing horizon, or it could not be checked.
    if (contacts.Kernel(k, k_pairs)) continue;
    double most = static_cast<double>(campaign.max_batch > 0 ? std::min(left, campaign.max_batch) : left);
    for (const auto& [j, w] : k_pairs) {
      most = std::min(most, std::max(0.0, (g.allowance[j] - answered[j]) / w));
    }
    const int64_t batch = static_cast<int64_t>(std::floor(most + kEps));
    if (batch <= 0) continue;
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
  const double calls = g.background[i] + load.answered[i];
  if (g.on_phone[i] > 0) {
    row.metrics = RowMetrics(si, g.on_phone[i], calls);
    row.meets_target = HoldsTarget(WorkloadOf(si, calls), g.on_phone[i], si.target);
    row.breaks = contacts.BreaksAt(load.answered, i);
  } else {
    row.metrics = ErlangC(0, 0, si.aht_s, si.target.threshold_s);  // closed: its calls are carried forward
  }
  if (!row.meets_target) {
    row.agents_needed = AgentsToHold(WorkloadOf(si, calls), si.target);
    row.extra_agents_scheduled = std::max(0, ScheduledAgents(row.agents_needed, si.shrinkage) - si.agents);
  }
  return row;
}

// The schedule to send, its committed load and its rows. Returns the first failing interval and the worst
// service level among the failing ones (for the reason).
std::pair<absl::Time, double> FillPlan(const Staffing& staffing, const Grid& g, const Contacts& contacts,
                                       const std::vector<int64_t>& chosen, const Load& load, size_t first,
                                       CampaignPlan& plan) {
  plan.unchecked_contacts = load.unchecked;
  for (size_t k = first; k < g.n; ++k) {
    if (chosen[k] == 0) continue;
    plan.schedule.push_back({staffing.intervals[k].start, chosen[k]});
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
                         " interval(s) already miss the target without this campaign (it may add at most ",
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
  if (absl::Status s = ValidateCampaignFigures(campaign); !s.ok()) return s;
  const ResponseCurve curve = campaign.curve.shares.empty() ? DefaultResponseCurve(campaign.channel) : campaign.curve;
  if (absl::Status s = ValidateCurve(curve); !s.ok()) return s;
  if (absl::Status s = ValidateCampaignWindow(staffing, campaign); !s.ok()) return s;

  const size_t total = staffing.intervals.size();
  const size_t first = static_cast<size_t>(IndexOf(staffing, campaign.start));
  const size_t last_send = static_cast<size_t>(
      std::min<int64_t>(static_cast<int64_t>(total) - 1, IndexOf(staffing, campaign.send_by - absl::Nanoseconds(1))));
  const Grid g = MakeGrid(staffing, committed, first);
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
      FillPlan(staffing, g, contacts, pace ? paced : blast, pace ? contacts.LoadOf(paced) : blast_load, first, plan);
  const int failing_blast = pace ? contacts.CountBreaks(blast_load.answered) : 0;
  plan.reason = PlanReason(plan, campaign, staffing.intervals.back().start + kIntervalLength, failing_blast,
                           first_fail, worst_sl);
  return plan;
}

}  // namespace tact::capacity
