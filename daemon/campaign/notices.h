#pragma once

// The notices the campaign desk sends the contact centre (tact.campaign-notices) and what changed since the
// campaign's previous one. Pure.
//
// A notice that carries a plan (PROPOSED, RELEASED, CANCELLED) is compared with the campaign's previous notice
// that carried one (PLANNED counts too: earlier versions sent it on every plan): verdict, audience, first and
// last send, number of batches, predicted contacts in all and per interval. The change goes in the notice's
// `change` (NoticeChange): the previous figures, the intervals whose predicted contacts moved by 0.05 or more,
// and one summary line per difference ("audience 150000 -> 200000"), or "first notice of this campaign", or
// "no change since the PROPOSED notice of <time>".
#include <optional>
#include <span>
#include <string_view>

#include "daemon/capacity/plan.h"
#include "tact/v1/capacity.pb.h"

namespace tact::campaign {

// Whether a notice carries a plan (and so is compared with the previous one): PROPOSED, RELEASED, CANCELLED,
// PLANNED, and an ACKNOWLEDGED notice that moved the schedule (a late acknowledgement, desk.h).
bool CarriesPlan(const v1::CampaignNotice& notice);
// The last notice of `campaign_id` in `notices` (oldest first) that carries a plan; nullopt when none.
std::optional<v1::CampaignNotice> LastPlanNotice(std::span<const v1::CampaignNotice> notices,
                                                 std::string_view campaign_id);
// A PROPOSED or RELEASED notice of `plan` (its promise, verdict, reason, schedule, predicted contacts per interval).
v1::CampaignNotice PlanNotice(const v1::CampaignSpec& spec, const capacity::CampaignPlan& plan,
                              const v1::CampaignPlan& proto, std::string_view kind);
// What changed from `previous` (nullopt: nothing before) to `next`.
v1::NoticeChange DiffNotice(const std::optional<v1::CampaignNotice>& previous, const v1::CampaignNotice& next);

}  // namespace tact::campaign
