#pragma once

// tactctl plan under the campaign gate's notice rules (campaign/notice_rules.h), as PlanCampaign applies them:
// --policy DIR (its campaign_gates), --tenant and --class pick the gate, --release-at says when the release
// would happen (default now), and --start earliest asks for the earliest start the gate allows.
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/campaign/notice_rules.h"
#include "daemon/capacity/plan.h"
#include "daemon/cli/capacity_verbs.h"
#include "nlohmann/json.hpp"

namespace tact::cli {

struct PlanNotice {
  campaign::NoticeRules rules;
  campaign::StartCheck check;
};

// Whether --start asks for the earliest start.
bool StartsEarliest(const PlanArgs& args);
// Reads --policy (none: no rules), applies the rule to `spec->start`. Usage errors name the flag.
absl::StatusOr<PlanNotice> ApplyPlanNotice(const PlanArgs& args, absl::Time now, capacity::CampaignSpec* spec);
// A too-early plan becomes a REJECT naming the earliest feasible start ("use --start earliest").
void FinishPlanNotice(const PlanNotice& notice, capacity::CampaignPlan* plan);
// {"gate", "min_notice_seconds", "earliest_start", "start_moved", "waits_for_acknowledgement"}; null without a gate.
nlohmann::json PlanNoticeJson(const PlanNotice& notice);
// One line for the text output ("" without a gate).
std::string PlanNoticeLine(const PlanNotice& notice);

}  // namespace tact::cli
