// Throttle.Check over loopback gRPC: tact's real service (DecisionService + Redis store, the same objects tactd
// builds) next to a no-op Throttle service, driven by the same async load generator in the same run.
//
//   build/bench/grpc_check_bench [--rate 5000] [--seconds 5] [--outstanding 64] [--rounds 1] [--threads 1]
//                           [--records BOOTSTRAP]
//
// Both services are served as tactd serves them (api::CallQueues, --threads completion queues: tactd's grpc.threads;
// Check decided on the queue's thread).
//
// With --rounds N the two servers are measured alternately N times (the machine is shared: load varies from
// second to second), one line per round, then the median round by ratio.
//
// TACT_BENCH_MEMORY=1: ours decides with the in-memory store (the tests' fake) instead of Redis: tactd's own cost.
//
// grpc.check_fixed_rate   p50/p99 at a fixed offered rate (open loop: each call measured from its scheduled send
//                          time), ours vs no-op
// grpc.check_throughput   calls/s with N calls outstanding (closed loop); ratio = ours / no-op
// cpu_per_call             CPU time per call, ours/no-op: this process (client and server) plus redis-server;
//                          steadier than rates when other work shares the machine; "(redis N)" = redis-server's part
// grpc.check_records       with --records (a broker, e.g. a tact-devbroker's bootstrap): a second Throttle service
//                          that also publishes every decision's record there (tactd's KafkaDecisionRecords), against
//                          ours without; closed loop, interleaved; ratio = with / without, and CPU per call of each
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/default_policy.h"
#include "bench/proc_cpu.h"
#include "daemon/api/call_queues.h"
#include "daemon/api/throttle_service.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/decision/decision_executor.h"
#include "daemon/decision/decision_service.h"
#include "daemon/decision/policy_files.h"
#include "daemon/ops/log.h"
#include "daemon/pipeline/decision_record_sink.h"
#include "daemon/policy/parse.h"
#include "daemon/store/in_memory_counter_store.h"
#include "daemon/store/redis_counter_store.h"
#include "tact/v1/throttle.grpc.pb.h"

extern char** environ;

namespace tact::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Throttle.Check answering RELEASE at once, on the completion queues as tactd serves its own.
class NoopThrottle {
 public:
  void Register(grpc::ServerBuilder& builder, api::CallQueues& queues) {
    builder.RegisterService(&async_);
    queues.Add(&async_, &v1::Throttle::AsyncService::RequestCheck, api::CallQueues::Bind(this, &NoopThrottle::Check),
               /*slots=*/64);
  }
  void Check(grpc::ServerContext*, const v1::CheckRequest*, v1::CheckResponse* resp, api::UnaryReactor* reactor) {
    resp->mutable_decision()->set_decision(v1::RELEASE);
    reactor->Finish(grpc::Status::OK);
  }

 private:
  v1::Throttle::AsyncService async_;
};

// A service served on loopback as tactd serves it (api::CallQueues, `threads` queues). Shutdown() before the
// workers go.
struct Served {
  template <typename Service>
  Served(Service& service, int threads) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    queues = std::make_unique<api::CallQueues>(b, threads);
    service.Register(b, *queues);
    server = b.BuildAndStart();
    queues->Start();
  }
  std::string target() const { return absl::StrCat("127.0.0.1:", port); }
  void Shutdown() {
    server->Shutdown();
    queues->Shutdown();
  }
  int port = 0;
  std::unique_ptr<api::CallQueues> queues;
  std::unique_ptr<grpc::Server> server;
};

struct Result {
  double rate = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int errors = 0;
  double cpu_us = 0;  // CPU time per call: this process (client + server) and redis-server
  double redis_cpu_us = 0;  // of which redis-server
};

pid_t g_redis_pid = 0;

double TotalCpuMicros() { return CpuMicros(0) + (g_redis_pid != 0 ? CpuMicros(g_redis_pid) : 0); }

struct Pending {
  grpc::ClientContext ctx;
  v1::CheckResponse resp;
  grpc::Status status;
  Clock::time_point start;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::CheckResponse>> rpc;
};

v1::CheckRequest MakeRequest(uint64_t i) {
  v1::CheckRequest req;
  v1::OutboundEvent* ev = req.mutable_event();
  ev->set_event_id(absl::StrCat("bench-", i));
  ev->set_tenant("acme");
  ev->set_customer_id(absl::StrCat("cust-", i * 2654435761u % 1000000));
  ev->set_channel(v1::EMAIL);
  ev->set_message_class(v1::PROMOTION);
  return req;
}

// rate > 0: open loop at `rate` calls/s. rate == 0: closed loop with `outstanding` calls in flight.
Result Drive(const std::string& target, double rate, int outstanding, double seconds) {
  auto stub = v1::Throttle::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::CompletionQueue cq;
  static std::atomic<uint64_t> seq{0};
  std::vector<double> latencies;
  int errors = 0;
  int in_flight = 0;
  auto send = [&](Clock::time_point scheduled) {
    auto* p = new Pending();  // owned by the completion queue until its tag comes back
    p->start = scheduled;
    p->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    p->rpc = stub->AsyncCheck(&p->ctx, MakeRequest(seq++), &cq);
    p->rpc->Finish(&p->resp, &p->status, p);
    ++in_flight;
  };
  const auto start = Clock::now();
  const double cpu_start = TotalCpuMicros();
  const double redis_start = g_redis_pid != 0 ? CpuMicros(g_redis_pid) : 0;
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  // One thread sends and reaps: the open loop sends each call when its time has come (waiting in the completion
  // queue until then), and measures it from that scheduled time, so a late send counts against the latency.
  const auto step = rate > 0 ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate))
                             : Clock::duration::zero();
  auto next = start;
  bool sending = rate > 0;
  if (rate == 0) {
    for (int i = 0; i < outstanding; ++i) send(Clock::now());
  }
  void* tag = nullptr;
  bool ok = false;
  size_t done = 0;
  while (true) {
    if (sending && Clock::now() >= next) {
      send(next);
      next += step;
      sending = next < end;
      continue;
    }
    const Clock::duration wait = sending ? next - Clock::now() : std::chrono::seconds(5);
    const grpc::CompletionQueue::NextStatus st = cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + wait);
    if (st == grpc::CompletionQueue::SHUTDOWN) break;
    if (st == grpc::CompletionQueue::TIMEOUT) continue;
    std::unique_ptr<Pending> p(static_cast<Pending*>(tag));
    --in_flight;
    ++done;
    if (!p->status.ok()) ++errors;
    latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - p->start).count());
    if (rate == 0 && Clock::now() < end) send(Clock::now());
    if ((rate > 0 ? !sending : Clock::now() >= end) && in_flight == 0) break;
  }
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) delete static_cast<Pending*>(tag);
  std::sort(latencies.begin(), latencies.end());
  Result r;
  r.rate = done / took;
  r.errors = errors;
  r.cpu_us = done == 0 ? 0 : (TotalCpuMicros() - cpu_start) / static_cast<double>(done);
  r.redis_cpu_us = done == 0 || g_redis_pid == 0 ? 0 : (CpuMicros(g_redis_pid) - redis_start) / static_cast<double>(done);
  if (!latencies.empty()) {
    r.p50_ms = latencies[latencies.size() / 2];
    r.p99_ms = latencies[latencies.size() * 99 / 100];
  }
  return r;
}

// Ours with and without KafkaDecisionRecords, closed loop, interleaved; the median round by ratio.
// `sink` outlives `executor` (its threads publish to it).
void MeasureRecords(pipeline::KafkaDecisionRecords& sink, decision::DecisionExecutor& executor, api::CallGate& gate,
                    int outstanding, double seconds, int rounds) {
  api::ThrottleService plain(executor, gate, {});
  api::ThrottleService recorded(executor, gate, {}, &sink);
  Served s1(plain, 1);
  Served s2(recorded, 1);
  const std::string plain_t = s1.target();
  const std::string recorded_t = s2.target();
  Drive(recorded_t, 0, 8, 0.5);  // warm-up: the producer's connection and metadata
  std::vector<std::pair<Result, Result>> all;
  for (int i = 0; i < rounds; ++i) {  // the order alternates: neither always runs on a warmer machine
    Result without;
    Result with;
    if (i % 2 == 0) {
      without = Drive(plain_t, 0, outstanding, seconds);
      with = Drive(recorded_t, 0, outstanding, seconds);
    } else {
      with = Drive(recorded_t, 0, outstanding, seconds);
      without = Drive(plain_t, 0, outstanding, seconds);
    }
    all.emplace_back(without, with);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.second.rate / a.first.rate < b.second.rate / b.first.rate;
  });
  const auto& [without, with] = all[all.size() / 2];
  std::printf("grpc.check_records ratio=%.2f with=%.0f/s without=%.0f/s outstanding=%d errors=%d "
              "cpu_per_call=%.1fus/%.1fus lost=%lld\n",
              with.rate / without.rate, with.rate, without.rate, outstanding, with.errors, with.cpu_us,
              without.cpu_us, static_cast<long long>(sink.lost()));
  std::fflush(stdout);
  s1.Shutdown();
  s2.Shutdown();
}

int Main(int argc, char** argv) {
  double rate = 5000;
  double seconds = 5;
  int outstanding = 64;
  int rounds = 1;
  int threads = 1;  // completion queues (tactd's grpc.threads default: one per 4 CPUs, at least 2)
  std::string records_bootstrap;  // --records: also measure with decision records published there
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i];
    if (f == "--rate") rate = std::atof(argv[i + 1]);
    if (f == "--seconds") seconds = std::atof(argv[i + 1]);
    if (f == "--outstanding") outstanding = std::atoi(argv[i + 1]);
    if (f == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
    if (f == "--threads") threads = std::max(1, std::atoi(argv[i + 1]));
    if (f == "--records") records_bootstrap = argv[i + 1];
  }
  ops::SetLogLevel(ops::LogLevel::kWarning);  // no per-call access log lines in the measurement
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as tactd does
  // Real Redis on a free port.
  std::error_code ec;
  const std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  const std::string dir = (ec ? std::filesystem::path("/tmp") : tmp) / absl::StrCat("tact-grpc-bench-", getpid());
  if (std::filesystem::create_directories(dir, ec); ec) {
    std::fprintf(stderr, "%s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  const int redis_port = 20000 + getpid() % 20000;
  pid_t redis_pid = 0;
  {
    std::vector<std::string> a{"redis-server", "--port", std::to_string(redis_port), "--bind", "127.0.0.1", "--dir",
                               dir, "--save", "", "--logfile", dir + "/redis.log"};
    std::vector<char*> args;
    for (std::string& s : a) args.push_back(s.data());
    args.push_back(nullptr);
    posix_spawnp(&redis_pid, args[0], nullptr, nullptr, args.data(), environ);
    g_redis_pid = redis_pid;
  }
  SystemClock clock;
  store::RedisSettings rs;
  rs.port = redis_port;
  store::RedisCounterStore redis_store(rs, clock);
  for (int i = 0; i < 200 && !redis_store.Healthy(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));  // start-up poll
  }
  store::InMemoryCounterStore memory_store;
  store::CounterStore& store = getenv("TACT_BENCH_MEMORY") ? static_cast<store::CounterStore&>(memory_store) : redis_store;
  std::optional<policy::Policy> pol = DefaultPolicy();
  if (!pol) return 1;
  decision::PolicyHolder policies;
  policies.Set(std::make_shared<const policy::Policy>(*std::move(pol)));
  const CustomerHasher hasher("bench-key");
  prometheus::Registry registry;
  pipeline::PipelineStats stats(registry);
  std::unique_ptr<pipeline::KafkaDecisionRecords> sink;  // declared before the executor: its threads use it
  if (!records_bootstrap.empty()) {
    absl::StatusOr<std::unique_ptr<pipeline::KafkaDecisionRecords>> created = pipeline::KafkaDecisionRecords::Create(
        {.brokers = records_bootstrap, .topic = "tact.decisions", .stats = &stats}, clock);
    if (!created.ok()) {
      std::fprintf(stderr, "--records: %s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    sink = *std::move(created);
  }
  decision::DecisionService decider(policies, store, clock, hasher);
  decision::DecisionExecutor executor(decider, 4, 8192, 64);  // CheckBatch's and Explain's (not measured here)
  api::CallGate gate(nullptr, clock);
  api::ThrottleService ours(executor, gate, {});
  NoopThrottle noop;
  Served s1(ours, threads);
  Served s2(noop, threads);
  const std::string ours_t = s1.target();
  const std::string noop_t = s2.target();

  Drive(ours_t, 0, 8, 0.5);  // warm-up: connections, script load
  Drive(noop_t, 0, 8, 0.5);
  struct Round {
    Result fo, fn, to, tn;
  };
  auto print = [&](const char* tag, const Round& r) {
    std::printf("%sgrpc.check_fixed_rate ratio=%.2f ours_p50=%.3fms ours_p99=%.3fms noop_p50=%.3fms "
                "noop_p99=%.3fms offered=%.0f/s achieved=%.0f/s errors=%d cpu_per_call=%.0fus/%.0fus\n",
                tag, r.fo.p99_ms / std::max(r.fn.p99_ms, 1e-9), r.fo.p50_ms, r.fo.p99_ms, r.fn.p50_ms, r.fn.p99_ms,
                rate, r.fo.rate, r.fo.errors, r.fo.cpu_us, r.fn.cpu_us);
    std::printf("%sgrpc.check_throughput ratio=%.2f ours=%.0f/s noop=%.0f/s outstanding=%d errors=%d "
                "cpu_per_call=%.0fus/%.0fus (redis %.0fus)\n",
                tag, r.to.rate / r.tn.rate, r.to.rate, r.tn.rate, outstanding, r.to.errors, r.to.cpu_us, r.tn.cpu_us,
                r.to.redis_cpu_us);
    std::fflush(stdout);
  };
  std::vector<Round> all;
  for (int i = 0; i < rounds; ++i) {
    Round r;
    r.fo = Drive(ours_t, rate, 0, seconds);
    r.fn = Drive(noop_t, rate, 0, seconds);
    r.to = Drive(ours_t, 0, outstanding, seconds);
    r.tn = Drive(noop_t, 0, outstanding, seconds);
    if (rounds > 1) print(absl::StrCat("round ", i + 1, ": ").c_str(), r);
    all.push_back(r);
  }
  // The median round of each measurement (by ours' p99, by the throughput ratio).
  std::vector<Round> by_p99 = all;
  std::sort(by_p99.begin(), by_p99.end(), [](const Round& a, const Round& b) { return a.fo.p99_ms < b.fo.p99_ms; });
  std::vector<Round> by_ratio = all;
  std::sort(by_ratio.begin(), by_ratio.end(),
            [](const Round& a, const Round& b) { return a.to.rate / a.tn.rate < b.to.rate / b.tn.rate; });
  Round median = by_p99[by_p99.size() / 2];
  median.to = by_ratio[by_ratio.size() / 2].to;
  median.tn = by_ratio[by_ratio.size() / 2].tn;
  print("", median);
  if (sink != nullptr) MeasureRecords(*sink, executor, gate, outstanding, seconds, rounds);
  s1.Shutdown();
  s2.Shutdown();
  kill(redis_pid, SIGTERM);
  waitpid(redis_pid, nullptr, 0);
  std::filesystem::remove_all(dir, ec);
  return 0;
}

}  // namespace
}  // namespace tact::bench

int main(int argc, char** argv) { return tact::bench::Main(argc, argv); }
