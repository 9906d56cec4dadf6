#pragma once

#include <string>

#include "daemon/capacity/plan.h"

namespace tact::capacity {

// A self-contained SVG of a plan, for planners: the title (campaign, verdict, reason) wrapped to the width; top
// panel, offered calls per interval (baseline and released campaigns in grey, this campaign in orange, stacked)
// against capacity — the most calls that hold the target — as a blue step line, with the campaign's batches as
// ticks under it; bottom panel, the predicted service level per interval against the target as a dashed red
// line. Failing intervals are shaded red. Each panel has a label, y ticks and a frame (class "plot"); time ticks
// and the legend go under the panels, never inside them. Labels are placed assuming a character is at most
// kSvgCharEm × font size wide. Pure.
std::string PlanSvg(const CampaignPlan& plan);

inline constexpr double kSvgCharEm = 0.65;

}  // namespace tact::capacity
