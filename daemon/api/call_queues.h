#pragma once

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tact::api {

// How a unary handler answers its call: Finish once, from any thread (the handler's, or a worker's later).
class UnaryReactor {
 public:
  virtual void Finish(const grpc::Status& status) = 0;

 protected:
  ~UnaryReactor() = default;
};

// tactd's gRPC services on gRPC's completion-queue API: `threads` completion queues, a thread each, run every unary
// method's handler on the queue's thread as its call arrives. Not the callback API: its threads (gRPC 1.51's
// "nexting" threads, and the context switches of handing each call and each answer between them) cost a call ~1.5-2x
// the CPU of a queue's thread that takes every event ready at once (bench/peer/grpc_floor.sh, docs/benchmarks.md
// "The gRPC path's floor"). No service of the server may use the callback API, or its threads come back and take
// the queues' events too (gRPC's default health service is one: HealthService replaces it).
//
// A handler must not block: its blocking work goes to a worker pool (DecisionExecutor, CapacityWorkers), which
// finishes the call; or, for work that gathers the calls of one pass (Throttle.Check's decisions), to an AfterPass
// hook, which the queue's thread runs after each pass over the events that were ready.
//
// Use: construct on the builder before BuildAndStart, Add() every method, Start() after BuildAndStart; Shutdown()
// after Server::Shutdown has returned: it waits until every call whose handler ran has been answered (a worker may
// still be deciding one: keep the workers running until it returns), then shuts the queues down and joins their
// threads. Thread-safety: Add/Start/Shutdown on one thread; handlers and hooks on the queues' threads.
class CallQueues {
 public:
  // `collect_wait`: how long a pass keeps collecting events after its first one while an AfterPass hook is waiting
  // for more (0: only the events ready at once). gRPC's completion queue waits in whole milliseconds.
  CallQueues(grpc::ServerBuilder& builder, int threads, absl::Duration collect_wait = absl::ZeroDuration());
  // tactd's default number of queues on a host of `cpus` (grpc.threads 0): one per 4 CPUs, at least 2. A queue's
  // thread waits out its pass's store round-trip; a second queue takes the calls arriving meanwhile
  // (docs/operations.md, "gRPC threads").
  static int DefaultThreads(int cpus) { return std::max(2, cpus / 4); }
  ~CallQueues();  // Shutdown() when it was not called
  CallQueues(const CallQueues&) = delete;
  CallQueues& operator=(const CallQueues&) = delete;

  template <typename Request, typename Response>
  using Handler = std::function<void(grpc::ServerContext*, const Request*, Response*, UnaryReactor*)>;

  // Serves `request` (a generated AsyncService's Request<Method>, e.g. &v1::Throttle::AsyncService::RequestCheck) of
  // `service` (registered on the builder by the caller) with `handler`. `slots`: the calls of the method each queue
  // keeps requested (more let one pass take more of a busy method's calls at once).
  // (Service is the generated base that declares the Request method; `service` may be any class derived from it.)
  template <typename Service, typename Request, typename Response>
  void Add(std::type_identity_t<Service>* service,
           void (Service::*request)(grpc::ServerContext*, Request*, grpc::ServerAsyncResponseWriter<Response>*,
                                    grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*),
           Handler<Request, Response> handler, int slots = 1);
  // The handler that calls `method` of `target`.
  template <typename Target, typename Request, typename Response>
  static Handler<Request, Response> Bind(Target* target,
                                         void (Target::*method)(grpc::ServerContext*, const Request*, Response*,
                                                                UnaryReactor*)) {
    return [target, method](grpc::ServerContext* ctx, const Request* request, Response* response,
                            UnaryReactor* reactor) { (target->*method)(ctx, request, response, reactor); };
  }
  // `hook` runs on every queue's thread after each pass over the events that were ready (after their handlers).
  // `waiting` (optional, called on the queue's thread): true while the hook holds work that more events would join
  // (e.g. Checks to decide in one store round-trip); the pass then keeps collecting for up to `collect_wait`.
  void AfterPass(std::function<void()> hook, std::function<bool()> waiting = {}) {
    after_pass_.push_back({std::move(hook), std::move(waiting)});
  }

  void Start();
  void Shutdown();

 private:
  // What a queue's thread does with an event's tag.
  class Tag {
   public:
    virtual void Proceed(bool ok) = 0;

   protected:
    ~Tag() = default;
  };

  // One method's call slots: Ask() asks gRPC for the method's next call on `cq`, unless shut down.
  class Method {
   public:
    explicit Method(int slots) : slots_(slots) {}
    virtual ~Method() = default;
    virtual void Ask(grpc::ServerCompletionQueue* cq) = 0;
    int slots() const { return slots_; }

   private:
    const int slots_;
  };

  template <typename Service, typename Request, typename Response>
  class UnaryMethod;
  template <typename Request, typename Response>
  class UnaryCall;

  struct Hook {
    std::function<void()> run;
    std::function<bool()> waiting;
  };

  void Serve(grpc::ServerCompletionQueue* cq);
  bool HookWaiting() const;
  // True while calls may be requested (Start ... Shutdown); holds `mu_` shared across the request.
  bool Requesting(const std::function<void()>& request);
  // A call's handler is about to run / its answer has been sent.
  void Answering();
  void Answered();

  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::unique_ptr<Method>> methods_;
  const gpr_timespec collect_wait_;  // a GPR_TIMESPAN; zero: passes take only what is ready
  std::vector<Hook> after_pass_;
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  bool requesting_ ABSL_GUARDED_BY(mu_) = false;
  int answering_ ABSL_GUARDED_BY(mu_) = 0;  // calls whose handler ran and whose answer is not sent yet
  bool shut_down_ = false;
};

// One unary call on a queue: requested, running (its handler called), finishing (its answer sent), then deleted.
template <typename Request, typename Response>
class CallQueues::UnaryCall final : public CallQueues::Tag, public UnaryReactor {
 public:
  UnaryCall(CallQueues& queues, Method& method, grpc::ServerCompletionQueue* cq,
            const Handler<Request, Response>& handler)
      : queues_(queues), method_(method), cq_(cq), handler_(handler) {}
  grpc::ServerContext* context() { return &ctx_; }
  Request* request() { return &request_; }
  grpc::ServerAsyncResponseWriter<Response>* writer() { return &writer_; }

  void Proceed(bool ok) override {
    if (finishing_) {  // its answer went out (or the call was cancelled): done
      queues_.Answered();
      delete this;
      return;
    }
    if (!ok) {  // the server shut down before a call came
      delete this;
      return;
    }
    method_.Ask(cq_);  // the method's next call, while this one runs
    queues_.Answering();
    handler_(&ctx_, &request_, &response_, this);
  }
  void Finish(const grpc::Status& status) override {
    finishing_ = true;
    if (status.ok()) {
      writer_.Finish(response_, status, this);
    } else {
      writer_.FinishWithError(status, this);
    }
  }

 private:
  CallQueues& queues_;
  Method& method_;
  grpc::ServerCompletionQueue* const cq_;
  const Handler<Request, Response>& handler_;
  grpc::ServerContext ctx_;
  Request request_;
  Response response_;
  grpc::ServerAsyncResponseWriter<Response> writer_{&ctx_};
  bool finishing_ = false;  // set before the answer is sent; the tag's next event is its completion
};

template <typename Service, typename Request, typename Response>
class CallQueues::UnaryMethod final : public CallQueues::Method {
 public:
  using RequestFn = void (Service::*)(grpc::ServerContext*, Request*, grpc::ServerAsyncResponseWriter<Response>*,
                                      grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*);
  UnaryMethod(CallQueues& queues, Service* service, RequestFn request, Handler<Request, Response> handler, int n)
      : Method(n), queues_(queues), service_(service), request_(request), handler_(std::move(handler)) {}

  void Ask(grpc::ServerCompletionQueue* cq) override {
    queues_.Requesting([&] {
      auto* call = new UnaryCall<Request, Response>(queues_, *this, cq, handler_);
      (service_->*request_)(call->context(), call->request(), call->writer(), cq, cq, call);
    });
  }

 private:
  CallQueues& queues_;
  Service* const service_;
  const RequestFn request_;
  const Handler<Request, Response> handler_;
};

template <typename Service, typename Request, typename Response>
void CallQueues::Add(std::type_identity_t<Service>* service,
                     void (Service::*request)(grpc::ServerContext*, Request*,
                                              grpc::ServerAsyncResponseWriter<Response>*, grpc::CompletionQueue*,
                                              grpc::ServerCompletionQueue*, void*),
                     Handler<Request, Response> handler, int slots) {
  methods_.push_back(std::make_unique<UnaryMethod<Service, Request, Response>>(*this, service, request,
                                                                               std::move(handler), slots));
}

}  // namespace tact::api
