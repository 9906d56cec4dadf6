// Input checks of the campaign release gate (declared in plan.h): staffing, campaign figures and window, and
// the planning target.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/capacity/plan.h"
#include "daemon/core/strings.h"

namespace tact::capacity {
namespace {

std::string Rfc3339(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

using BadField = std::function<absl::Status(std::string_view field, std::string_view what)>;

// The interval's targets; field names as the staffing CSV spells them.
absl::Status ValidateTarget(const StaffingInterval& si, const BadField& bad) {
  const Target& t = si.target;
  if (!(t.service_level >= 0 && t.service_level < 1)) return bad("target_sl", "must be in [0, 1)");
  if (!(t.threshold_s >= 0 && t.threshold_s <= 3600)) return bad("threshold_s", "must be in [0, 3600]");
  if (!(t.max_asa_s >= 0 && t.max_asa_s <= 86400)) return bad("max_asa_s", "must be in [0, 86400]");
  if (!(t.max_abandon >= 0 && t.max_abandon < 1)) return bad("max_abandon", "must be in [0, 1)");
  if (!(t.max_occupancy >= 0 && t.max_occupancy <= 1)) return bad("max_occupancy", "must be in [0, 1]");
  if (t.more_service_levels.size() > kMaxServiceLevels) {
    return bad("service_levels", absl::StrCat("at most ", kMaxServiceLevels, " targets"));
  }
  for (size_t k = 0; k < t.more_service_levels.size(); ++k) {
    const ServiceLevelPoint& p = t.more_service_levels[k];
    if (!(p.service_level > 0 && p.service_level < 1)) {
      return bad(absl::StrCat("service_levels[", k, "]"), "service level must be in (0, 1)");
    }
    if (!(p.threshold_s >= 0 && p.threshold_s <= 3600)) {
      return bad(absl::StrCat("service_levels[", k, "]"), "threshold must be in [0, 3600] s");
    }
  }
  if (!(si.patience_s >= 0 && si.patience_s <= 86400)) return bad("patience_s", "must be in [0, 86400]");
  if (t.max_abandon > 0 && si.patience_s == 0) {
    return bad("max_abandon", "needs patience_s (abandonment is modelled with Erlang A)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateStaffing(const Staffing& staffing,
                              const std::function<std::string(size_t, std::string_view)>& where) {
  auto name = [&](size_t i, std::string_view field) {
    return where ? where(i, field) : absl::StrCat("intervals[", i, "].", AsAbsl(field));
  };
  if (staffing.intervals.empty()) {
    return absl::InvalidArgumentError("intervals: at least one interval required");
  }
  if (staffing.intervals.size() > kMaxIntervals) {
    return absl::InvalidArgumentError(absl::StrCat("intervals: at most ", kMaxIntervals, " (31 days)"));
  }
  for (size_t i = 0; i < staffing.intervals.size(); ++i) {
    const StaffingInterval& si = staffing.intervals[i];
    const BadField bad = [&](std::string_view field, std::string_view what) {
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
    if (absl::Status s = ValidateTarget(si, bad); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateCampaign(const Staffing& staffing, const CampaignSpec& campaign) {
  if (campaign.audience < 0 || campaign.audience > 1'000'000'000) {
    return absl::InvalidArgumentError("audience: must be in [0, 1e9]");
  }
  if (!(campaign.deliverability >= 0 && campaign.deliverability <= 1)) {
    return absl::InvalidArgumentError("deliverability: must be in [0, 1]");
  }
  if (!(campaign.contact_rate >= 0 && campaign.contact_rate <= 1)) {
    return absl::InvalidArgumentError("contact_rate: must be in [0, 1]");
  }
  if (campaign.max_batch < 0) return absl::InvalidArgumentError("max_batch: must be >= 0");
  if (campaign.min_batch < 0 && campaign.min_batch != kMinBatchAuto) {
    return absl::InvalidArgumentError("min_batch: must be >= 0");
  }
  if (!(campaign.target_margin >= 0 && campaign.target_margin <= kMaxTargetMargin)) {
    return absl::InvalidArgumentError(absl::StrCat("target_margin: must be in [0, ", kMaxTargetMargin, "]"));
  }
  if (!(campaign.contact_aht_s >= 0 && campaign.contact_aht_s <= 86400)) {
    return absl::InvalidArgumentError("contact_aht_seconds: must be in [0, 86400]");
  }
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

int64_t EffectiveMinBatch(const CampaignSpec& campaign) {
  const int64_t min_batch = campaign.min_batch != kMinBatchAuto
                                ? campaign.min_batch
                                : std::clamp<int64_t>((campaign.audience + 99) / 100, 1, kDefaultMinBatch);
  return campaign.max_batch > 0 ? std::min(min_batch, campaign.max_batch) : min_batch;
}

Target PlanningTarget(const Target& target, double margin) {
  if (!(margin > 0)) return target;
  constexpr double kMaxPlanningServiceLevel = 0.995;
  auto raise = [&](double sl) { return sl > 0 ? std::min(std::max(sl, kMaxPlanningServiceLevel), sl + margin) : 0.0; };
  Target t = target;
  t.service_level = raise(t.service_level);
  for (ServiceLevelPoint& p : t.more_service_levels) p.service_level = raise(p.service_level);
  t.max_asa_s *= 1 - margin;
  t.max_abandon *= 1 - margin;
  t.max_occupancy *= 1 - margin;
  return t;
}

}  // namespace tact::capacity
