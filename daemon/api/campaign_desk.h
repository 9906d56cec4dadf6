#pragma once

// The campaign gate's service logic, transport-free: validate requests into capacity types (errors name the
// field), read staffing and released campaigns from the store, plan (pure, daemon/capacity), record, notify.
// gRPC services (capacity_service.h) are thin shells over it.
#include <memory>

#include "absl/status/statusor.h"
#include "daemon/capacity/plan.h"
#include "daemon/core/clock.h"
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

// Thread-safety: any thread (blocking: store and sink I/O). Not for gRPC callback threads.
class CampaignDesk {
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

 private:
  struct Planned {
    capacity::CampaignPlan plan;
    v1::CampaignPlan proto;
  };
  absl::StatusOr<Planned> PlanAgainstStore(const v1::CampaignSpec& spec);
  absl::Status Notify(v1::CampaignNotice notice);
  absl::StatusOr<v1::Campaign> Released(std::string_view tenant, std::string_view campaign_id);

  store::CapacityStore& store_;
  NoticeSink& notices_;
  const Clock& clock_;
};

}  // namespace tact::api
