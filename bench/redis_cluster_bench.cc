// Counter store on one redis-server vs a Redis Cluster of 3 masters (no replicas), all on this machine: decisions/s
// and redis-server CPU per decision, per node, and how the decisions spread over the nodes. A decision = one
// check of a new customer with two rolling windows (the default policy's promotion limits), batches of --batch
// customers per CheckAndReserve from --connections threads.
//
//   build/bench/redis_cluster_bench [--connections 4] [--requests 60000] [--batch 32]
//
// cluster.single   one node, the batch in one EVALSHA (redis.batching script, the default)
// cluster.pipeline one node, one EVALSHA per customer pipelined (what a cluster node gets)
// cluster.3masters the cluster: per node its share of the decisions and its CPU per decision (INFO commandstats
//                  usec of EVALSHA / decisions it ran, and /proc CPU of the process), and the sum
// The machine has few cores: throughput is bounded by them (all nodes and this client share them); the CPU per
// decision on each node is what sizes a deployment (docs/operations.md, Redis Cluster sizing).
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/proc_cpu.h"
#include "daemon/core/clock.h"
#include "daemon/store/redis_counter_store.h"

extern char** environ;

namespace tact::bench {
namespace {

struct Options {
  int connections = 4;
  int requests = 60000;
  int batch = 32;
};

// Starts argv with its stdout on /dev/null.
pid_t Spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

int FreePort() {
  static int next = 0;
  if (next == 0) next = 20000 + (getpid() % 20000);
  return next++;
}

using Reply = std::unique_ptr<redisReply, void (*)(void*)>;
Reply Cmd(int port, const std::string& command) {
  std::unique_ptr<redisContext, void (*)(redisContext*)> c(redisConnect("127.0.0.1", port), redisFree);
  void* r = c && c->err == 0 ? redisCommand(c.get(), command.c_str()) : nullptr;
  return Reply(static_cast<redisReply*>(r), freeReplyObject);
}

pid_t StartRedis(const std::string& dir, int port, bool cluster) {
  const std::string data = absl::StrCat(dir, "/", port);
  std::filesystem::create_directories(data);
  std::vector<std::string> a{"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--dir", data,
                             "--save", "", "--appendonly", "no", "--logfile", data + "/redis.log"};
  if (cluster) a.insert(a.end(), {"--cluster-enabled", "yes", "--cluster-config-file", data + "/nodes.conf"});
  const pid_t pid = Spawn(a);
  for (int i = 0; i < 500 && Cmd(port, "PING") == nullptr; ++i) usleep(10000);
  return pid;
}

double Field(int port, const char* section, const char* field) {
  Reply r = Cmd(port, absl::StrCat("INFO ", section));
  const char* p = r ? std::strstr(r->str, field) : nullptr;
  return p ? std::atof(p + std::strlen(field)) : 0;
}

// Decisions/s of `threads` x batches of new customers through `store`.
double Drive(store::RedisCounterStore& store, const Options& o, const std::string& run) {
  std::atomic<int> next{0};
  std::atomic<int> errors{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < o.connections; ++t) {
    threads.emplace_back([&, t] {
      std::vector<store::CustomerCheck> checks(static_cast<size_t>(o.batch));
      for (int b; (b = next.fetch_add(o.batch)) < o.requests;) {
        const absl::Time now = absl::Now();
        for (int i = 0; i < o.batch; ++i) {
          store::CustomerCheck& c = checks[static_cast<size_t>(i)];
          c = {.tenant = "acme", .customer_id = absl::StrCat(run, "-", b + i), .event_id = absl::StrCat("e", t),
               .now = now, .marker = "m3;bench-marker-of-a-typical-size"};
          c.spec.limits.push_back({.counter = "r:promotion-1-per-day", .count = 1, .window = absl::Hours(24)});
          c.spec.limits.push_back({.counter = "r:promotion-3-per-week", .count = 3, .window = absl::Hours(168)});
        }
        absl::StatusOr<std::vector<store::CheckResult>> r = store.CheckAndReserve(checks, now + absl::Seconds(5));
        if (!r.ok()) errors += o.batch;
        for (size_t i = 0; r.ok() && i < r->size(); ++i) errors += (*r)[i].status.ok() ? 0 : 1;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (errors > 0) std::fprintf(stderr, "%s: %d errors\n", run.c_str(), errors.load());
  return o.requests / secs;
}

struct NodeFigures {
  double calls = 0;     // EVALSHA calls (= decisions on a cluster node)
  double usec = 0;      // EVALSHA CPU, µs
  double proc_us = 0;   // the process' CPU, µs
};

std::vector<NodeFigures> Measure(const std::vector<int>& ports, const std::vector<pid_t>& pids,
                                 const std::function<void()>& run) {
  std::vector<double> cpu0;
  for (size_t i = 0; i < ports.size(); ++i) {
    Cmd(ports[i], "CONFIG RESETSTAT");
    cpu0.push_back(CpuMicros(pids[i]));
  }
  run();
  std::vector<NodeFigures> out;
  for (size_t i = 0; i < ports.size(); ++i) {
    out.push_back({.calls = Field(ports[i], "commandstats", "cmdstat_evalsha:calls="),
                   .proc_us = CpuMicros(pids[i]) - cpu0[i]});
    Reply r = Cmd(ports[i], "INFO commandstats");
    const char* p = r ? std::strstr(r->str, "cmdstat_evalsha:") : nullptr;
    p = p ? std::strstr(p, "usec=") : nullptr;
    out.back().usec = p ? std::atof(p + 5) : 0;
  }
  return out;
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (flag == "--connections") o.connections = v;
    else if (flag == "--requests") o.requests = v;
    else if (flag == "--batch") o.batch = v;
  }
  const std::string dir = absl::StrCat("/tmp/tact-cluster-bench-", getpid());
  std::filesystem::create_directories(dir);
  SystemClock clock;

  const int single_port = FreePort();
  const pid_t single_pid = StartRedis(dir, single_port, false);
  std::vector<int> ports;
  std::vector<pid_t> pids;
  std::vector<std::string> create = {"redis-cli", "--cluster", "create"};
  for (int i = 0; i < 3; ++i) {
    ports.push_back(FreePort());
    pids.push_back(StartRedis(dir, ports.back(), true));
    create.push_back(absl::StrCat("127.0.0.1:", ports.back()));
  }
  create.insert(create.end(), {"--cluster-replicas", "0", "--cluster-yes"});
  const pid_t cli = Spawn(create);
  waitpid(cli, nullptr, 0);
  for (int i = 0, ok = 0; i < 1000 && ok < 3; ++i) {  // every node sees the whole cluster
    ok = 0;
    for (int port : ports) {
      Reply r = Cmd(port, "CLUSTER INFO");
      ok += r && std::strstr(r->str, "cluster_state:ok") ? 1 : 0;
    }
    usleep(10000);
  }

  for (const auto batching : {store::RedisSettings::Batching::kOneScript, store::RedisSettings::Batching::kPipelined}) {
    store::RedisSettings s;
    s.port = single_port;
    s.batching = batching;
    s.legacy_keys = false;
    store::RedisCounterStore single(s, clock);
    const char* name = batching == store::RedisSettings::Batching::kOneScript ? "cluster.single" : "cluster.pipeline";
    double rate = 0;
    const std::vector<NodeFigures> f =
        Measure({single_port}, {single_pid}, [&] { rate = Drive(single, o, name); });
    std::printf("%s decisions/s=%.0f redis_evalsha_us_per_decision=%.2f redis_process_us_per_decision=%.2f\n", name,
                rate, f[0].usec / o.requests, f[0].proc_us / o.requests);
  }
  {
    store::RedisSettings s;
    if (!store::ParseRedisAddress(absl::StrCat("redis+cluster://127.0.0.1:", ports[0]), &s).ok()) return 1;
    store::RedisCounterStore cluster(s, clock);
    double rate = 0;
    const std::vector<NodeFigures> f = Measure(ports, pids, [&] { rate = Drive(cluster, o, "cluster.3masters"); });
    double usec = 0;
    double proc = 0;
    std::vector<std::string> nodes;
    for (size_t i = 0; i < f.size(); ++i) {
      usec += f[i].usec;
      proc += f[i].proc_us;
      nodes.push_back(absl::StrFormat("node%d share=%.3f evalsha_us_per_decision=%.2f process_us_per_decision=%.2f",
                                      static_cast<int>(i), f[i].calls / o.requests,
                                      f[i].calls > 0 ? f[i].usec / f[i].calls : 0,
                                      f[i].calls > 0 ? f[i].proc_us / f[i].calls : 0));
    }
    std::printf("cluster.3masters decisions/s=%.0f redis_evalsha_us_per_decision=%.2f "
                "redis_process_us_per_decision=%.2f | %s\n",
                rate, usec / o.requests, proc / o.requests, absl::StrJoin(nodes, " | ").c_str());
  }
  kill(single_pid, SIGTERM);
  for (pid_t p : pids) kill(p, SIGTERM);
  waitpid(single_pid, nullptr, 0);
  for (pid_t p : pids) waitpid(p, nullptr, 0);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace tact::bench

int main(int argc, char** argv) { return tact::bench::Main(argc, argv); }
