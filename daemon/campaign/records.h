#pragma once

// The campaign part's records are the v1 messages it stores (store::CapacityStore keeps v1.PutStaffingRequest,
// v1.Campaign, v1.CampaignNotice). These conversions turn them into the pure planner's types (daemon/capacity)
// and back. Pure. Errors: INVALID_ARGUMENT with the field path, e.g. "intervals[3].aht_seconds: ...".
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/capacity/plan.h"
#include "daemon/core/event.h"
#include "tact/v1/capacity.pb.h"

namespace tact::campaign {

absl::StatusOr<capacity::Staffing> StaffingFromProto(const v1::PutStaffingRequest& req);
v1::StaffingInterval StaffingIntervalToProto(const capacity::StaffingInterval& si);
// `prefix` goes before every field name in errors ("campaign.").
absl::StatusOr<capacity::CampaignSpec> CampaignFromProto(const v1::CampaignSpec& spec, std::string_view prefix);
v1::CampaignPlan PlanToProto(const capacity::CampaignPlan& plan, std::string_view tenant);

// The plan's predicted contacts of a campaign up to `now` (the current interval counted pro rata).
double PredictedContactsBy(const v1::CampaignPlan& plan, absl::Time now);

// The contacts per interval (raw, from `c.committed_start()`, as long as `c.committed_calls()`) of the campaign's
// first `released` messages, taken from its schedule's batches earliest first: what a cancelled campaign still
// commits (its messages already out still make customers call). `released` is capped at the schedule's total.
std::vector<double> SentLoad(const v1::Campaign& c, int64_t released);

// INVALID_ARGUMENT "<field>: required" unless `present`; ValidId also refuses ids over kMaxIdLength bytes.
absl::Status Required(bool present, std::string_view field);
absl::Status ValidId(const std::string& id, std::string_view field);

}  // namespace tact::campaign
