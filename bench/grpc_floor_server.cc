// What gRPC's C++ API costs per unary call, by how a server is built: a Throttle.Check server that decides nothing
// (an empty answer) but makes one Redis round-trip (PING) per batch of calls, as tactd makes one store round-trip per
// batch, served in one of three shapes. bench/peer/grpc_floor.sh drives it with ghz and prints its CPU per call
// against tactd's shape; docs/benchmarks.md ("The gRPC path's floor") has the figures.
//
//   build/bench/grpc_floor_server --shape callback-workers|async-workers|async-inline --port P --redis-port R
//                                 [--threads N] [--health 1]
//
// callback-workers  tactd's shape today: the callback API (grpc::CallbackService), the handler queues the call for
//                   a pool of N worker threads (default 4), a worker takes every queued call (up to 64), makes the
//                   round-trip and finishes them (api::ThrottleService over decision::DecisionExecutor)
// async-workers     the completion-queue API (grpc::ServerCompletionQueue, one queue and its thread), the queue's
//                   thread hands every call received to the same worker pool
// async-inline      the completion-queue API, N queues (default 1) each with its thread: the thread takes every call
//                   that is ready, makes the round-trip itself and finishes them (no hand-over)
// --health 1        also gRPC's default health service (callback-based in gRPC 1.51: its presence starts the
//                   callback API's threads, which then take the queue's events too)
// Prints "ready" on stderr when serving. Stops on SIGTERM/SIGINT.
#include <grpcpp/grpcpp.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tact/v1/throttle.grpc.pb.h"

namespace tact::bench {
namespace {

constexpr size_t kMaxBatch = 64;  // DecisionExecutor's max_batch in tactd

// One round-trip to Redis: what a batch of decisions waits for (blocking, as tactd's store calls are).
class RoundTrip {
 public:
  explicit RoundTrip(int port) : c_(redisConnect("127.0.0.1", port)) {
    if (c_ == nullptr || c_->err != 0) {
      fprintf(stderr, "grpc_floor_server: redis on port %d: %s\n", port, c_ != nullptr ? c_->errstr : "no memory");
      std::exit(1);
    }
  }
  ~RoundTrip() { redisFree(c_); }
  void Run() {
    void* reply = redisCommand(c_, "PING");
    if (reply == nullptr) {
      fprintf(stderr, "grpc_floor_server: redis: %s\n", c_->errstr);
      std::exit(1);
    }
    freeReplyObject(reply);
  }

 private:
  redisContext* c_;
};

void Answer(v1::CheckResponse& response) {
  response.mutable_decision()->set_decision(v1::RELEASE);
}

// Worker threads: each takes every queued call (up to kMaxBatch), makes one round-trip, finishes them.
class Workers {
 public:
  using Finish = std::function<void()>;
  Workers(int threads, int redis_port) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this, redis_port] { Work(redis_port); });
  }
  void Submit(Finish finish) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(finish));
    }
    ready_.notify_one();
  }

 private:
  void Work(int redis_port) {
    RoundTrip redis(redis_port);
    for (;;) {
      std::vector<Finish> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        while (!queue_.empty() && batch.size() < kMaxBatch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      redis.Run();
      for (Finish& f : batch) f();
    }
  }
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Finish> queue_;
  std::vector<std::thread> threads_;  // never joined: the process ends with them
};

class CallbackThrottle final : public v1::Throttle::CallbackService {
 public:
  explicit CallbackThrottle(Workers& workers) : workers_(workers) {}
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const v1::CheckRequest*,
                                  v1::CheckResponse* response) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    workers_.Submit([reactor, response] {
      Answer(*response);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

 private:
  Workers& workers_;
};

using AsyncThrottle = v1::Throttle::WithAsyncMethod_Check<v1::Throttle::Service>;

// One Check on the completion-queue API: requested, received, finished; its own tag throughout.
struct AsyncCall {
  grpc::ServerContext ctx;
  v1::CheckRequest request;
  v1::CheckResponse response;
  grpc::ServerAsyncResponseWriter<v1::CheckResponse> writer{&ctx};
  bool finishing = false;

  static void Request(AsyncThrottle& service, grpc::ServerCompletionQueue* cq) {
    auto* call = new AsyncCall;
    service.RequestCheck(&call->ctx, &call->request, &call->writer, cq, cq, call);
  }
  void Finish() {
    Answer(response);
    finishing = true;
    writer.Finish(response, grpc::Status::OK, this);
  }
};

// A completion queue's thread: waits for an event, takes every other one ready, then makes the round-trip for the
// calls received (inline) or hands them to `workers`.
void ServeQueue(AsyncThrottle& service, grpc::ServerCompletionQueue* cq, Workers* workers, int redis_port) {
  RoundTrip redis(redis_port);
  for (int i = 0; i < static_cast<int>(kMaxBatch); ++i) AsyncCall::Request(service, cq);
  std::vector<AsyncCall*> received;
  const auto take = [&](void* tag, bool ok) {
    auto* call = static_cast<AsyncCall*>(tag);
    if (call->finishing || !ok) {
      delete call;
      return;
    }
    AsyncCall::Request(service, cq);  // the next call's slot
    received.push_back(call);
  };
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) {
    take(tag, ok);
    while (cq->AsyncNext(&tag, &ok, gpr_time_0(GPR_CLOCK_MONOTONIC)) == grpc::CompletionQueue::GOT_EVENT) {
      take(tag, ok);
    }
    if (received.empty()) continue;
    if (workers != nullptr) {
      for (AsyncCall* call : received) workers->Submit([call] { call->Finish(); });
    } else {
      redis.Run();
      for (AsyncCall* call : received) call->Finish();
    }
    received.clear();
  }
}

struct Options {
  std::string shape;
  int port = 0, redis_port = 0, threads = 0;
  bool health = false;
};

// The command line, or nullopt after printing what is wrong.
std::optional<Options> Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--shape") o.shape = value;
    else if (flag == "--port") o.port = std::atoi(value.c_str());
    else if (flag == "--redis-port") o.redis_port = std::atoi(value.c_str());
    else if (flag == "--threads") o.threads = std::atoi(value.c_str());
    else if (flag == "--health") o.health = value == "1";
    else {
      fprintf(stderr, "grpc_floor_server: unknown flag %s\n", flag.c_str());
      return std::nullopt;
    }
  }
  if ((o.shape != "callback-workers" && o.shape != "async-workers" && o.shape != "async-inline") || o.port <= 0 ||
      o.redis_port <= 0) {
    fprintf(stderr, "usage: grpc_floor_server --shape callback-workers|async-workers|async-inline --port P "
                    "--redis-port R [--threads N] [--health 1]\n");
    return std::nullopt;
  }
  return o;
}

int Main(int argc, char** argv) {
  // SIGTERM/SIGINT blocked in every thread (they inherit it), taken by sigwait below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  const std::optional<Options> parsed = Parse(argc, argv);
  if (!parsed) return 2;
  const auto& [shape, port, redis_port, threads, health] = *parsed;
  const bool callback = shape == "callback-workers", async_workers = shape == "async-workers";
  grpc::EnableDefaultHealthCheckService(health);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials());
  std::unique_ptr<Workers> workers;
  if (callback || async_workers) workers = std::make_unique<Workers>(threads > 0 ? threads : 4, redis_port);
  std::unique_ptr<CallbackThrottle> callback_service;
  AsyncThrottle async_service;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
  if (callback) {
    callback_service = std::make_unique<CallbackThrottle>(*workers);
    builder.RegisterService(callback_service.get());
  } else {
    builder.RegisterService(&async_service);
    const int n = async_workers || threads <= 0 ? 1 : threads;
    for (int i = 0; i < n; ++i) queues.push_back(builder.AddCompletionQueue());
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    fprintf(stderr, "grpc_floor_server: cannot listen on port %d\n", port);
    return 1;
  }
  std::vector<std::thread> serving;
  for (auto& cq : queues) {
    serving.emplace_back([&async_service, q = cq.get(), w = workers.get(), redis_port] {
      ServeQueue(async_service, q, w, redis_port);
    });
  }
  fprintf(stderr, "ready\n");
  int signal = 0;
  sigwait(&stop, &signal);
  std::_Exit(0);  // no orderly shutdown to measure: the driver has read the CPU figures already
}

}  // namespace
}  // namespace tact::bench

int main(int argc, char** argv) { return tact::bench::Main(argc, argv); }
