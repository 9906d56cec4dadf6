#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "daemon/api/auth.h"
#include "daemon/api/call_queues.h"
#include "daemon/core/clock.h"
#include "daemon/decision/decision_executor.h"
#include "daemon/decision/decision_record_port.h"
#include "tact/v1/policies.grpc.pb.h"
#include "tact/v1/throttle.grpc.pb.h"

namespace tact::api {

struct ApiOptions {
  int max_batch = 500;                                          // CheckBatch items
  absl::Duration max_future_skew = kMaxFutureSkew;              // created_at further ahead is rejected
  absl::Duration default_deadline = absl::Milliseconds(500);    // when the caller sets none
  // One store round-trip's deadline (redis.deadline_ms): a call's store work never waits longer than this, however
  // long the caller's own deadline is (the decision path applies the same cap to Check, CheckBatch, Explain).
  absl::Duration store_deadline = absl::Milliseconds(250);
};

// What every call goes through before its handler: authentication (when clients are configured), the
// per-client quota, and the access log line at the end. Thread-safety: any thread.
class CallGate {
 public:
  // `auth` may be null: no clients configured, every caller is "anonymous" with access to every tenant.
  CallGate(Authenticator* auth, const Clock& clock) : auth_(auth), clock_(clock) {}

  struct Call {
    const char* method = "";
    std::string client = "anonymous";
    const Client* authenticated = nullptr;  // null when auth is off
    std::chrono::steady_clock::time_point start;
  };
  // A call's record, its latency counted from now (the handler's entry): every handler starts with it, so a
  // call rejected before Enter is logged with its real latency too.
  Call Begin(const char* method) const { return Call{.method = method, .start = clock_.Monotonic()}; }
  // UNAUTHENTICATED / RESOURCE_EXHAUSTED; `cost` is the quota taken (items of a batch).
  absl::Status Enter(grpc::ServerContext* ctx, Call& call, double cost = 1);
  // PERMISSION_DENIED when the caller may not act for `tenant`. `field` names where the tenant came from.
  absl::Status CheckTenant(const Call& call, const std::string& tenant, std::string_view field) const;
  // Finishes the call and writes its access log line (client, method, code, latency; never customer data).
  void Finish(UnaryReactor* reactor, grpc::ServerContext* ctx, const Call& call,
              const absl::Status& status) const;
  const Clock& clock() const { return clock_; }

 private:
  Authenticator* auth_;
  const Clock& clock_;
};

// tact.v1.Throttle on the CallQueues. A shell: validate into core types (errors name the field), decide, answer.
// Check is decided on the queue's thread: the Checks one pass of the queue received (what arrived together) are
// decided together after it, in one store round-trip (DecisionService::DecideBatch), and answered from there, with
// no hand-over to another thread (docs/benchmarks.md, "The gRPC path's floor"). So while a pass's Checks wait for
// the store, that queue's other calls wait too: at most redis.deadline_ms. CheckBatch and Explain go to the
// DecisionExecutor (CheckBatch's items decided as one ordered unit) and are answered from its threads.
// With `records`, every Check and CheckBatch decision made (not a dry run, not a duplicate:
// decision::PublishesRecord) goes to it as its audit record, with the calling client and source "grpc", after the
// call is answered (on the queue's or the executor's thread). `records` must outlive `executor` and the
// queues (it is used from their threads until they are joined); null = no records. Thread-safety: the queues'
// threads.
class ThrottleService final {
 public:
  ThrottleService(decision::DecisionExecutor& executor, CallGate& gate, ApiOptions options,
                  decision::DecisionRecordPort* records = nullptr)
      : executor_(executor), gate_(gate), options_(options), records_(records) {}

  // Registers the service on `builder` and its methods on `queues` (before the server is built).
  void Register(grpc::ServerBuilder& builder, CallQueues& queues);
  void Check(grpc::ServerContext* ctx, const v1::CheckRequest* request, v1::CheckResponse* response,
             UnaryReactor* reactor);
  void CheckBatch(grpc::ServerContext* ctx, const v1::CheckBatchRequest* request, v1::CheckBatchResponse* response,
                  UnaryReactor* reactor);
  // Always a dry run against the customer's live state (DecisionService::Explain), on the executor's threads.
  void Explain(grpc::ServerContext* ctx, const v1::CheckRequest* request, v1::ExplainResponse* response,
               UnaryReactor* reactor);

 private:
  // Enter (authentication, quota), then Validate: the start of every single-request handler.
  absl::StatusOr<Event> EnterAndValidate(grpc::ServerContext* ctx, CallGate::Call& call,
                                         const v1::CheckRequest& request) const;
  absl::StatusOr<Event> Validate(const CallGate::Call& call, const v1::CheckRequest& item,
                                 const std::string& prefix) const;
  absl::Time StoreDeadline(grpc::ServerContext* ctx) const;
  // Check's decision: queued for this thread's pass, decided by DecidePass (at the latest when kMaxPassBatch wait).
  void DecideAfterPass(Event event, decision::DecideOptions options, decision::DecisionExecutor::Done done);
  // Decides the Checks this thread's pass received, in one DecideBatch, and answers them. On a queue's thread.
  void DecidePass();

  static constexpr size_t kMaxPassBatch = 64;  // Checks decided in one batch (as the DecisionExecutor's max_batch)
  v1::Throttle::AsyncService async_;
  decision::DecisionExecutor& executor_;
  CallGate& gate_;
  const ApiOptions options_;
  decision::DecisionRecordPort* const records_;
};

// tact.v1.Policies: the active policy version and digest, and the last reload error.
class PoliciesService final {
 public:
  using LastErrorFn = std::function<std::string()>;
  PoliciesService(const decision::PolicyHolder& policies, CallGate& gate, LastErrorFn last_error)
      : policies_(policies), gate_(gate), last_error_(std::move(last_error)) {}
  void Register(grpc::ServerBuilder& builder, CallQueues& queues);
  void GetPolicy(grpc::ServerContext* ctx, const v1::GetPolicyRequest* request, v1::PolicyInfo* response,
                 UnaryReactor* reactor);

 private:
  v1::Policies::AsyncService async_;
  const decision::PolicyHolder& policies_;
  CallGate& gate_;
  LastErrorFn last_error_;
};

// The deadline of a call's work: the caller's deadline, or now + `default_deadline` when it set none.
absl::Time StoreDeadline(grpc::ServerContext* ctx, const Clock& clock, absl::Duration default_deadline);
// The deadline of one store call made now for a call whose own deadline is `call_deadline`: the earlier of it and
// now + `store_deadline` (redis.deadline_ms).
inline absl::Time CappedStoreDeadline(absl::Time call_deadline, absl::Time now, absl::Duration store_deadline) {
  return std::min(call_deadline, now + store_deadline);
}

// RESOURCE_EXHAUSTED for a call the DecisionExecutor's queue has no room for.
inline absl::Status DecisionQueueFull() { return absl::ResourceExhaustedError("server busy: decision queue full"); }

// The one mapping from absl::Status to gRPC status. Server-side codes never forward internal messages.
grpc::Status ToGrpcStatus(const absl::Status& s);

}  // namespace tact::api
