#pragma once

// PlanCampaign's internals (plan.cc): the per-interval grid a schedule is searched on. Pure.
#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "daemon/capacity/plan.h"

namespace tact::capacity::internal {

// Index of the interval containing t (may be negative or past the end).
int64_t IndexOf(const Staffing& s, absl::Time t);

// Everything the schedule search needs, computed once per plan.
struct Grid {
  size_t n = 0;
  std::vector<int> on_phone;
  // Where contacts offered in interval i are answered, with shares: {(i, 1)} when open; the next
  // kCarryIntervals open intervals when closed; empty past the last open interval (unchecked).
  std::vector<std::vector<std::pair<size_t, double>>> route;
  std::vector<double> background;       // baseline + committed contacts, after carry-over
  std::vector<double> background_work;  // their handle time in all (contact-seconds)
  std::vector<double> baseline;         // after carry-over
  std::vector<double> committed;        // after carry-over
  // Every contact of interval i (background and this campaign's) has the interval's AHT: the grid is the
  // one-AHT model exactly, with no mixing.
  std::vector<bool> uniform_aht;
  std::vector<double> capacity;         // most calls (at the interval's AHT) that hold the planning target
  std::vector<double> allowance;        // this campaign's contacts the interval may take
  std::vector<bool> failing_before;     // misses the planning target without this campaign
  std::vector<Target> planning_target;  // PlanningTarget(target, margin), for open intervals from `first`
  double campaign_aht = 0;              // this campaign's contact handle time; 0 = the interval's
};

// The grid from the campaign's first interval; the first interval's allowance is prorated to the part of it
// left after campaign.start (a start of 09:07 leaves 8 of its 15 minutes).
Grid MakeGrid(const Staffing& staffing, std::span<const CommittedLoad> committed, const CampaignSpec& campaign,
              size_t first);

// Interval i's workload with `campaign_calls` of this campaign's contacts on top of its background: contacts add
// up, handle times mix by their work (AHT = total work / total contacts).
Workload MixedWorkload(const StaffingInterval& si, const Grid& g, size_t i, double campaign_calls);

// Fills plan.model, target_margin, min_batch and notes, and appends the model and the planning buffer to the
// reason (so every output that shows the reason — CLI, gRPC, notices, the SVG's title — states them).
void DescribePlan(const Staffing& staffing, const CampaignSpec& campaign, size_t first, CampaignPlan& plan);

}  // namespace tact::capacity::internal
