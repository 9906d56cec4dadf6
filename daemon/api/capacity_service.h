#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "daemon/campaign/desk.h"
#include "daemon/api/throttle_service.h"
#include "tact/v1/capacity.grpc.pb.h"

namespace tact::api {

// A small pool for the campaign gate's blocking work (Redis, Kafka notices), so planners never occupy the
// DecisionExecutor's threads. Submit() refuses work past `max_queue`. Thread-safety: any thread; the
// destructor runs what is queued, then joins.
class CapacityWorkers {
 public:
  CapacityWorkers(int threads, size_t max_queue);
  ~CapacityWorkers();
  CapacityWorkers(const CapacityWorkers&) = delete;
  CapacityWorkers& operator=(const CapacityWorkers&) = delete;
  bool Submit(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Work();
  const size_t max_queue_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// tact.v1.Capacity and tact.v1.Campaigns over gRPC's callback API: authenticate and check the tenant (CallGate),
// then run CampaignDesk on the workers and finish from there. Thread-safety: gRPC threads.
class CapacityService final : public v1::Capacity::CallbackService {
 public:
  CapacityService(campaign::CampaignDesk& desk, CallGate& gate, CapacityWorkers& workers)
      : desk_(desk), gate_(gate), workers_(workers) {}
  grpc::ServerUnaryReactor* PutStaffing(grpc::CallbackServerContext* ctx, const v1::PutStaffingRequest* request,
                                        v1::PutStaffingResponse* response) override;

 private:
  campaign::CampaignDesk& desk_;
  CallGate& gate_;
  CapacityWorkers& workers_;
};

class CampaignsService final : public v1::Campaigns::CallbackService {
 public:
  CampaignsService(campaign::CampaignDesk& desk, CallGate& gate, CapacityWorkers& workers)
      : desk_(desk), gate_(gate), workers_(workers) {}
  grpc::ServerUnaryReactor* PlanCampaign(grpc::CallbackServerContext* ctx, const v1::PlanCampaignRequest* request,
                                         v1::CampaignPlan* response) override;
  grpc::ServerUnaryReactor* ReleaseCampaign(grpc::CallbackServerContext* ctx,
                                            const v1::ReleaseCampaignRequest* request,
                                            v1::Campaign* response) override;
  grpc::ServerUnaryReactor* GetCampaign(grpc::CallbackServerContext* ctx, const v1::GetCampaignRequest* request,
                                        v1::Campaign* response) override;
  grpc::ServerUnaryReactor* AcknowledgeCampaign(grpc::CallbackServerContext* ctx,
                                                const v1::AcknowledgeCampaignRequest* request,
                                                v1::Campaign* response) override;
  grpc::ServerUnaryReactor* ListNotices(grpc::CallbackServerContext* ctx, const v1::ListNoticesRequest* request,
                                        v1::ListNoticesResponse* response) override;
  grpc::ServerUnaryReactor* ResumeCampaign(grpc::CallbackServerContext* ctx, const v1::ResumeCampaignRequest* request,
                                           v1::Campaign* response) override;
  grpc::ServerUnaryReactor* ProposeCampaign(grpc::CallbackServerContext* ctx,
                                            const v1::ProposeCampaignRequest* request,
                                            v1::CampaignPlan* response) override;
  grpc::ServerUnaryReactor* CancelCampaign(grpc::CallbackServerContext* ctx, const v1::CancelCampaignRequest* request,
                                           v1::Campaign* response) override;

 private:
  campaign::CampaignDesk& desk_;
  CallGate& gate_;
  CapacityWorkers& workers_;
};

}  // namespace tact::api
