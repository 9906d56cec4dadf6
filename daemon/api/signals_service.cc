#include "daemon/api/signals_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/core/event.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"
#include "daemon/decision/store_spec.h"

namespace tact::api {

std::vector<store::CounterFamily> CounterFamilies(const policy::Policy& policy, std::string_view tenant) {
  std::vector<store::CounterFamily> out;
  for (const policy::Rule& rule : policy.rules) {
    if (!rule.limit) continue;
    const std::vector<std::string>& tenants = rule.match.tenants;
    if (!tenants.empty() && std::find(tenants.begin(), tenants.end(), tenant) == tenants.end()) continue;
    const bool rolling = rule.limit->kind == policy::WindowKind::kRolling;
    out.push_back({.rule_id = rule.id,
                   .prefix = absl::StrCat(rolling ? "r:" : "c:", rule.id),
                   .kind = decision::ToStoreKind(rule.limit->kind),
                   .window = rule.limit->window});
  }
  return out;
}

absl::Status ValidateCustomerStateRequest(const v1::GetCustomerStateRequest& request) {
  if (absl::Status s = CheckTenantId("tenant", request.tenant()); !s.ok()) return s;
  if (request.customer_id().empty()) return absl::InvalidArgumentError("customer_id: required");
  if (request.customer_id().size() > kMaxIdLength) {
    return absl::InvalidArgumentError(absl::StrCat("customer_id: longer than ", kMaxIdLength, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::CustomerState> ReadCustomerState(const policy::Policy& policy, store::CounterStore& store,
                                                    const CustomerHasher& hasher,
                                                    const v1::GetCustomerStateRequest& request, absl::Time now,
                                                    absl::Time deadline) {
  if (absl::Status s = ValidateCustomerStateRequest(request); !s.ok()) return s;
  const store::CustomerRead read{.tenant = request.tenant(),
                                 .customer_id = request.customer_id(),
                                 .now = now,
                                 .families = CounterFamilies(policy, request.tenant())};
  absl::StatusOr<store::CustomerState> state = store.ReadCustomer(read, deadline);
  if (!state.ok()) return state.status();
  v1::CustomerState out;
  out.set_tenant(request.tenant());
  out.set_customer_hash(hasher.Hash(request.tenant(), request.customer_id()));
  out.set_policy_version(policy.version);
  for (const store::CounterState& c : state->counters) {
    v1::CounterState* pc = out.add_counters();
    pc->set_rule_id(c.rule_id);
    pc->set_counter(c.counter);
    pc->set_used(c.used);
    for (const policy::Rule& rule : policy.rules) {
      if (rule.id == c.rule_id && rule.limit) {
        pc->set_window(rule.limit->window_text);
        pc->set_limit(rule.limit->count);
        break;
      }
    }
    if (c.frees_at != absl::InfinitePast()) *pc->mutable_frees_at() = TimeToProto(c.frees_at);
  }
  for (const store::SignalState& s : state->signals) {
    v1::ActiveSignal* ps = out.add_signals();
    ps->set_field(s.field);
    *ps->mutable_at() = TimeToProto(s.at);
    if (s.expires_at != absl::InfiniteFuture()) *ps->mutable_expires_at() = TimeToProto(s.expires_at);
  }
  return out;
}

grpc::ServerUnaryReactor* SignalsService::PutSignal(grpc::CallbackServerContext* ctx,
                                                    const v1::PutSignalRequest* request, v1::PutSignalResponse*) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  CallGate::Call call = gate_.Begin("PutSignal");
  if (absl::Status s = gate_.Enter(ctx, call); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return reactor;
  }
  if (!request->has_signal()) {
    gate_.Finish(reactor, ctx, call, absl::InvalidArgumentError("signal: required"));
    return reactor;
  }
  // Refuse a bad signal or another client's tenant on the gRPC thread, before any store work.
  const absl::Time now = gate_.clock().Now();
  bool writes_customer = false;
  if (absl::StatusOr<policy::Signal> parsed =
          decision::SignalFromProto(request->signal(), now, "signal.", &writes_customer);
      !parsed.ok()) {
    gate_.Finish(reactor, ctx, call, parsed.status());
    return reactor;
  }
  if (absl::Status s = gate_.CheckTenant(call, request->signal().tenant(), "signal.tenant"); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return reactor;
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
  return reactor;
}

grpc::ServerUnaryReactor* SignalsService::GetCustomerState(grpc::CallbackServerContext* ctx,
                                                           const v1::GetCustomerStateRequest* request,
                                                           v1::CustomerState* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  CallGate::Call call = gate_.Begin("GetCustomerState");
  if (absl::Status s = gate_.Enter(ctx, call); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return reactor;
  }
  if (absl::Status s = ValidateCustomerStateRequest(*request); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return reactor;
  }
  if (absl::Status s = gate_.CheckTenant(call, request->tenant(), "tenant"); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return reactor;
  }
  const std::shared_ptr<const policy::Policy> policy = policies_.Get();
  if (policy == nullptr) {
    gate_.Finish(reactor, ctx, call, absl::FailedPreconditionError("no policy loaded"));
    return reactor;
  }
  const absl::Time deadline = StoreDeadline(ctx, gate_.clock(), options_.default_deadline);
  const bool accepted = executor_.Run([this, reactor, ctx, request, response, call, deadline, policy] {
    const absl::Time now = gate_.clock().Now();
    absl::StatusOr<v1::CustomerState> state = ReadCustomerState(
        *policy, store_, hasher_, *request, now, CappedStoreDeadline(deadline, now, options_.store_deadline));
    if (state.ok()) *response = *std::move(state);
    gate_.Finish(reactor, ctx, call, state.status());
  });
  if (!accepted) {
    gate_.Finish(reactor, ctx, call, DecisionQueueFull());
  }
  return reactor;
}

}  // namespace tact::api
