#pragma once

// The campaign desk, transport-free: validate requests into capacity types (errors name the field), read
// staffing and released campaigns from the campaign repository (store::CapacityStore), plan (pure,
// daemon/capacity), record, and send notices through the notice port. The gRPC services
// (api/capacity_service.h) are thin shells over it.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/campaign/campaign_stats.h"
#include "daemon/campaign/feedback.h"
#include "daemon/campaign/notice_port.h"
#include "daemon/campaign/records.h"
#include "daemon/capacity/plan.h"
#include "daemon/core/clock.h"
#include "daemon/policy/policy.h"
#include "daemon/store/capacity_store.h"
#include "tact/v1/capacity.pb.h"

namespace tact::campaign {

// The active policy (decision::PolicyHolder::Get in tactd); nullptr when none is loaded.
using PolicySource = std::function<std::shared_ptr<const policy::Policy>()>;

// Thread-safety: any thread (blocking: store and notice I/O). Not for gRPC callback threads.
// Also the contact centre's feedback loop (CampaignFeedback): decision::SignalIntake hands it every signal that
// names a campaign; CONTACT, COMPLAINT_OPENED and CSAT each count as a contact (a complaint or a CSAT answer is
// the customer talking to the centre), COMPLAINT_OPENED also as a complaint; other kinds are not counted. When a
// gate's `pause_when` threshold is passed the campaign is PAUSED (its gated messages are deferred), a PAUSED
// notice carries the reason and figures, and ResumeCampaign lifts it.
class CampaignDesk final : public CampaignFeedback {
 public:
  CampaignDesk(store::CapacityStore& store, NoticePort& notices, const Clock& clock)
      : store_(store), notices_(notices), clock_(clock) {}

  // The desk's records are the v1 messages the repository stores (staffing, campaign spec, plan, campaign,
  // notice). Errors: INVALID_ARGUMENT naming the field as the Capacity and Campaigns APIs name it ("tenant",
  // "intervals[3].aht_seconds", "campaign.audience", "acknowledged_by"); FAILED_PRECONDITION (no staffing,
  // rejected, not paused), ALREADY_EXISTS, NOT_FOUND; the store's and the notice port's errors as they are.

  // Validates and stores a tenant's staffing; returns it as the planner reads it.
  absl::StatusOr<capacity::Staffing> PutStaffing(const v1::PutStaffingRequest& staffing);
  // Plans `spec` against the stored staffing and the released campaigns, under the gate's notice rules for a
  // release now (notice_rules.h): a what-if, it records and sends nothing.
  absl::StatusOr<v1::CampaignPlan> Plan(const v1::CampaignSpec& spec);
  // Plans and tells the contact centre: a PROPOSED notice (any verdict) with what changed since the campaign's
  // previous notice (notices.h). Commits nothing.
  absl::StatusOr<v1::CampaignPlan> Propose(const v1::CampaignSpec& spec);
  // Plans and, unless rejected, records the campaign as released (its load committed); a RELEASED notice with
  // what changed since the previous one.
  absl::StatusOr<v1::Campaign> Release(const v1::CampaignSpec& spec);
  // Cancels a released or paused campaign: state CANCELLED (the gate holds its messages), committed load cut to
  // the contacts of the messages released so far (SentLoad), a CANCELLED notice. Idempotent for the same
  // cancelled_by and reason; errors name the field ("campaign_id: ...", "cancelled_by: required").
  absl::StatusOr<v1::Campaign> Cancel(std::string_view tenant, std::string_view campaign_id,
                                      const std::string& cancelled_by, const std::string& reason);
  // A released campaign with its current figures.
  absl::StatusOr<v1::Campaign> Get(std::string_view tenant, std::string_view campaign_id);
  // The contact centre has heard. A late first acknowledgement of a plan that waits for it (its first batch was
  // due before now, so the gate held everything) moves the schedule: re-planned from now (and not before the
  // notice period ends) against the other campaigns; the ACKNOWLEDGED notice then carries the new schedule and
  // its change. When that re-plan is a REJECT the plan stays and the notice's reason says so.
  absl::StatusOr<v1::Campaign> Acknowledge(std::string_view tenant, std::string_view campaign_id,
                                           const std::string& acknowledged_by);
  absl::StatusOr<v1::Campaign> Resume(std::string_view tenant, std::string_view campaign_id);
  // The tenant's notices, oldest first; `campaign_id` empty: every campaign's.
  absl::StatusOr<std::vector<v1::CampaignNotice>> ListNotices(std::string_view tenant, std::string_view campaign_id);

  // Campaign gates (pause thresholds) come from the loaded policy; without policies feedback is counted, never
  // acted on. Set before serving.
  void set_policies(PolicySource policies) { policies_ = std::move(policies); }
  // Counts every notice published, by kind (borrowed; nullptr: not counted); creates each kind's series at 0. Set
  // before serving.
  void set_stats(CampaignStats* stats);
  absl::Status OnCampaignSignal(const v1::Signal& signal, absl::Time now) override;

 private:
  struct Planned {
    capacity::CampaignPlan plan;
    v1::CampaignPlan proto;
  };
  // `spec_out` (may be null): the spec as planned (start moved by start_earliest).
  // `release_at`: when the notice period starts (default now).
  absl::StatusOr<Planned> PlanAgainstStore(const v1::CampaignSpec& spec, v1::CampaignSpec* spec_out = nullptr,
                                           std::optional<absl::Time> release_at = std::nullopt);
  // Acknowledge's late case; `notice` is the ACKNOWLEDGED notice to send.
  absl::Status ReplanAfterLateAcknowledgement(v1::Campaign* c, v1::CampaignNotice* notice);
  absl::Status Notify(v1::CampaignNotice notice);
  // Notify with `notice.change` against the campaign's previous plan-carrying notice.
  absl::Status NotifyChange(v1::CampaignNotice notice);
  absl::StatusOr<v1::Campaign> Released(std::string_view tenant, std::string_view campaign_id);
  absl::StatusOr<v1::CampaignFigures> Figures(const v1::Campaign& c, absl::Time now);

  store::CapacityStore& store_;
  NoticePort& notices_;
  const Clock& clock_;
  PolicySource policies_;
  CampaignStats* stats_ = nullptr;
};

}  // namespace tact::campaign
