#include "daemon/campaign/records.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"

namespace tact::campaign {

absl::Status Required(bool present, std::string_view field) {
  return present ? absl::OkStatus() : absl::InvalidArgumentError(absl::StrCat(AsAbsl(field), ": required"));
}

absl::Status ValidId(const std::string& id, std::string_view field) {
  TACT_RETURN_IF_ERROR(Required(!id.empty(), field));
  if (id.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(field), ": longer than ", kMaxIdLength, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<capacity::Staffing> StaffingFromProto(const v1::PutStaffingRequest& req) {
  TACT_RETURN_IF_ERROR(CheckTenantId("tenant", req.tenant()));
  capacity::Staffing s;
  for (int i = 0; i < req.intervals_size(); ++i) {
    const v1::StaffingInterval& p = req.intervals(i);
    if (!p.has_start()) return absl::InvalidArgumentError(absl::StrCat("intervals[", i, "].start: required"));
    capacity::StaffingInterval si;
    si.start = TimeFromProto(p.start());
    si.agents = p.agents();
    si.shrinkage = p.shrinkage();
    si.aht_s = p.aht_seconds();
    si.baseline_calls = p.baseline_calls();
    si.target.service_level = p.target_service_level() > 0 ? p.target_service_level() : 0.8;
    si.target.threshold_s = p.threshold_seconds() > 0 ? p.threshold_seconds() : 20;
    si.target.max_asa_s = p.max_asa_seconds();
    si.target.max_abandon = p.max_abandon_rate();
    si.patience_s = p.patience_seconds();
    si.target.max_occupancy = p.max_occupancy();
    for (const v1::ServiceLevelTarget& t : p.service_levels()) {
      si.target.more_service_levels.push_back({t.service_level(), t.threshold_seconds()});
    }
    s.intervals.push_back(si);
  }
  // Proto field names in errors: intervals[3].aht_seconds.
  static const std::map<std::string_view, std::string_view> kNames = {
      {"aht_s", "aht_seconds"},           {"target_sl", "target_service_level"}, {"threshold_s", "threshold_seconds"},
      {"patience_s", "patience_seconds"}, {"max_asa_s", "max_asa_seconds"},      {"max_abandon", "max_abandon_rate"},
      {"service_levels", "service_levels"}, {"max_occupancy", "max_occupancy"}};
  TACT_RETURN_IF_ERROR(capacity::ValidateStaffing(s, [](size_t i, std::string_view field) {
    auto it = kNames.find(field);
    return absl::StrCat("intervals[", i, "].", AsAbsl(it == kNames.end() ? field : it->second));
  }));
  return s;
}

v1::StaffingInterval StaffingIntervalToProto(const capacity::StaffingInterval& si) {
  v1::StaffingInterval p;
  *p.mutable_start() = TimeToProto(si.start);
  p.set_agents(si.agents);
  p.set_shrinkage(si.shrinkage);
  p.set_aht_seconds(si.aht_s);
  p.set_baseline_calls(si.baseline_calls);
  p.set_target_service_level(si.target.service_level);
  p.set_threshold_seconds(si.target.threshold_s);
  p.set_patience_seconds(si.patience_s);
  p.set_max_asa_seconds(si.target.max_asa_s);
  p.set_max_abandon_rate(si.target.max_abandon);
  p.set_max_occupancy(si.target.max_occupancy);
  for (const capacity::ServiceLevelPoint& t : si.target.more_service_levels) {
    v1::ServiceLevelTarget* pt = p.add_service_levels();
    pt->set_service_level(t.service_level);
    pt->set_threshold_seconds(t.threshold_s);
  }
  return p;
}

absl::StatusOr<capacity::CampaignSpec> CampaignFromProto(const v1::CampaignSpec& spec, std::string_view prefix) {
  const std::string pre(prefix);
  TACT_RETURN_IF_ERROR(CheckTenantId(pre + "tenant", spec.tenant()));
  TACT_RETURN_IF_ERROR(ValidId(spec.campaign_id(), pre + "campaign_id"));
  if (spec.audience() <= 0) return absl::InvalidArgumentError(pre + "audience: must be > 0");
  // start_earliest: an unset start means "as soon as the gate allows" (notice_rules.h moves it).
  TACT_RETURN_IF_ERROR(Required(spec.has_start() || spec.start_earliest(), pre + "start"));
  capacity::CampaignSpec c;
  c.id = spec.campaign_id();
  c.audience = spec.audience();
  c.channel = spec.channel() == v1::CHANNEL_UNSPECIFIED ? v1::EMAIL : spec.channel();
  c.deliverability = spec.deliverability() > 0 ? spec.deliverability() : 0.98;
  c.contact_rate = spec.contact_rate() > 0 ? spec.contact_rate() : 0.02;
  c.start = spec.has_start() ? TimeFromProto(spec.start()) : absl::InfinitePast();
  if (spec.has_send_by()) c.send_by = TimeFromProto(spec.send_by());
  c.curve.shares.assign(spec.response_curve().begin(), spec.response_curve().end());
  c.max_batch = spec.max_batch();
  if (spec.has_target_margin()) c.target_margin = spec.target_margin();
  if (spec.has_min_batch()) c.min_batch = spec.min_batch();
  c.contact_aht_s = spec.contact_aht_seconds();
  return c;
}

v1::CampaignPlan PlanToProto(const capacity::CampaignPlan& plan, std::string_view tenant) {
  v1::CampaignPlan p;
  p.set_tenant(std::string(tenant));
  p.set_campaign_id(plan.campaign_id);
  switch (plan.verdict) {
    case capacity::Verdict::kRelease: p.set_verdict(v1::VERDICT_RELEASE); break;
    case capacity::Verdict::kPace: p.set_verdict(v1::VERDICT_PACE); break;
    case capacity::Verdict::kReject: p.set_verdict(v1::VERDICT_REJECT); break;
  }
  p.set_reason(plan.reason);
  for (const capacity::IntervalRow& r : plan.rows) {
    v1::IntervalForecast* f = p.add_intervals();
    *f->mutable_start() = TimeToProto(r.start);
    f->set_agents_scheduled(r.agents_scheduled);
    f->set_agents_on_phone(r.agents_on_phone);
    f->set_baseline_calls(r.baseline_calls);
    f->set_released_calls(r.committed_calls);
    f->set_campaign_calls(r.campaign_calls);
    f->set_sends(r.sends);
    f->set_capacity_calls(r.capacity_calls);
    f->set_offered_erlangs(r.metrics.offered_erlangs);
    f->set_stable(r.metrics.stable);
    f->set_p_wait(r.metrics.p_wait);
    f->set_service_level(r.metrics.service_level);
    f->set_target_service_level(r.target_service_level);
    if (r.metrics.asa_s) f->set_asa_seconds(*r.metrics.asa_s);
    f->set_occupancy(r.metrics.occupancy);
    f->set_abandon_rate(r.metrics.abandon_rate);
    f->set_meets_target(r.meets_target);
    f->set_failing_before(r.failing_before);
    f->set_breaks(r.breaks);
    f->set_agents_needed(r.agents_needed);
    f->set_extra_agents_scheduled(r.extra_agents_scheduled);
    f->set_model(std::string(capacity::ModelName(r.metrics.model)));
    f->set_planning_service_level(r.planning_service_level);
    f->set_meets_planning_target(r.meets_planning_target);
    f->set_aht_seconds(r.aht_s);
    if (r.breaks) *p.add_failing_intervals() = TimeToProto(r.start);
  }
  for (const capacity::Batch& b : plan.schedule) {
    v1::Batch* pb = p.add_schedule();
    *pb->mutable_start() = TimeToProto(b.start);
    pb->set_messages(b.messages);
  }
  if (!plan.schedule.empty()) {
    *p.mutable_first_send() = TimeToProto(plan.first_send);
    *p.mutable_last_send() = TimeToProto(plan.last_send);
  }
  p.set_audience(plan.audience);
  p.set_sendable(plan.sendable);
  p.set_predicted_contacts(plan.predicted_contacts);
  p.set_unchecked_contacts(plan.unchecked_contacts);
  p.set_extra_agents_scheduled(plan.extra_agents_scheduled);
  p.set_intervals_failing_before(plan.intervals_failing_before);
  p.set_model(plan.model);
  p.set_target_margin(plan.target_margin);
  p.set_min_batch(plan.min_batch);
  for (const std::string& note : plan.notes) p.add_notes(note);
  return p;
}

double PredictedContactsBy(const v1::CampaignPlan& plan, absl::Time now) {
  double sum = 0;
  for (const v1::IntervalForecast& f : plan.intervals()) {
    const double elapsed = (now - TimeFromProto(f.start())) / capacity::kIntervalLength;
    if (elapsed <= 0) break;
    sum += f.campaign_calls() * std::min(1.0, elapsed);
  }
  return sum;
}

}  // namespace tact::campaign
