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

// tact.v1.Capacity and tact.v1.Campaigns on the CallQueues: authenticate and check the tenant (CallGate) on the
// queue's thread, then run CampaignDesk on the workers and finish from there. Thread-safety: the queues' threads.
class CapacityService final {
 public:
  CapacityService(campaign::CampaignDesk& desk, CallGate& gate, CapacityWorkers& workers)
      : desk_(desk), gate_(gate), workers_(workers) {}
  // Registers the service on `builder` and its methods on `queues` (before the server is built).
  void Register(grpc::ServerBuilder& builder, CallQueues& queues);
  void PutStaffing(grpc::ServerContext* ctx, const v1::PutStaffingRequest* request, v1::PutStaffingResponse* response,
                   UnaryReactor* reactor);

 private:
  v1::Capacity::AsyncService async_;
  campaign::CampaignDesk& desk_;
  CallGate& gate_;
  CapacityWorkers& workers_;
};

class CampaignsService final {
 public:
  CampaignsService(campaign::CampaignDesk& desk, CallGate& gate, CapacityWorkers& workers)
      : desk_(desk), gate_(gate), workers_(workers) {}
  void Register(grpc::ServerBuilder& builder, CallQueues& queues);
  void PlanCampaign(grpc::ServerContext* ctx, const v1::PlanCampaignRequest* request, v1::CampaignPlan* response,
                    UnaryReactor* reactor);
  void ReleaseCampaign(grpc::ServerContext* ctx, const v1::ReleaseCampaignRequest* request, v1::Campaign* response,
                       UnaryReactor* reactor);
  void GetCampaign(grpc::ServerContext* ctx, const v1::GetCampaignRequest* request, v1::Campaign* response,
                   UnaryReactor* reactor);
  void AcknowledgeCampaign(grpc::ServerContext* ctx, const v1::AcknowledgeCampaignRequest* request,
                           v1::Campaign* response, UnaryReactor* reactor);
  void ListNotices(grpc::ServerContext* ctx, const v1::ListNoticesRequest* request, v1::ListNoticesResponse* response,
                   UnaryReactor* reactor);
  void ResumeCampaign(grpc::ServerContext* ctx, const v1::ResumeCampaignRequest* request, v1::Campaign* response,
                      UnaryReactor* reactor);
  void ProposeCampaign(grpc::ServerContext* ctx, const v1::ProposeCampaignRequest* request, v1::CampaignPlan* response,
                       UnaryReactor* reactor);
  void CancelCampaign(grpc::ServerContext* ctx, const v1::CancelCampaignRequest* request, v1::Campaign* response,
                      UnaryReactor* reactor);

 private:
  v1::Campaigns::AsyncService async_;
  campaign::CampaignDesk& desk_;
  CallGate& gate_;
  CapacityWorkers& workers_;
};

}  // namespace tact::api
