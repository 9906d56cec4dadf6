#include "daemon/api/capacity_service.h"

#include "daemon/capacity/plan.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/status_macros.h"

namespace tact::api {

CapacityWorkers::CapacityWorkers(int threads, size_t max_queue) : max_queue_(max_queue) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Work(); });
  }
}

CapacityWorkers::~CapacityWorkers() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) {
    t.join();
  }
}

bool CapacityWorkers::Submit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= max_queue_) {
    return false;
  }
  queue_.push_back(std::move(task));
  return true;
}

void CapacityWorkers::Work() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](CapacityWorkers* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) { return w->stopping_ || !w->queue_.empty(); },
          this));
      if (queue_.empty()) {
        return;  // stopping and drained
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

namespace {

// Enters the gate, checks the tenant, runs `work` (returning StatusOr<Resp>) on the workers and finishes there.
template <typename Resp, typename Work>
void Handle(grpc::ServerContext* ctx, UnaryReactor* reactor, CallGate& gate, CapacityWorkers& workers,
            const char* method, const std::string& tenant, std::string_view tenant_field, Resp* response, Work work) {
  CallGate::Call call = gate.Begin(method);
  absl::Status s = gate.Enter(ctx, call);
  if (s.ok()) s = gate.CheckTenant(call, tenant, tenant_field);
  if (!s.ok()) {
    gate.Finish(reactor, ctx, call, s);
    return;
  }
  const bool accepted = workers.Submit([&gate, reactor, ctx, call, response, work = std::move(work)] {
    absl::StatusOr<Resp> r = work();
    if (r.ok()) {
      *response = *std::move(r);
    }
    gate.Finish(reactor, ctx, call, r.status());
  });
  if (!accepted) {
    gate.Finish(reactor, ctx, call, absl::ResourceExhaustedError("server busy: campaign queue full"));
  }
}

absl::StatusOr<v1::PutStaffingResponse> StaffingResponse(absl::StatusOr<capacity::Staffing> staffing) {
  if (!staffing.ok()) return staffing.status();
  v1::PutStaffingResponse resp;
  resp.set_intervals(static_cast<int32_t>(staffing->intervals.size()));
  *resp.mutable_start() = TimeToProto(staffing->intervals.front().start);
  *resp.mutable_end() = TimeToProto(staffing->intervals.back().start + capacity::kIntervalLength);
  return resp;
}

absl::StatusOr<v1::ListNoticesResponse> NoticesResponse(absl::StatusOr<std::vector<v1::CampaignNotice>> notices) {
  if (!notices.ok()) return notices.status();
  v1::ListNoticesResponse resp;
  for (v1::CampaignNotice& n : *notices) *resp.add_notices() = std::move(n);
  return resp;
}

}  // namespace

void CapacityService::Register(grpc::ServerBuilder& builder, CallQueues& queues) {
  builder.RegisterService(&async_);
  queues.Add(&async_, &v1::Capacity::AsyncService::RequestPutStaffing,
             CallQueues::Bind(this, &CapacityService::PutStaffing));
}

void CampaignsService::Register(grpc::ServerBuilder& builder, CallQueues& queues) {
  using S = v1::Campaigns::AsyncService;
  builder.RegisterService(&async_);
  queues.Add(&async_, &S::RequestPlanCampaign, CallQueues::Bind(this, &CampaignsService::PlanCampaign));
  queues.Add(&async_, &S::RequestProposeCampaign, CallQueues::Bind(this, &CampaignsService::ProposeCampaign));
  queues.Add(&async_, &S::RequestReleaseCampaign, CallQueues::Bind(this, &CampaignsService::ReleaseCampaign));
  queues.Add(&async_, &S::RequestGetCampaign, CallQueues::Bind(this, &CampaignsService::GetCampaign));
  queues.Add(&async_, &S::RequestAcknowledgeCampaign, CallQueues::Bind(this, &CampaignsService::AcknowledgeCampaign));
  queues.Add(&async_, &S::RequestListNotices, CallQueues::Bind(this, &CampaignsService::ListNotices));
  queues.Add(&async_, &S::RequestResumeCampaign, CallQueues::Bind(this, &CampaignsService::ResumeCampaign));
  queues.Add(&async_, &S::RequestCancelCampaign, CallQueues::Bind(this, &CampaignsService::CancelCampaign));
}

void CapacityService::PutStaffing(grpc::ServerContext* ctx, const v1::PutStaffingRequest* request,
                                  v1::PutStaffingResponse* response, UnaryReactor* reactor) {
  Handle(ctx, reactor, gate_, workers_, "PutStaffing", request->tenant(), "tenant", response,
         [this, request] { return StaffingResponse(desk_.PutStaffing(*request)); });
}

void CampaignsService::PlanCampaign(grpc::ServerContext* ctx, const v1::PlanCampaignRequest* request,
                                    v1::CampaignPlan* response, UnaryReactor* reactor) {
  Handle(ctx, reactor, gate_, workers_, "PlanCampaign", request->campaign().tenant(), "campaign.tenant", response,
         [this, request]() -> absl::StatusOr<v1::CampaignPlan> {
           TACT_RETURN_IF_ERROR(campaign::Required(request->has_campaign(), "campaign"));
           return desk_.Plan(request->campaign());
         });
}

void CampaignsService::ReleaseCampaign(grpc::ServerContext* ctx, const v1::ReleaseCampaignRequest* request,
                                       v1::Campaign* response, UnaryReactor* reactor) {
  Handle(ctx, reactor, gate_, workers_, "ReleaseCampaign", request->campaign().tenant(), "campaign.tenant", response,
         [this, request]() -> absl::StatusOr<v1::Campaign> {
           TACT_RETURN_IF_ERROR(campaign::Required(request->has_campaign(), "campaign"));
           return desk_.Release(request->campaign());
         });
}

void CampaignsService::GetCampaign(grpc::ServerContext* ctx, const v1::GetCampaignRequest* request,
                                   v1::Campaign* response, UnaryReactor* reactor) {
  Handle(ctx, reactor, gate_, workers_, "GetCampaign", request->tenant(), "tenant", response,
         [this, request] { return desk_.Get(request->tenant(), request->campaign_id()); });
}

void CampaignsService::AcknowledgeCampaign(grpc::ServerContext* ctx, const v1::AcknowledgeCampaignRequest* request,
                                           v1::Campaign* response, UnaryReactor* reactor) {
  Handle(ctx, reactor, gate_, workers_, "AcknowledgeCampaign", request->tenant(), "tenant", response,
         [this, request] {
           return desk_.Acknowledge(request->tenant(), request->campaign_id(), request->acknowledged_by());
         });
}

void CampaignsService::ListNotices(grpc::ServerContext* ctx, const v1::ListNoticesRequest* request,
                                   v1::ListNoticesResponse* response, UnaryReactor* reactor) {
  Handle(ctx, reactor, gate_, workers_, "ListNotices", request->tenant(), "tenant", response,
         [this, request] {
           return NoticesResponse(desk_.ListNotices(request->tenant(), request->campaign_id()));
         });
}

void CampaignsService::ResumeCampaign(grpc::ServerContext* ctx, const v1::ResumeCampaignRequest* request,
                                      v1::Campaign* response, UnaryReactor* reactor) {
  Handle(ctx, reactor, gate_, workers_, "ResumeCampaign", request->tenant(), "tenant", response,
         [this, request] { return desk_.Resume(request->tenant(), request->campaign_id()); });
}

void CampaignsService::ProposeCampaign(grpc::ServerContext* ctx, const v1::ProposeCampaignRequest* request,
                                       v1::CampaignPlan* response, UnaryReactor* reactor) {
  Handle(ctx, reactor, gate_, workers_, "ProposeCampaign", request->campaign().tenant(), "campaign.tenant", response,
         [this, request]() -> absl::StatusOr<v1::CampaignPlan> {
           TACT_RETURN_IF_ERROR(campaign::Required(request->has_campaign(), "campaign"));
           return desk_.Propose(request->campaign());
         });
}

void CampaignsService::CancelCampaign(grpc::ServerContext* ctx, const v1::CancelCampaignRequest* request,
                                      v1::Campaign* response, UnaryReactor* reactor) {
  Handle(ctx, reactor, gate_, workers_, "CancelCampaign", request->tenant(), "tenant", response, [this, request] {
    return desk_.Cancel(request->tenant(), request->campaign_id(), request->cancelled_by(), request->reason());
  });
}

}  // namespace tact::api
