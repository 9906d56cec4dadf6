#include "daemon/decision/customer_state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "daemon/core/event.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"
#include "daemon/decision/store_spec.h"

namespace tact::decision {

std::vector<store::CounterFamily> CounterFamilies(const policy::Policy& policy, std::string_view tenant) {
  std::vector<store::CounterFamily> out;
  for (const policy::Rule& rule : policy.rules) {
    if (!rule.limit) continue;
    const std::vector<std::string>& tenants = rule.match.tenants;
    if (!tenants.empty() && std::find(tenants.begin(), tenants.end(), tenant) == tenants.end()) continue;
    const bool rolling = rule.limit->kind == policy::WindowKind::kRolling;
    out.push_back({.rule_id = rule.id,
                   .prefix = absl::StrCat(rolling ? "r:" : "c:", rule.id),
                   .kind = ToStoreKind(rule.limit->kind),
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

absl::StatusOr<v1::CustomerState> CustomerStateReader::Read(const policy::Policy& policy,
                                                           const v1::GetCustomerStateRequest& request, absl::Time now,
                                                           absl::Time deadline) const {
  return ReadCustomerState(policy, store_, hasher_, request, now, deadline);
}

}  // namespace tact::decision
