#include "daemon/api/throttle_service.h"

#include <atomic>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"

namespace tact::api {
namespace {

// The Checks a queue's thread received in its current pass, not decided yet (ThrottleService::DecidePass). A queue's
// thread serves one ThrottleService.
thread_local std::vector<decision::DecisionExecutor::Request> t_pass;

std::string_view Metadata(grpc::ServerContext* ctx, const char* key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(key);
  return it == md.end() ? std::string_view() : std::string_view(it->second.data(), it->second.size());
}

const char* CodeName(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    default: return "INTERNAL";
  }
}

void SetError(v1::CheckBatchResult& result, const absl::Status& status) {
  const grpc::Status g = ToGrpcStatus(status);
  result.set_error_code(g.error_code());
  result.set_error_message(g.error_message());
}

// One CheckBatch call while its items are decided: each item's answer goes into the response as it comes, the call
// finishes with the last, and only then are the items' records published (`records` outlives the executor's
// threads; the service may not). Done runs on an executor thread (all items of one call on the same one).
class BatchCall {
 public:
  BatchCall(CallGate& gate, UnaryReactor* reactor, grpc::ServerContext* ctx,
            v1::CheckBatchResponse* response, CallGate::Call call, size_t items, decision::DecisionRecordPort* records)
      : gate_(gate), reactor_(reactor), ctx_(ctx), response_(response), call_(std::move(call)), left_(items),
        records_(records), pending_(records != nullptr ? items : 0), publish_(pending_.size(), 0) {}

  // `index`: the item's place in the request; `slot`: among the decided items; `record`: publish its record.
  void Done(int index, size_t slot, bool record, absl::StatusOr<decision::Decided> d) {
    v1::CheckBatchResult* result = response_->mutable_results(index);
    if (d.ok()) {
      // The decision lives in its record: copied into the answer when the record is kept, else moved.
      if (record && decision::PublishesRecord(false, d->decision())) {
        *result->mutable_decision() = d->decision();
        pending_[slot] = std::move(d->record());  // its own slot, written before `left_` counts it
        publish_[slot] = 1;
      } else {
        *result->mutable_decision() = std::move(d->decision());
      }
    } else {
      SetError(*result, d.status());
    }
    if (--left_ == 0) {
      gate_.Finish(reactor_, ctx_, call_, absl::OkStatus());
      for (size_t i = 0; i < publish_.size(); ++i) {
        if (publish_[i] != 0) records_->Record(pending_[i]);
      }
    }
  }

 private:
  CallGate& gate_;
  UnaryReactor* const reactor_;
  grpc::ServerContext* const ctx_;
  v1::CheckBatchResponse* const response_;
  const CallGate::Call call_;
  std::atomic<size_t> left_;
  decision::DecisionRecordPort* const records_;
  std::vector<v1::DecisionRecord> pending_;  // per decided item (none without `records`)
  std::vector<char> publish_;                // per decided item: 1 = its record is to be published
};

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& s) {
  const std::string msg(s.message());
  switch (s.code()) {
    case absl::StatusCode::kOk: return grpc::Status::OK;
    case absl::StatusCode::kInvalidArgument: return {grpc::StatusCode::INVALID_ARGUMENT, msg};
    case absl::StatusCode::kUnauthenticated: return {grpc::StatusCode::UNAUTHENTICATED, msg};
    case absl::StatusCode::kPermissionDenied: return {grpc::StatusCode::PERMISSION_DENIED, msg};
    case absl::StatusCode::kFailedPrecondition: return {grpc::StatusCode::FAILED_PRECONDITION, msg};
    case absl::StatusCode::kNotFound: return {grpc::StatusCode::NOT_FOUND, msg};
    case absl::StatusCode::kAlreadyExists: return {grpc::StatusCode::ALREADY_EXISTS, msg};
    case absl::StatusCode::kResourceExhausted: return {grpc::StatusCode::RESOURCE_EXHAUSTED, msg};
    case absl::StatusCode::kUnavailable: return {grpc::StatusCode::UNAVAILABLE, "store unavailable"};
    case absl::StatusCode::kDeadlineExceeded: return {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded"};
    default:
      ops::Log(ops::LogLevel::kError, "grpc.internal_error", {{"error", msg}});
      return {grpc::StatusCode::INTERNAL, "internal error"};
  }
}

absl::Status CallGate::Enter(grpc::ServerContext* ctx, Call& call, double cost) {
  if (auth_ == nullptr) {
    return absl::OkStatus();
  }
  absl::StatusOr<const Client*> client = auth_->Authenticate(Metadata(ctx, "authorization"));
  if (!client.ok()) {
    return client.status();
  }
  call.authenticated = *client;
  call.client = (*client)->name;
  absl::Duration retry_after;
  absl::Status admitted = auth_->TakeQuota(**client, cost, &retry_after);
  if (absl::IsResourceExhausted(admitted)) {
    ctx->AddTrailingMetadata("retry-after-ms", absl::StrCat(absl::ToInt64Milliseconds(retry_after)));
  }
  return admitted;
}

absl::Status CallGate::CheckTenant(const Call& call, const std::string& tenant, std::string_view field) const {
  if (call.authenticated == nullptr || call.authenticated->MayActFor(tenant)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(AsAbsl(field), ": client '", call.client, "' may not act for tenant '", tenant, "'"));
}

void CallGate::Finish(UnaryReactor* reactor, grpc::ServerContext* ctx, const Call& call,
                      const absl::Status& status) const {
  const grpc::Status g = ToGrpcStatus(status);
  if (!ops::LogEnabled(ops::LogLevel::kInfo)) {  // no access log line: nothing to format
    reactor->Finish(g);
    return;
  }
  // Latency in ms with microsecond digits, formatted as integers (no floating-point formatting per call).
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(clock_.Monotonic() - call.start).count();
  const int64_t frac = us % 1000;
  std::string latency = absl::StrCat(us / 1000);
  if (frac != 0) {
    absl::StrAppend(&latency, frac < 10 ? ".00" : frac < 100 ? ".0" : ".", frac);
    while (latency.back() == '0') latency.pop_back();
  }
  ops::Log(ops::LogLevel::kInfo, "grpc.access",
           {{"client", call.client}, {"method", call.method}, {"code", CodeName(g.error_code())},
            {"latency_ms", std::move(latency)}});
  reactor->Finish(g);
}

void ThrottleService::Register(grpc::ServerBuilder& builder, CallQueues& queues) {
  builder.RegisterService(&async_);
  // Check: many calls kept requested, so one pass of a queue takes what arrived together, decided together after it.
  queues.Add(&async_, &v1::Throttle::AsyncService::RequestCheck, CallQueues::Bind(this, &ThrottleService::Check),
             /*slots=*/kMaxPassBatch);
  queues.AfterPass([this] { DecidePass(); }, [] { return !t_pass.empty(); });
  queues.Add(&async_, &v1::Throttle::AsyncService::RequestCheckBatch,
             CallQueues::Bind(this, &ThrottleService::CheckBatch));
  queues.Add(&async_, &v1::Throttle::AsyncService::RequestExplain, CallQueues::Bind(this, &ThrottleService::Explain));
}

void PoliciesService::Register(grpc::ServerBuilder& builder, CallQueues& queues) {
  builder.RegisterService(&async_);
  queues.Add(&async_, &v1::Policies::AsyncService::RequestGetPolicy,
             CallQueues::Bind(this, &PoliciesService::GetPolicy));
}

absl::StatusOr<Event> ThrottleService::EnterAndValidate(grpc::ServerContext* ctx, CallGate::Call& call,
                                                        const v1::CheckRequest& request) const {
  if (absl::Status s = gate_.Enter(ctx, call); !s.ok()) {
    return s;
  }
  return Validate(call, request, "");
}

absl::StatusOr<Event> ThrottleService::Validate(const CallGate::Call& call, const v1::CheckRequest& item,
                                                const std::string& prefix) const {
  if (!item.has_event()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "event: required"));
  }
  absl::StatusOr<Event> event = EventFromProto(item.event(), prefix + "event.");
  if (!event.ok()) {
    return event.status();
  }
  if (absl::Status s = gate_.CheckTenant(call, event->tenant, prefix + "event.tenant"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckCreatedAt(*event, gate_.clock().Now(), prefix + "event.", options_.max_future_skew);
      !s.ok()) {
    return s;
  }
  return event;
}

absl::Time StoreDeadline(grpc::ServerContext* ctx, const Clock& clock, absl::Duration default_deadline) {
  if (ctx->deadline() == std::chrono::system_clock::time_point::max()) {
    return clock.Now() + default_deadline;  // an absent deadline folds into our default
  }
  return absl::FromChrono(ctx->deadline());
}

absl::Time ThrottleService::StoreDeadline(grpc::ServerContext* ctx) const {
  return api::StoreDeadline(ctx, gate_.clock(), options_.default_deadline);
}

void ThrottleService::Check(grpc::ServerContext* ctx, const v1::CheckRequest* request, v1::CheckResponse* response,
                            UnaryReactor* reactor) {
  CallGate::Call call = gate_.Begin("Check");
  absl::StatusOr<Event> event = EnterAndValidate(ctx, call, *request);
  if (!event.ok()) {
    gate_.Finish(reactor, ctx, call, event.status());
    return;
  }
  // A call whose deadline passes while queued does no store work (the store checks the deadline first).
  // The record is built only when it may be published (no keyed hash, no copy of the decision otherwise).
  decision::DecisionRecordPort* const records = request->dry_run() ? nullptr : records_;
  DecideAfterPass(
      *std::move(event),
      {.dry_run = request->dry_run(),
       .source = "grpc",
       .client = call.client,
       .deadline = StoreDeadline(ctx),
       .record = records != nullptr,
       .field_prefix = "event."},
      [this, reactor, ctx, response, call, records](absl::StatusOr<decision::Decided> d) {
        // The decision lives in its record: copied into the answer when the record is published, else moved.
        const bool publish = records != nullptr && d.ok() && decision::PublishesRecord(false, d->decision());
        if (publish) {
          *response->mutable_decision() = d->decision();
        } else if (d.ok()) {
          *response->mutable_decision() = std::move(d->decision());
        }
        gate_.Finish(reactor, ctx, call, d.status());
        // After the answer, so the call never waits for it; `this` may be gone by now, `records` is not.
        if (publish) {
          records->Record(d->record());
        }
      });
}

void ThrottleService::DecideAfterPass(Event event, decision::DecideOptions options,
                                      decision::DecisionExecutor::Done done) {
  t_pass.push_back({std::move(event), std::move(options), std::move(done)});
  if (t_pass.size() >= kMaxPassBatch) DecidePass();  // a long pass: decided in batches of this size
}

void ThrottleService::DecidePass() {
  if (t_pass.empty()) return;
  std::vector<decision::DecisionExecutor::Request> batch;
  batch.swap(t_pass);
  executor_.DecideHere(batch);
}

void ThrottleService::CheckBatch(grpc::ServerContext* ctx, const v1::CheckBatchRequest* request,
                                 v1::CheckBatchResponse* response, UnaryReactor* reactor) {
  CallGate::Call call = gate_.Begin("CheckBatch");
  if (request->items_size() > options_.max_batch) {
    gate_.Finish(reactor, ctx, call,
                 absl::InvalidArgumentError(absl::StrCat("items: ", request->items_size(), " items, at most ",
                                                         options_.max_batch, " per call")));
    return;
  }
  if (absl::Status s = gate_.Enter(ctx, call, std::max(1, request->items_size())); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return;
  }
  // Validate every item; invalid ones get their own error, the rest are decided together.
  struct Valid {
    int index;
    Event event;
    bool dry_run;
  };
  std::vector<Valid> valid;
  for (int i = 0; i < request->items_size(); ++i) {
    v1::CheckBatchResult* result = response->add_results();
    absl::StatusOr<Event> event = Validate(call, request->items(i), absl::StrCat("items[", i, "]."));
    if (!event.ok()) {
      SetError(*result, event.status());
      continue;
    }
    valid.push_back({i, *std::move(event), request->items(i).dry_run()});
  }
  if (valid.empty()) {
    gate_.Finish(reactor, ctx, call, absl::OkStatus());
    return;
  }
  // The items go to the executor as one ordered unit, decided in one batch (a customer's later item sees what
  // its earlier ones reserved); the call finishes with the last, and only then are the items' records published.
  auto batch = std::make_shared<BatchCall>(gate_, reactor, ctx, response, call, valid.size(), records_);
  const absl::Time deadline = StoreDeadline(ctx);
  std::vector<decision::DecisionExecutor::Request> requests;
  requests.reserve(valid.size());
  std::vector<decision::DecisionExecutor::Done> dones;
  for (size_t slot = 0; slot < valid.size(); ++slot) {
    Valid& v = valid[slot];
    const int index = v.index;
    const bool record = records_ != nullptr && !v.dry_run;
    auto done = [batch, index, slot, record](absl::StatusOr<decision::Decided> d) {
      batch->Done(index, slot, record, std::move(d));
    };
    requests.push_back({std::move(v.event),
                        {.dry_run = v.dry_run,
                         .source = "grpc",
                         .client = call.client,
                         .deadline = deadline,
                         .record = record,
                         .field_prefix = absl::StrCat("items[", index, "].event.")},
                        done});
    dones.push_back(std::move(done));
  }
  if (!executor_.SubmitInOrder(std::move(requests))) {
    for (auto& done : dones) done(DecisionQueueFull());
  }
}

void ThrottleService::Explain(grpc::ServerContext* ctx, const v1::CheckRequest* request, v1::ExplainResponse* response,
                              UnaryReactor* reactor) {
  CallGate::Call call = gate_.Begin("Explain");
  absl::StatusOr<Event> event = EnterAndValidate(ctx, call, *request);
  if (!event.ok()) {
    gate_.Finish(reactor, ctx, call, event.status());
    return;
  }
  // dry_run in the request changes nothing: an explanation never reserves.
  const absl::Time deadline = StoreDeadline(ctx);
  const bool accepted = executor_.Run([this, reactor, ctx, response, call, deadline, ev = *std::move(event)] {
    absl::StatusOr<v1::ExplainResponse> explained = executor_.decider().Explain(ev, deadline, "event.");
    if (explained.ok()) {
      *response = *std::move(explained);
    }
    gate_.Finish(reactor, ctx, call, explained.status());
  });
  if (!accepted) {
    gate_.Finish(reactor, ctx, call, DecisionQueueFull());
  }
}

void PoliciesService::GetPolicy(grpc::ServerContext* ctx, const v1::GetPolicyRequest*, v1::PolicyInfo* response,
                                UnaryReactor* reactor) {
  CallGate::Call call = gate_.Begin("GetPolicy");
  if (absl::Status s = gate_.Enter(ctx, call); !s.ok()) {
    gate_.Finish(reactor, ctx, call, s);
    return;
  }
  const std::shared_ptr<const policy::Policy> p = policies_.Get();
  if (p == nullptr) {
    gate_.Finish(reactor, ctx, call, absl::FailedPreconditionError("no policy loaded"));
    return;
  }
  response->set_version(p->version);
  response->set_digest(p->digest);
  for (const policy::Rule& r : p->rules) {
    response->add_rule_ids(r.id);
  }
  if (last_error_) {
    response->set_last_reload_error(last_error_());
  }
  gate_.Finish(reactor, ctx, call, absl::OkStatus());
}

}  // namespace tact::api
