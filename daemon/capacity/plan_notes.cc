// How a plan was made, in words (plan_grid.h DescribePlan).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "daemon/capacity/plan_grid.h"

namespace tact::capacity::internal {
namespace {

std::string Percent(double share) { return absl::StrFormat("%g%%", std::round(share * 1000) / 10); }

// "80% in 20 s, 90% in 90 s, ASA ≤ 30 s, abandonment ≤ 5%, occupancy ≤ 85%".
std::string TargetText(const Target& t) {
  std::vector<std::string> parts;
  if (t.service_level > 0) parts.push_back(absl::StrCat(Percent(t.service_level), " in ", t.threshold_s, " s"));
  for (const ServiceLevelPoint& p : t.more_service_levels) {
    parts.push_back(absl::StrCat(Percent(p.service_level), " in ", p.threshold_s, " s"));
  }
  if (t.max_asa_s > 0) parts.push_back(absl::StrFormat("ASA <= %g s", t.max_asa_s));
  if (t.max_abandon > 0) parts.push_back(absl::StrCat("abandonment <= ", Percent(t.max_abandon)));
  if (t.max_occupancy > 0) parts.push_back(absl::StrCat("occupancy <= ", Percent(t.max_occupancy)));
  return parts.empty() ? "no target" : absl::StrJoin(parts, ", ");
}

}  // namespace

void DescribePlan(const Staffing& staffing, const CampaignSpec& campaign, size_t first, CampaignPlan& plan) {
  bool with_patience = false, without_patience = false;
  const StaffingInterval* open = nullptr;  // the first open interval, for the targets shown
  for (size_t i = first; i < staffing.intervals.size(); ++i) {
    const StaffingInterval& si = staffing.intervals[i];
    if (OnPhoneAgents(si.agents, si.shrinkage) == 0) continue;
    if (open == nullptr) open = &si;
    (si.patience_s > 0 ? with_patience : without_patience) = true;
  }
  plan.model = with_patience && without_patience ? "erlang_a+erlang_c" : with_patience ? "erlang_a" : "erlang_c";
  plan.target_margin = campaign.target_margin;
  plan.min_batch = EffectiveMinBatch(campaign);
  const std::string model =
      plan.model == "erlang_a" ? absl::StrFormat("Erlang A (mean patience %g s: abandonment modelled, a caller who "
                                                 "hangs up counts as not answered)",
                                                 open->patience_s)
      : plan.model == "erlang_c" ? std::string("Erlang C (no patience in the staffing: no abandonment modelled)")
                                 : std::string("Erlang A where the staffing gives a patience, Erlang C where not");
  plan.notes.push_back(absl::StrCat("model: ", model));
  std::string planned;
  if (open != nullptr) {
    planned = campaign.target_margin > 0
                  ? absl::StrCat("planned to ", TargetText(PlanningTarget(open->target, campaign.target_margin)),
                                 " (target ", TargetText(open->target), ", margin ",
                                 absl::StrFormat("%g", campaign.target_margin), ")")
                  : absl::StrCat("planned to the target itself, ", TargetText(open->target), " (no margin)");
    plan.notes.push_back(absl::StrCat("planning buffer: ", planned));
  }
  plan.notes.push_back(plan.min_batch > 1
                           ? absl::StrCat("minimum batch: ", plan.min_batch, " messages (the last may be smaller)")
                           : std::string("minimum batch: none"));
  if (campaign.contact_aht_s > 0) {
    plan.notes.push_back(absl::StrFormat(
        "handle time: this campaign's contacts take %g s, mixed with each interval's own by work", campaign.contact_aht_s));
  }
  const absl::Time interval_start = staffing.intervals[first].start;
  if (campaign.start > interval_start) {
    plan.notes.push_back(absl::StrFormat(
        "start: %s is inside its interval; its first send is at the start, and that interval takes %.0f%% of its "
        "headroom (the part left)",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", campaign.start, absl::UTCTimeZone()),
        100 * absl::FDivDuration(interval_start + kIntervalLength - campaign.start, kIntervalLength)));
  }
  plan.reason = absl::StrCat(plan.reason, "; ", model.substr(0, model.find(" (")),
                             planned.empty() ? "" : absl::StrCat(", ", planned));
}

}  // namespace tact::capacity::internal
