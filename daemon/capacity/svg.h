#pragma once

#include <string>

#include "daemon/capacity/plan.h"

namespace tact::capacity {

// A self-contained SVG of a plan, for planners: top panel, offered calls per interval (baseline and released
// campaigns in grey, this campaign in orange, stacked) against capacity — the most calls that hold the
// target — as a blue step line, with the campaign's batches as ticks; bottom panel, the predicted service
// level per interval against the target as a dashed red line. Failing intervals are shaded red. Pure.
std::string PlanSvg(const CampaignPlan& plan);

}  // namespace tact::capacity
