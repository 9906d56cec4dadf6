#pragma once

// The campaign gate's service logic, transport-free: validate requests into capacity types (errors name the
// field), read staffing and released campaigns from the store, plan (pure, daemon/capacity), record, notify.
// gRPC services (capacity_service.h) are thin shells over it.
#include <memory>

#include "absl/status/statusor.h"
#include "daemon/capacity/plan.h"
#include "daemon/core/clock.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/decision/signal_intake.h"
#include "daemon/store/capacity_store.h"
#include "tact/v1/capacity.pb.h"

namespace tact::api {

inline constexpr char kCampaignNoticesTopic[] = "tact.campaign-notices";

// Where campaign notices go (Kafka topic tact.campaign-notices in tactd). Thread-safety: any thread.
class NoticeSink {
 public:
  virtual ~NoticeSink() = default;
  virtual absl::Status Publish(const v1::CampaignNotice& notice) = 0;
};

// Conversions (pure). Errors: INVALID_ARGUMENT with the field path, e.g. "intervals[3].aht_seconds: ...".
absl::StatusOr<capacity::Staffing> StaffingFromProto(const v1::PutStaffingRequest& req);
v1::StaffingInterval StaffingIntervalToProto(const capacity::StaffingInterval& si);
absl::StatusOr<capacity::CampaignSpec> CampaignFromProto(const v1::CampaignSpec& spec, std::string_view prefix);
v1::CampaignPlan PlanToProto(const capacity::CampaignPlan& plan, std::string_view tenant);

// The plan's predicted contacts of a campaign up to `now` (the current interval counted pro rata).
double PredictedContactsBy(const v1::CampaignPlan& plan, absl::Time now);

// Thread-safety: any thread (blocking: store and sink I/O). Not for gRPC callback threads.
// Also the contact centre's feedback loop (decision::CampaignFeedback): SignalIntake hands it every signal that
// names a campaign; CONTACT, COMPLAINT_OPENED and CSAT each count as a contact (a complaint or a CSAT answer is
// the customer talking to the centre), COMPLAINT_OPENED also as a complaint; other kinds are not counted. When a
// gate's `pause_when` threshold is passed the campaign is PAUSED (its gated messages are deferred), a PAUSED
// notice carries the reason and figures, and ResumeCampaign lifts it.
class CampaignDesk final : public decision::CampaignFeedback {
 public:
  CampaignDesk(store::CapacityStore& store, NoticeSink& notices, const Clock& clock)
      : store_(store), notices_(notices), clock_(clock) {}

  absl::StatusOr<v1::PutStaffingResponse> PutStaffing(const v1::PutStaffingRequest& req);
  absl::StatusOr<v1::CampaignPlan> Plan(const v1::PlanCampaignRequest& req);
  absl::StatusOr<v1::Campaign> Release(const v1::ReleaseCampaignRequest& req);
  absl::StatusOr<v1::Campaign> Get(const v1::GetCampaignRequest& req);
  absl::StatusOr<v1::Campaign> Acknowledge(const v1::AcknowledgeCampaignRequest& req);
  absl::StatusOr<v1::Campaign> Resume(const v1::ResumeCampaignRequest& req);
  absl::StatusOr<v1::ListNoticesResponse> ListNotices(const v1::ListNoticesRequest& req);

  // Campaign gates (pause thresholds) come from the loaded policy; without policies feedback is counted, never
  // acted on. Set before serving.
  void set_policies(const decision::PolicyHolder* policies) { policies_ = policies; }
  absl::Status OnCampaignSignal(const v1::Signal& signal, absl::Time now) override;

 private:
  struct Planned {
    capacity::CampaignPlan plan;
    v1::CampaignPlan proto;
  };
  absl::StatusOr<Planned> PlanAgainstStore(const v1::CampaignSpec& spec);
  absl::Status Notify(v1::CampaignNotice notice);
  absl::StatusOr<v1::Campaign> Released(std::string_view tenant, std::string_view campaign_id);
  absl::StatusOr<v1::CampaignFigures> Figures(const v1::Campaign& c, absl::Time now);

  store::CapacityStore& store_;
  NoticeSink& notices_;
  const Clock& clock_;
  const decision::PolicyHolder* policies_ = nullptr;
};

}  // namespace tact::api
