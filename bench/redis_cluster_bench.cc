// Counter store on one redis-server vs a Redis Cluster of 3 masters (no replicas), all on this machine: decisions/s
// and redis-server CPU per decision, per node, and how the decisions spread over the nodes. A decision = one
// check of a new customer with two rolling windows (the default policy's promotion limits), batches of --batch
// customers per CheckAndReserve from --connections threads.
//
//   build/bench/redis_cluster_bench [--connections 4] [--requests 60000] [--batch 32] [--rounds 3]
//
// The cluster.node_batch line: the ratio of a cluster master's Redis CPU per decision with one batch per node (redis.batching
// script) to one EVALSHA per customer (pipeline), both with redis.checks script (check.lua decides), measured in the
// same run, rounds interleaved.
// cluster.single        one node, the batch in one EVALSHA (redis.batching script, the default)
// cluster.pipeline      one node, one EVALSHA per customer pipelined
// cluster.3masters.each the cluster, one EVALSHA per customer (redis.batching pipeline)
// cluster.3masters.node the cluster, one EVALSHA per node for all of its customers in the batch (script)
// cluster.3masters.compare_and_set  the cluster with redis.checks compare_and_set (the default): per customer one
//                       MGET and one SET NX (new customers), decided in tactd
// cluster.compare_and_set  ratio = compare_and_set's Redis CPU per decision per master / check.lua per node's
//   per master: its share of the decisions (keys it holds: one per new customer) and its CPU per decision (INFO
//   commandstats usec of EVALSHA, and /proc CPU of the process, over the decisions it ran), and over all masters
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
  int rounds = 3;
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
  double decisions = 0;  // new keys: one per new customer decided there
  double usec = 0;       // EVALSHA CPU, µs
  double proc_us = 0;    // the process' CPU, µs
  NodeFigures& operator+=(const NodeFigures& o) {
    decisions += o.decisions;
    usec += o.usec;
    proc_us += o.proc_us;
    return *this;
  }
};

std::vector<NodeFigures> Measure(const std::vector<int>& ports, const std::vector<pid_t>& pids,
                                 const std::function<void()>& run) {
  std::vector<double> cpu0;
  std::vector<double> keys0;
  for (size_t i = 0; i < ports.size(); ++i) {
    Cmd(ports[i], "CONFIG RESETSTAT");
    cpu0.push_back(CpuMicros(pids[i]));
    keys0.push_back(Field(ports[i], "keyspace", "db0:keys="));
  }
  run();
  std::vector<NodeFigures> out;
  for (size_t i = 0; i < ports.size(); ++i) {
    out.push_back({.decisions = Field(ports[i], "keyspace", "db0:keys=") - keys0[i],
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
    else if (flag == "--rounds") o.rounds = v;
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

  using Batching = store::RedisSettings::Batching;
  using Checks = store::RedisSettings::Checks;
  for (const Batching batching : {Batching::kOneScript, Batching::kPipelined}) {
    store::RedisSettings s;
    s.port = single_port;
    s.batching = batching;
    s.checks = Checks::kScript;
    s.legacy_keys = false;
    store::RedisCounterStore single(s, clock);
    const char* name = batching == Batching::kOneScript ? "cluster.single" : "cluster.pipeline";
    double rate = 0;
    const std::vector<NodeFigures> f =
        Measure({single_port}, {single_pid}, [&] { rate = Drive(single, o, name); });
    std::printf("%s decisions/s=%.0f redis_evalsha_us_per_decision=%.2f redis_process_us_per_decision=%.2f\n", name,
                rate, f[0].usec / o.requests, f[0].proc_us / o.requests);
  }
  // The cluster three ways, rounds interleaved so that all see the same load of this shared machine: check.lua per
  // customer (0), check.lua per node (1), compare_and_set (2, the default: tactd decides).
  const char* kModes[3] = {"cluster.3masters.each", "cluster.3masters.node", "cluster.3masters.compare_and_set"};
  std::vector<NodeFigures> totals[3] = {std::vector<NodeFigures>(ports.size()), std::vector<NodeFigures>(ports.size()),
                                        std::vector<NodeFigures>(ports.size())};
  double rates[3] = {0, 0, 0};
  for (int round = 0; round < o.rounds; ++round) {
    for (const int k : {0, 1, 2}) {
      store::RedisSettings s;
      if (!store::ParseRedisAddress(absl::StrCat("redis+cluster://127.0.0.1:", ports[0]), &s).ok()) return 1;
      s.batching = k == 0 ? Batching::kPipelined : Batching::kOneScript;
      s.checks = k == 2 ? Checks::kCompareAndSet : Checks::kScript;
      store::RedisCounterStore cluster(s, clock);
      const std::string run = absl::StrCat(kModes[k], "-", round);
      double rate = 0;
      const std::vector<NodeFigures> f = Measure(ports, pids, [&] { rate = Drive(cluster, o, run); });
      for (size_t i = 0; i < f.size(); ++i) totals[k][i] += f[i];
      rates[k] += rate / o.rounds;
    }
  }
  double per_master[3] = {0, 0, 0};  // EVALSHA µs per decision over all masters
  double process[3] = {0, 0, 0};     // redis-server CPU µs per decision over all masters
  std::string lines[3];
  for (int k = 0; k < 3; ++k) {
    NodeFigures all;
    std::vector<std::string> nodes;
    for (size_t i = 0; i < ports.size(); ++i) {
      const NodeFigures& n = totals[k][i];
      all += n;
      nodes.push_back(absl::StrFormat("node%d share=%.3f evalsha_us_per_decision=%.2f process_us_per_decision=%.2f",
                                      static_cast<int>(i), n.decisions / (o.requests * o.rounds),
                                      n.decisions > 0 ? n.usec / n.decisions : 0,
                                      n.decisions > 0 ? n.proc_us / n.decisions : 0));
    }
    per_master[k] = all.decisions > 0 ? all.usec / all.decisions : 0;
    process[k] = all.decisions > 0 ? all.proc_us / all.decisions : 0;
    lines[k] = absl::StrFormat(
        "%s decisions/s=%.0f redis_evalsha_us_per_decision=%.2f redis_process_us_per_decision=%.2f "
        "decided=%.0f/%d | %s",
        kModes[k], rates[k], per_master[k],
        process[k], all.decisions, o.requests * o.rounds,
        absl::StrJoin(nodes, " | "));
  }
  // ratio: redis-server process CPU (what sizes a master); evalsha_ratio: INFO commandstats' EVALSHA time, which
  // on a loaded machine also counts the time the process waited for a core.
  std::printf("cluster.node_batch ratio=%.2f evalsha_ratio=%.2f node_batch_process_us=%.2f "
              "per_customer_process_us=%.2f node_batch_evalsha_us=%.2f per_customer_evalsha_us=%.2f "
              "(Redis CPU per decision per master: one batch per node / one EVALSHA per customer) rounds=%d\n",
              process[0] > 0 ? process[1] / process[0] : 0, per_master[0] > 0 ? per_master[1] / per_master[0] : 0,
              process[1], process[0], per_master[1], per_master[0], o.rounds);
  // compare_and_set against check.lua per node (the cluster's setting before): redis-server CPU per decision.
  std::printf("cluster.compare_and_set ratio=%.2f compare_and_set_process_us=%.2f node_batch_process_us=%.2f "
              "decisions_per_s_ratio=%.2f (Redis CPU per decision per master: compare_and_set / check.lua per node) "
              "rounds=%d\n",
              process[1] > 0 ? process[2] / process[1] : 0, process[2], process[1],
              rates[1] > 0 ? rates[2] / rates[1] : 0, o.rounds);
  std::printf("%s\n%s\n%s\n", lines[0].c_str(), lines[1].c_str(), lines[2].c_str());
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
