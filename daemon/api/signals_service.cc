#include "daemon/api/signals_service.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/event.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"

namespace tact::api {

void SignalsService::Register(grpc::ServerBuilder& builder, CallQueues& queues) {
  builder.RegisterService(&async_);
  queues.Add(&async_, &v1::Signals::AsyncService::RequestPutSignal, CallQueues::Bind(this, &SignalsService::PutSignal));
  queues.Add(&async_, &v1::Signals::AsyncService::RequestGetCustomerState,
             CallQueues::Bind(this, &SignalsService::GetCustomerState));
}

void SignalsService::PutSignal(grpc::ServerContext* ctx, const v1::PutSignalRequest* request, v1::PutSignalResponse*,
                               UnaryReactor* reactor) {
  CallGate::Call call = gate_.Begin("PutSignal");
  if (absl::Status s = gate_.Enter(ctx, call); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return;
  }
  if (!request->has_signal()) {
    gate_.Finish(reactor, ctx, call, absl::InvalidArgumentError("signal: required"));
    return;
  }
  // Refuse a bad signal or another client's tenant on the gRPC thread, before any store work.
  const absl::Time now = gate_.clock().Now();
  bool writes_customer = false;
  if (absl::StatusOr<policy::Signal> parsed =
          decision::SignalFromProto(request->signal(), now, "signal.", &writes_customer);
      !parsed.ok()) {
    gate_.Finish(reactor, ctx, call, parsed.status());
    return;
  }
  if (absl::Status s = gate_.CheckTenant(call, request->signal().tenant(), "signal.tenant"); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return;
  }
  const absl::Time deadline = StoreDeadline(ctx, gate_.clock(), options_.default_deadline);
  const bool accepted = executor_.Run([this, reactor, ctx, request, call, deadline] {
    const absl::Time at = gate_.clock().Now();
    gate_.Finish(reactor, ctx, call,
                 intake_.Put(request->signal(), at, CappedStoreDeadline(deadline, at, options_.store_deadline),
                             "signal."));
  });
  if (!accepted) {
    gate_.Finish(reactor, ctx, call, DecisionQueueFull());
  }
}

void SignalsService::GetCustomerState(grpc::ServerContext* ctx, const v1::GetCustomerStateRequest* request,
                                      v1::CustomerState* response, UnaryReactor* reactor) {
  CallGate::Call call = gate_.Begin("GetCustomerState");
  if (absl::Status s = gate_.Enter(ctx, call); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return;
  }
  if (absl::Status s = decision::ValidateCustomerStateRequest(*request); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return;
  }
  if (absl::Status s = gate_.CheckTenant(call, request->tenant(), "tenant"); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return;
  }
  const std::shared_ptr<const policy::Policy> policy = policies_.Get();
  if (policy == nullptr) {
    gate_.Finish(reactor, ctx, call, absl::FailedPreconditionError("no policy loaded"));
    return;
  }
  const absl::Time deadline = StoreDeadline(ctx, gate_.clock(), options_.default_deadline);
  const bool accepted = executor_.Run([this, reactor, ctx, request, response, call, deadline, policy] {
    const absl::Time now = gate_.clock().Now();
    absl::StatusOr<v1::CustomerState> state =
        reader_.Read(*policy, *request, now, CappedStoreDeadline(deadline, now, options_.store_deadline));
    if (state.ok()) *response = *std::move(state);
    gate_.Finish(reactor, ctx, call, state.status());
  });
  if (!accepted) {
    gate_.Finish(reactor, ctx, call, DecisionQueueFull());
  }
}

}  // namespace tact::api
