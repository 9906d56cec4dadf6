#include "daemon/campaign/desk.h"

#include "daemon/campaign/gate.h"
#include "daemon/campaign/notice_rules.h"
#include "daemon/campaign/notices.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"
#include "daemon/policy/campaign_gates.h"

namespace tact::campaign {

absl::StatusOr<capacity::Staffing> CampaignDesk::PutStaffing(const v1::PutStaffingRequest& staffing) {
  TACT_ASSIGN_OR_RETURN(capacity::Staffing s, StaffingFromProto(staffing));
  TACT_RETURN_IF_ERROR(store_.PutStaffing(staffing));
  return s;
}

absl::StatusOr<CampaignDesk::Planned> CampaignDesk::PlanAgainstStore(const v1::CampaignSpec& spec,
                                                                     v1::CampaignSpec* spec_out,
                                                                     std::optional<absl::Time> release_at) {
  TACT_ASSIGN_OR_RETURN(capacity::CampaignSpec campaign, CampaignFromProto(spec, "campaign."));
  const std::shared_ptr<const policy::Policy> pol = policies_ == nullptr ? nullptr : policies_();
  const NoticeRules rules = NoticeRulesFor(pol.get(), spec.tenant(), campaign.channel, spec.message_class());
  const StartCheck start =
      ApplyNoticeRule(rules, release_at.value_or(clock_.Now()), spec.start_earliest(), &campaign);
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
    committed.push_back({TimeFromProto(c.committed_start()), {c.committed_calls().begin(), c.committed_calls().end()},
                         c.spec().contact_aht_seconds()});
  }
  absl::StatusOr<capacity::CampaignPlan> plan = capacity::PlanCampaign(*staffing, committed, campaign);
  if (!plan.ok()) {
    // Field names in plan errors are the campaign's.
    if (absl::IsInvalidArgument(plan.status())) {
      return absl::InvalidArgumentError(absl::StrCat("campaign.", plan.status().message(),
                                                     start.shifted ? " (start moved by start_earliest)" : ""));
    }
    return plan.status();
  }
  RejectTooEarly(rules, start, "set start_earliest", &*plan);
  Planned out{*plan, PlanToProto(*plan, spec.tenant())};
  NoticeRulesToProto(rules, start, &out.proto);
  if (spec_out != nullptr) {
    *spec_out = spec;
    *spec_out->mutable_start() = TimeToProto(campaign.start);
  }
  return out;
}

void CampaignDesk::set_stats(CampaignStats* stats) {
  stats_ = stats;
  if (stats_ == nullptr) return;
  for (std::string_view kind : kNoticeKinds) stats_->campaign_notices_total.With({kind});
}

absl::Status CampaignDesk::Notify(v1::CampaignNotice notice) {
  *notice.mutable_at() = TimeToProto(clock_.Now());
  TACT_RETURN_IF_ERROR(store_.AddNotice(notice));
  TACT_RETURN_IF_ERROR(notices_.Publish(notice));
  if (stats_ != nullptr) stats_->campaign_notices_total.Inc({notice.kind()});
  return absl::OkStatus();
}

absl::Status CampaignDesk::NotifyChange(v1::CampaignNotice notice) {
  TACT_ASSIGN_OR_RETURN(std::vector<v1::CampaignNotice> earlier, store_.ListNotices(notice.tenant()));
  *notice.mutable_change() = DiffNotice(LastPlanNotice(earlier, notice.campaign_id()), notice);
  return Notify(std::move(notice));
}

absl::StatusOr<v1::CampaignPlan> CampaignDesk::Plan(const v1::CampaignSpec& spec) {
  TACT_ASSIGN_OR_RETURN(Planned p, PlanAgainstStore(spec));
  return p.proto;
}

absl::StatusOr<v1::CampaignPlan> CampaignDesk::Propose(const v1::CampaignSpec& spec) {
  v1::CampaignSpec planned;
  TACT_ASSIGN_OR_RETURN(Planned p, PlanAgainstStore(spec, &planned));
  TACT_RETURN_IF_ERROR(NotifyChange(PlanNotice(planned, p.plan, p.proto, "PROPOSED")));
  return p.proto;
}

absl::StatusOr<v1::Campaign> CampaignDesk::Release(const v1::CampaignSpec& spec) {
  TACT_ASSIGN_OR_RETURN(std::optional<v1::Campaign> existing, store_.GetCampaign(spec.tenant(), spec.campaign_id()));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "campaign '", spec.campaign_id(), "' already ",
        existing->state() == v1::CAMPAIGN_CANCELLED ? "released and cancelled; release it under a new campaign_id"
                                                    : "released"));
  }
  v1::CampaignSpec planned;
  TACT_ASSIGN_OR_RETURN(Planned p, PlanAgainstStore(spec, &planned));
  if (p.plan.verdict == capacity::Verdict::kReject) {
    return absl::FailedPreconditionError(absl::StrCat("campaign rejected: ", p.plan.reason));
  }
  v1::Campaign c;
  *c.mutable_spec() = planned;
  *c.mutable_plan() = p.proto;
  c.set_state(v1::CAMPAIGN_RELEASED);
  *c.mutable_released_at() = TimeToProto(clock_.Now());
  *c.mutable_committed_start() = TimeToProto(p.plan.load.start);
  *c.mutable_committed_calls() = {p.plan.load.calls.begin(), p.plan.load.calls.end()};
  TACT_RETURN_IF_ERROR(store_.PutCampaign(c, /*create=*/true));
  TACT_RETURN_IF_ERROR(NotifyChange(PlanNotice(planned, p.plan, p.proto, "RELEASED")));
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

absl::StatusOr<v1::Campaign> CampaignDesk::Get(std::string_view tenant, std::string_view campaign_id) {
  TACT_ASSIGN_OR_RETURN(v1::Campaign c, Released(tenant, campaign_id));
  TACT_ASSIGN_OR_RETURN(*c.mutable_figures(), Figures(c, clock_.Now()));
  return c;
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
  const std::shared_ptr<const policy::Policy> pol = policies_();
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

absl::StatusOr<v1::Campaign> CampaignDesk::Acknowledge(std::string_view tenant, std::string_view campaign_id,
                                                       const std::string& acknowledged_by) {
  TACT_RETURN_IF_ERROR(ValidId(acknowledged_by, "acknowledged_by"));
  TACT_ASSIGN_OR_RETURN(v1::Campaign c, Released(tenant, campaign_id));
  if (c.state() == v1::CAMPAIGN_CANCELLED) {
    return absl::FailedPreconditionError(absl::StrCat("campaign '", AsAbsl(campaign_id), "' is cancelled"));
  }
  v1::CampaignNotice n;
  n.set_tenant(std::string(tenant));
  n.set_campaign_id(std::string(campaign_id));
  n.set_kind("ACKNOWLEDGED");
  n.set_acknowledged_by(acknowledged_by);
  if (!c.acknowledged()) TACT_RETURN_IF_ERROR(ReplanAfterLateAcknowledgement(&c, &n));
  c.set_acknowledged(true);
  c.set_acknowledged_by(acknowledged_by);
  *c.mutable_acknowledged_at() = TimeToProto(clock_.Now());
  TACT_RETURN_IF_ERROR(store_.PutCampaign(c, /*create=*/false));
  TACT_RETURN_IF_ERROR(n.schedule_size() > 0 ? NotifyChange(n) : Notify(n));
  return c;
}

absl::Status CampaignDesk::ReplanAfterLateAcknowledgement(v1::Campaign* c, v1::CampaignNotice* notice) {
  const absl::Time now = clock_.Now();
  const v1::CampaignPlan& old = c->plan();
  if (!old.waits_for_acknowledgement() || old.schedule_size() == 0) return absl::OkStatus();
  const absl::Time first = TimeFromProto(old.schedule(0).start());
  if (IntervalStart(first) >= IntervalStart(now)) return absl::OkStatus();  // in time: nothing was due yet
  // Nothing was sent (the gate waits for this acknowledgement), so the whole schedule can move.
  v1::CampaignSpec spec = c->spec();
  *spec.mutable_start() = TimeToProto(now);
  spec.set_start_earliest(true);
  v1::CampaignSpec planned;
  absl::StatusOr<Planned> p = PlanAgainstStore(spec, &planned, TimeFromProto(c->released_at()));
  if (!p.ok() || p->plan.verdict == capacity::Verdict::kReject) {
    notice->set_reason(absl::StrCat("acknowledged after the first batch was due (", GateTime(first),
                                    "): batches due before now are not sent, and re-planning from now failed (",
                                    p.ok() ? p->plan.reason : std::string(p.status().message()),
                                    "); re-plan the campaign"));
    return absl::OkStatus();
  }
  *c->mutable_spec() = planned;
  *c->mutable_plan() = p->proto;
  *c->mutable_committed_start() = TimeToProto(p->plan.load.start);
  *c->mutable_committed_calls() = {p->plan.load.calls.begin(), p->plan.load.calls.end()};
  v1::CampaignNotice moved = PlanNotice(planned, p->plan, p->proto, "ACKNOWLEDGED");
  moved.set_acknowledged_by(notice->acknowledged_by());
  moved.set_reason(absl::StrCat("acknowledged after the first batch was due (", GateTime(first),
                                "): the schedule moves to start ", GateTime(p->plan.first_send), "; ",
                                p->plan.reason));
  *notice = std::move(moved);
  return absl::OkStatus();
}

absl::StatusOr<v1::Campaign> CampaignDesk::Resume(std::string_view tenant, std::string_view campaign_id) {
  TACT_ASSIGN_OR_RETURN(v1::Campaign c, Released(tenant, campaign_id));
  if (c.state() != v1::CAMPAIGN_PAUSED) {
    return absl::FailedPreconditionError(absl::StrCat("campaign '", AsAbsl(campaign_id), "' is not paused"));
  }
  c.set_state(v1::CAMPAIGN_RELEASED);
  c.clear_pause_reason();
  // From now on the pause thresholds apply to what happens after this resume.
  TACT_ASSIGN_OR_RETURN(*c.mutable_figures_at_resume(), Figures(c, clock_.Now()));
  TACT_RETURN_IF_ERROR(store_.PutCampaign(c, /*create=*/false));
  v1::CampaignNotice n;
  n.set_tenant(std::string(tenant));
  n.set_campaign_id(std::string(campaign_id));
  n.set_kind("RESUMED");
  TACT_RETURN_IF_ERROR(Notify(n));
  return c;
}

absl::StatusOr<std::vector<v1::CampaignNotice>> CampaignDesk::ListNotices(std::string_view tenant,
                                                                          std::string_view campaign_id) {
  TACT_RETURN_IF_ERROR(ValidId(std::string(tenant), "tenant"));
  TACT_ASSIGN_OR_RETURN(std::vector<v1::CampaignNotice> all, store_.ListNotices(tenant));
  std::vector<v1::CampaignNotice> out;
  for (v1::CampaignNotice& n : all) {
    if (campaign_id.empty() || n.campaign_id() == campaign_id) out.push_back(std::move(n));
  }
  return out;
}

}  // namespace tact::campaign
