#include "daemon/api/call_queues.h"

#include <pthread.h>

#include <algorithm>

namespace tact::api {

CallQueues::CallQueues(grpc::ServerBuilder& builder, int threads, absl::Duration collect_wait)
    : collect_wait_(gpr_time_from_micros(absl::ToInt64Microseconds(collect_wait), GPR_TIMESPAN)) {
  for (int i = 0; i < std::max(1, threads); ++i) queues_.push_back(builder.AddCompletionQueue());
}

CallQueues::~CallQueues() { Shutdown(); }

void CallQueues::Start() {
  {
    absl::MutexLock lock(&mu_);
    requesting_ = true;
  }
  for (const std::unique_ptr<grpc::ServerCompletionQueue>& cq : queues_) {
    for (const std::unique_ptr<Method>& m : methods_) {
      for (int i = 0; i < m->slots(); ++i) m->Ask(cq.get());
    }
  }
  for (const std::unique_ptr<grpc::ServerCompletionQueue>& cq : queues_) {
    threads_.emplace_back([this, q = cq.get()] { Serve(q); });
  }
}

void CallQueues::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  {
    absl::MutexLock lock(&mu_);  // waits for a request being made: none is made on a queue after its Shutdown
    requesting_ = false;
    // Every call whose handler ran is answered first: its answer needs its queue (the threads still serve them).
    if (!threads_.empty()) mu_.Await(absl::Condition(+[](int* n) { return *n == 0; }, &answering_));
  }
  for (const std::unique_ptr<grpc::ServerCompletionQueue>& cq : queues_) cq->Shutdown();
  for (std::thread& t : threads_) t.join();  // each drains its queue (Next returns false once it is empty)
  if (threads_.empty()) {                     // never started: drain here
    for (const std::unique_ptr<grpc::ServerCompletionQueue>& cq : queues_) {
      void* tag = nullptr;
      bool ok = false;
      while (cq->Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(false);
    }
  }
}

bool CallQueues::Requesting(const std::function<void()>& request) {
  absl::ReaderMutexLock lock(&mu_);
  if (!requesting_) return false;
  request();
  return true;
}

void CallQueues::Answering() {
  absl::MutexLock lock(&mu_);
  ++answering_;
}

void CallQueues::Answered() {
  absl::MutexLock lock(&mu_);
  --answering_;
}

void CallQueues::Serve(grpc::ServerCompletionQueue* cq) {
  pthread_setname_np(pthread_self(), "grpc-queue");  // for `top -H`: the threads to add when they are busy
  void* tag = nullptr;
  bool ok = false;
  const bool collecting = gpr_time_cmp(collect_wait_, gpr_time_0(GPR_TIMESPAN)) > 0;
  while (cq->Next(&tag, &ok)) {
    const gpr_timespec until = collecting ? gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), collect_wait_) : gpr_timespec{};
    static_cast<Tag*>(tag)->Proceed(ok);
    // Every other event ready now, in the same pass: one wake-up for what arrived together.
    while (cq->AsyncNext(&tag, &ok, gpr_time_0(GPR_CLOCK_MONOTONIC)) == grpc::CompletionQueue::GOT_EVENT) {
      static_cast<Tag*>(tag)->Proceed(ok);
    }
    // Then, while a hook waits for more, those arriving until the collect wait ends: fewer, fuller store round-trips.
    if (collecting) {
      while (HookWaiting() && cq->AsyncNext(&tag, &ok, until) == grpc::CompletionQueue::GOT_EVENT) {
        static_cast<Tag*>(tag)->Proceed(ok);
      }
    }
    for (const Hook& hook : after_pass_) hook.run();
  }
}

bool CallQueues::HookWaiting() const {
  return std::any_of(after_pass_.begin(), after_pass_.end(), [](const Hook& h) { return h.waiting && h.waiting(); });
}

}  // namespace tact::api
