#include "daemon/api/campaign_desk.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"
#include "daemon/policy/campaign_gates.h"

namespace tact::api {
namespace {

using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;


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

}  // namespace

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
    s.intervals.push_back(si);
  }
  // Proto field names in errors: intervals[3].aht_seconds.
  static const std::map<std::string_view, std::string_view> kNames = {
      {"aht_s", "aht_seconds"},           {"target_sl", "target_service_level"}, {"threshold_s", "threshold_seconds"},
      {"patience_s", "patience_seconds"}, {"max_asa_s", "max_asa_seconds"},      {"max_abandon", "max_abandon_rate"}};
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
  return p;
}

absl::StatusOr<capacity::CampaignSpec> CampaignFromProto(const v1::CampaignSpec& spec, std::string_view prefix) {
  const std::string pre(prefix);
  TACT_RETURN_IF_ERROR(CheckTenantId(pre + "tenant", spec.tenant()));
  TACT_RETURN_IF_ERROR(ValidId(spec.campaign_id(), pre + "campaign_id"));
  if (spec.audience() <= 0) return absl::InvalidArgumentError(pre + "audience: must be > 0");
  TACT_RETURN_IF_ERROR(Required(spec.has_start(), pre + "start"));
  capacity::CampaignSpec c;
  c.id = spec.campaign_id();
  c.audience = spec.audience();
  c.channel = spec.channel() == v1::CHANNEL_UNSPECIFIED ? v1::EMAIL : spec.channel();
  c.deliverability = spec.deliverability() > 0 ? spec.deliverability() : 0.98;
  c.contact_rate = spec.contact_rate() > 0 ? spec.contact_rate() : 0.02;
  c.start = TimeFromProto(spec.start());
  if (spec.has_send_by()) c.send_by = TimeFromProto(spec.send_by());
  c.curve.shares.assign(spec.response_curve().begin(), spec.response_curve().end());
  c.max_batch = spec.max_batch();
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
    f->set_model(r.metrics.model == capacity::Model::kErlangA ? "erlang_a" : "erlang_c");
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
  return p;
}

absl::StatusOr<v1::PutStaffingResponse> CampaignDesk::PutStaffing(const v1::PutStaffingRequest& req) {
  TACT_ASSIGN_OR_RETURN(capacity::Staffing s, StaffingFromProto(req));
  TACT_RETURN_IF_ERROR(store_.PutStaffing(req));
  v1::PutStaffingResponse resp;
  resp.set_intervals(static_cast<int32_t>(s.intervals.size()));
  *resp.mutable_start() = TimeToProto(s.intervals.front().start);
  *resp.mutable_end() = TimeToProto(s.intervals.back().start + capacity::kIntervalLength);
  return resp;
}

absl::StatusOr<CampaignDesk::Planned> CampaignDesk::PlanAgainstStore(const v1::CampaignSpec& spec) {
  TACT_ASSIGN_OR_RETURN(capacity::CampaignSpec campaign, CampaignFromProto(spec, "campaign."));
  TACT_ASSIGN_OR_RETURN(std::optional<v1::PutStaffingRequest> staffing_proto, store_.GetStaffing(spec.tenant()));
  if (!staffing_proto.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no staffing for tenant '", spec.tenant(), "': call Capacity.PutStaffing first"));
  }
  absl::StatusOr<capacity::Staffing> staffing = StaffingFromProto(*staffing_proto);
  if (!staffing.ok()) return absl::InternalError(absl::StrCat("stored staffing: ", staffing.status().message()));
  TACT_ASSIGN_OR_RETURN(std::vector<v1::Campaign> released, store_.ListCampaigns(spec.tenant()));
  std::vector<capacity::CommittedLoad> committed;
  for (const v1::Campaign& c : released) {
    if (c.spec().campaign_id() == spec.campaign_id()) continue;  // re-planning itself
    committed.push_back({TimeFromProto(c.committed_start()), {c.committed_calls().begin(), c.committed_calls().end()}});
  }
  absl::StatusOr<capacity::CampaignPlan> plan = capacity::PlanCampaign(*staffing, committed, campaign);
  if (!plan.ok()) {
    // Field names in plan errors are the campaign's.
    if (absl::IsInvalidArgument(plan.status())) {
      return absl::InvalidArgumentError(absl::StrCat("campaign.", plan.status().message()));
    }
    return plan.status();
  }
  Planned out{*plan, PlanToProto(*plan, spec.tenant())};
  return out;
}

absl::Status CampaignDesk::Notify(v1::CampaignNotice notice) {
  *notice.mutable_at() = TimeToProto(clock_.Now());
  TACT_RETURN_IF_ERROR(store_.AddNotice(notice));
  return notices_.Publish(notice);
}

namespace {

v1::CampaignNotice NoticeFor(const v1::CampaignSpec& spec, const capacity::CampaignPlan& plan,
                             const v1::CampaignPlan& proto, std::string_view kind) {
  v1::CampaignNotice n;
  n.set_tenant(spec.tenant());
  n.set_campaign_id(spec.campaign_id());
  n.set_kind(std::string(kind));
  *n.mutable_promise() = spec.promise();
  n.set_verdict(proto.verdict());
  n.set_reason(proto.reason());
  *n.mutable_schedule() = proto.schedule();
  for (const capacity::IntervalRow& r : plan.rows) {
    if (r.campaign_calls < 0.005) continue;
    v1::PredictedContacts* pc = n.add_predicted();
    *pc->mutable_start() = TimeToProto(r.start);
    pc->set_calls(r.campaign_calls);
  }
  n.set_predicted_contacts(plan.predicted_contacts);
  return n;
}

}  // namespace

absl::StatusOr<v1::CampaignPlan> CampaignDesk::Plan(const v1::PlanCampaignRequest& req) {
  TACT_RETURN_IF_ERROR(Required(req.has_campaign(), "campaign"));
  TACT_ASSIGN_OR_RETURN(Planned p, PlanAgainstStore(req.campaign()));
  TACT_RETURN_IF_ERROR(Notify(NoticeFor(req.campaign(), p.plan, p.proto, "PLANNED")));
  return p.proto;
}

absl::StatusOr<v1::Campaign> CampaignDesk::Release(const v1::ReleaseCampaignRequest& req) {
  TACT_RETURN_IF_ERROR(Required(req.has_campaign(), "campaign"));
  TACT_ASSIGN_OR_RETURN(std::optional<v1::Campaign> existing,
                        store_.GetCampaign(req.campaign().tenant(), req.campaign().campaign_id()));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat("campaign '", req.campaign().campaign_id(), "' already released"));
  }
  TACT_ASSIGN_OR_RETURN(Planned p, PlanAgainstStore(req.campaign()));
  if (p.plan.verdict == capacity::Verdict::kReject) {
    return absl::FailedPreconditionError(absl::StrCat("campaign rejected: ", p.plan.reason));
  }
  v1::Campaign c;
  *c.mutable_spec() = req.campaign();
  *c.mutable_plan() = p.proto;
  c.set_state(v1::CAMPAIGN_RELEASED);
  *c.mutable_released_at() = TimeToProto(clock_.Now());
  *c.mutable_committed_start() = TimeToProto(p.plan.load.start);
  *c.mutable_committed_calls() = {p.plan.load.calls.begin(), p.plan.load.calls.end()};
  TACT_RETURN_IF_ERROR(store_.PutCampaign(c, /*create=*/true));
  TACT_RETURN_IF_ERROR(Notify(NoticeFor(req.campaign(), p.plan, p.proto, "RELEASED")));
  return c;
}

absl::StatusOr<v1::Campaign> CampaignDesk::Released(std::string_view tenant, std::string_view campaign_id) {
  TACT_RETURN_IF_ERROR(CheckTenantId("tenant", tenant));
  TACT_RETURN_IF_ERROR(ValidId(std::string(campaign_id), "campaign_id"));
  TACT_ASSIGN_OR_RETURN(std::optional<v1::Campaign> c, store_.GetCampaign(tenant, campaign_id));
  if (!c.has_value()) {
    return absl::NotFoundError(absl::StrCat("campaign '", AsAbsl(campaign_id), "' not released"));
  }
  return *std::move(c);
}

absl::StatusOr<v1::Campaign> CampaignDesk::Get(const v1::GetCampaignRequest& req) {
  TACT_ASSIGN_OR_RETURN(v1::Campaign c, Released(req.tenant(), req.campaign_id()));
  TACT_ASSIGN_OR_RETURN(*c.mutable_figures(), Figures(c, clock_.Now()));
  return c;
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

namespace {

v1::CampaignFigures MakeFigures(const store::CampaignCounts& counts, double predicted, absl::Time now) {
  v1::CampaignFigures f;
  f.set_released(counts.released);
  f.set_contacts(counts.contacts);
  f.set_complaints(counts.complaints);
  f.set_predicted_contacts(predicted);
  *f.mutable_at() = TimeToProto(now);
  if (predicted > 0) f.set_contacts_over_plan(static_cast<double>(counts.contacts) / predicted);
  if (counts.released > 0) f.set_complaints_per_1000(1000.0 * static_cast<double>(counts.complaints) / counts.released);
  return f;
}

// The threshold `figures` pass since `base` (the last resume; empty before one), as a reason; "" when none.
std::string PauseReason(const policy::PauseWhen& when, const v1::CampaignFigures& now,
                        const v1::CampaignFigures& base) {
  const int64_t contacts = now.contacts() - base.contacts();
  const double predicted = now.predicted_contacts() - base.predicted_contacts();
  if (when.contacts_over_plan > 0 && contacts >= when.min_contacts &&
      static_cast<double>(contacts) > when.contacts_over_plan * predicted) {
    const double ratio = predicted > 0 ? static_cast<double>(contacts) / predicted : 0;
    return absl::StrCat("contacts ", predicted > 0 ? absl::StrFormat("%.1f× plan", ratio) : "over an empty plan",
                        absl::StrFormat(" (%d actual, %.1f predicted by now; pause above %g×)", contacts, predicted,
                                        when.contacts_over_plan));
  }
  const int64_t released = now.released() - base.released();
  const int64_t complaints = now.complaints() - base.complaints();
  if (when.complaints_per_1000 > 0 && released >= when.min_released && released > 0) {
    const double rate = 1000.0 * static_cast<double>(complaints) / static_cast<double>(released);
    if (rate > when.complaints_per_1000) {
      return absl::StrFormat("complaints %.1f per 1,000 released (%d of %d; pause above %g)", rate, complaints,
                             released, when.complaints_per_1000);
    }
  }
  return "";
}

}  // namespace

absl::StatusOr<v1::CampaignFigures> CampaignDesk::Figures(const v1::Campaign& c, absl::Time now) {
  TACT_ASSIGN_OR_RETURN(store::CampaignCounts counts, store_.GetCounts(c.spec().tenant(), c.spec().campaign_id()));
  return MakeFigures(counts, PredictedContactsBy(c.plan(), now), now);
}

absl::Status CampaignDesk::OnCampaignSignal(const v1::Signal& signal, absl::Time now) {
  int64_t contacts = 0;
  int64_t complaints = 0;
  switch (signal.kind()) {
    case v1::CONTACT: contacts = 1; break;
    case v1::CSAT: contacts = 1; break;
    case v1::COMPLAINT_OPENED: contacts = 1; complaints = 1; break;
    default: return absl::OkStatus();  // not a contact
  }
  TACT_ASSIGN_OR_RETURN(store::CampaignCounts counts, store_.AddFeedback(signal.tenant(), signal.campaign_id(),
                                                                         signal.signal_id(), contacts, complaints));
  TACT_ASSIGN_OR_RETURN(std::optional<v1::Campaign> c, store_.GetCampaign(signal.tenant(), signal.campaign_id()));
  if (!c.has_value() || c->state() != v1::CAMPAIGN_RELEASED || policies_ == nullptr) return absl::OkStatus();
  const std::shared_ptr<const policy::Policy> pol = policies_->Get();
  if (pol == nullptr) return absl::OkStatus();
  const Channel channel = c->spec().channel() == v1::CHANNEL_UNSPECIFIED ? v1::EMAIL : c->spec().channel();
  const policy::CampaignGate* gate = policy::FindFeedbackGate(*pol, signal.tenant(), channel);
  if (gate == nullptr || !gate->pause_when.has_value()) return absl::OkStatus();
  const v1::CampaignFigures figures = MakeFigures(counts, PredictedContactsBy(c->plan(), now), now);
  const std::string reason = PauseReason(*gate->pause_when, figures, c->figures_at_resume());
  if (reason.empty()) return absl::OkStatus();
  c->set_state(v1::CAMPAIGN_PAUSED);
  c->set_pause_reason(reason);
  *c->mutable_paused_at() = TimeToProto(now);
  *c->mutable_figures_at_pause() = figures;
  TACT_RETURN_IF_ERROR(store_.PutCampaign(*c, /*create=*/false));
  ops::Log(ops::LogLevel::kWarning, "campaign.paused",
           {{"tenant", signal.tenant()}, {"campaign_id", signal.campaign_id()}, {"gate", gate->id},
            {"reason", reason}});
  v1::CampaignNotice n;
  n.set_tenant(signal.tenant());
  n.set_campaign_id(signal.campaign_id());
  n.set_kind("PAUSED");
  n.set_reason(reason);
  *n.mutable_figures() = figures;
  return Notify(n);
}

absl::StatusOr<v1::Campaign> CampaignDesk::Acknowledge(const v1::AcknowledgeCampaignRequest& req) {
  TACT_RETURN_IF_ERROR(ValidId(req.acknowledged_by(), "acknowledged_by"));
  TACT_ASSIGN_OR_RETURN(v1::Campaign c, Released(req.tenant(), req.campaign_id()));
  c.set_acknowledged(true);
  c.set_acknowledged_by(req.acknowledged_by());
  *c.mutable_acknowledged_at() = TimeToProto(clock_.Now());
  TACT_RETURN_IF_ERROR(store_.PutCampaign(c, /*create=*/false));
  v1::CampaignNotice n;
  n.set_tenant(req.tenant());
  n.set_campaign_id(req.campaign_id());
  n.set_kind("ACKNOWLEDGED");
  n.set_acknowledged_by(req.acknowledged_by());
  TACT_RETURN_IF_ERROR(Notify(n));
  return c;
}

absl::StatusOr<v1::Campaign> CampaignDesk::Resume(const v1::ResumeCampaignRequest& req) {
  TACT_ASSIGN_OR_RETURN(v1::Campaign c, Released(req.tenant(), req.campaign_id()));
  if (c.state() != v1::CAMPAIGN_PAUSED) {
    return absl::FailedPreconditionError(absl::StrCat("campaign '", req.campaign_id(), "' is not paused"));
  }
  c.set_state(v1::CAMPAIGN_RELEASED);
  c.clear_pause_reason();
  // From now on the pause thresholds apply to what happens after this resume.
  TACT_ASSIGN_OR_RETURN(*c.mutable_figures_at_resume(), Figures(c, clock_.Now()));
  TACT_RETURN_IF_ERROR(store_.PutCampaign(c, /*create=*/false));
  v1::CampaignNotice n;
  n.set_tenant(req.tenant());
  n.set_campaign_id(req.campaign_id());
  n.set_kind("RESUMED");
  TACT_RETURN_IF_ERROR(Notify(n));
  return c;
}

absl::StatusOr<v1::ListNoticesResponse> CampaignDesk::ListNotices(const v1::ListNoticesRequest& req) {
  TACT_RETURN_IF_ERROR(ValidId(req.tenant(), "tenant"));
  TACT_ASSIGN_OR_RETURN(std::vector<v1::CampaignNotice> all, store_.ListNotices(req.tenant()));
  v1::ListNoticesResponse resp;
  for (v1::CampaignNotice& n : all) {
    if (req.campaign_id().empty() || n.campaign_id() == req.campaign_id()) *resp.add_notices() = std::move(n);
  }
  return resp;
}

}  // namespace tact::api
