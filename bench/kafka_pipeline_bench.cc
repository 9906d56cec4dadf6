// The Kafka path end to end: tactd (consume tact.outbound → decide with real Redis → produce the routed event
// and the decision record) against a raw librdkafka consume→produce pass-through, on the same tact-devbroker with
// the same input, at 1, 4 and 16 partitions. One dev broker per partition count; the pass-through and tactd
// read the same preloaded events with their own consumer groups.
//
//   build/bench/kafka_pipeline_bench [--events 20000] [--partitions 1,4,16] [--tactd-flag F]...
// (tact-devbroker keeps about 5 MB per partition: at 1 partition, 20,000 events fit, 40,000 do not.)
//
// kafka.pipeline   ratio = tactd events/s ÷ pass-through events/s (goal ≥ 0.6), per partition count.
// Both rates are timed from the first consumed input to the last acknowledged output (group join and start-up
// excluded); tactd's from its /metrics, polled every 20 ms. Both producers know their output topics' metadata
// before the first input (tactd asks at start; the pass-through here), so neither rate includes the first
// produce's metadata wait.
// Every event is a PROMOTION of its own customer, so each is RELEASEd (one routed output + one decision record
// for tactd; one output for the pass-through). TACT_BENCH_KEEP=1 keeps the work directory (logs).
#include <fcntl.h>
#include <librdkafka/rdkafkacpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/proc_cpu.h"

extern char** environ;

namespace tact::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A child process with its output in `log`; SIGTERM (then SIGKILL) when destroyed.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& log, std::vector<std::string> env = {}) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
    envs.insert(envs.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (std::string& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), envp.data()) != 0) {
      std::fprintf(stderr, "kafka_pipeline_bench: cannot start %s\n", args[0]);
      std::exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() { Stop(); }
  bool Running() { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
  pid_t pid() const { return pid_; }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 300 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // shutdown poll
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// Polls `done` every 20 ms for up to `seconds`.
template <typename F>
bool Poll(F done, double seconds) {
  const auto until = SteadyClock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (SteadyClock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// GET http://127.0.0.1:port/path → body ("" on failure).
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string req = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "";
  }
  std::string resp;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

// The value of one series in a Prometheus text page (0 when absent).
double Metric(const std::string& page, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(page, '\n')) {
    if (absl::ConsumePrefix(&line, series) && absl::ConsumePrefix(&line, " ")) {
      double v = 0;
      if (absl::SimpleAtod(line, &v)) return v;
    }
  }
  return 0;
}

std::unique_ptr<RdKafka::Conf> Conf(const std::map<std::string, std::string>& kv) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : kv) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      std::fprintf(stderr, "kafka_pipeline_bench: %s: %s\n", k.c_str(), err.c_str());
      std::exit(1);
    }
  }
  return conf;
}

void Preload(const std::string& brokers, int events) {
  auto conf = Conf({{"bootstrap.servers", brokers}, {"linger.ms", "20"}, {"enable.idempotence", "true"}});
  std::string err;
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  for (int i = 0; i < events; ++i) {
    const std::string key = absl::StrCat("acme:bench-", i);
    std::string value = absl::StrCat(R"({"eventId":"b-)", i, R"(","tenant":"acme","customerId":"bench-)", i,
                                     R"(","channel":"EMAIL","messageClass":"PROMOTION"})");
    while (p->produce("tact.outbound", RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, value.data(),
                      value.size(), key.data(), key.size(), 0, nullptr) == RdKafka::ERR__QUEUE_FULL) {
      p->poll(10);
    }
  }
  if (p->flush(120000) != RdKafka::ERR_NO_ERROR) {
    std::fprintf(stderr, "kafka_pipeline_bench: preload did not finish\n");
    std::exit(1);
  }
}

// The baseline: consume tact.outbound, produce each message unchanged (key, value, headers) to bench.passthrough,
// offsets stored after the output's delivery report, as lean as librdkafka allows.
class PassThrough : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      ++failed_;
      return;
    }
    ++acked_;
    auto* tp = static_cast<RdKafka::TopicPartition*>(m.msg_opaque());
    std::vector<RdKafka::TopicPartition*> one{tp};
    consumer_->offsets_store(one);
    delete tp;
  }

  // events/s from the first consumed input to the last acknowledged output.
  double Run(const std::string& brokers, int events) {
    auto pconf = Conf({{"bootstrap.servers", brokers}, {"enable.idempotence", "true"}, {"linger.ms", "5"}});
    std::string err;
    if (pconf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) != RdKafka::Conf::CONF_OK) {
      std::exit(1);
    }
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(pconf.get(), err));
    // As tactd does at start: learn the output topic before the first message. Without it the first produce
    // waits ~0.9 s for a metadata refresh, and at 20,000 events that wait was 95% of the measured time.
    std::unique_ptr<RdKafka::Topic> out(RdKafka::Topic::create(producer.get(), "bench.passthrough", nullptr, err));
    RdKafka::Metadata* md = nullptr;
    if (out == nullptr || producer->metadata(false, out.get(), &md, 10000) != RdKafka::ERR_NO_ERROR) {
      std::fprintf(stderr, "kafka_pipeline_bench: pass-through: no metadata for bench.passthrough\n");
      std::exit(1);
    }
    delete md;
    auto cconf = Conf({{"bootstrap.servers", brokers}, {"group.id", "bench-passthrough"},
                       {"auto.offset.reset", "earliest"}, {"enable.auto.offset.store", "false"},
                       {"session.timeout.ms", "6000"}, {"partition.assignment.strategy", "cooperative-sticky"}});
    consumer_.reset(RdKafka::KafkaConsumer::create(cconf.get(), err));
    consumer_->subscribe({"tact.outbound"});
    int consumed = 0;
    const auto give_up = SteadyClock::now() + std::chrono::minutes(2);
    while (acked_ < events && SteadyClock::now() < give_up) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(consumed < events ? 100 : 1));
      producer->poll(0);
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      if (consumed++ == 0) first_consumed_ = SteadyClock::now();
      auto* next = RdKafka::TopicPartition::create(m->topic_name(), m->partition(), m->offset() + 1);
      RdKafka::Headers* h = m->headers() != nullptr ? RdKafka::Headers::create(m->headers()->get_all()) : nullptr;
      while (producer->produce("bench.passthrough", RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                               m->payload(), m->len(), m->key_pointer(), m->key_len(), 0, h, next) ==
             RdKafka::ERR__QUEUE_FULL) {
        producer->poll(10);
      }
    }
    const auto end = SteadyClock::now();
    if (std::getenv("TACT_BENCH_KEEP") != nullptr) {
      std::fprintf(stderr, "kafka_pipeline_bench: pass-through consumed %d, acked %d, failed %d\n", consumed, acked_,
                   failed_);
    }
    producer->flush(10000);
    consumer_->close();
    if (acked_ < events || failed_ > 0) {
      std::fprintf(stderr, "kafka_pipeline_bench: pass-through acked %d of %d (%d failed)\n", acked_, events, failed_);
      return 0;
    }
    return events / Seconds(end - first_consumed_);
  }

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  int acked_ = 0;
  int failed_ = 0;
  SteadyClock::time_point first_consumed_;
};

struct TactdRun {
  double rate = 0;  // events/s; 0 = failed
  // CPU time per event over the timed span: tactd, redis-server, the dev broker.
  double tactd_us = 0;
  double redis_us = 0;
  double broker_us = 0;
};

// tactd as deployed (at_least_once), its rate from its own metrics: decision records acknowledged by the broker.
TactdRun RunTactd(const std::filesystem::path& bin, const std::string& dir, const std::string& brokers,
                  const std::string& redis, pid_t redis_pid, pid_t broker_pid, int events,
                  const std::vector<std::string>& extra) {
  const int admin = FreePort();
  std::vector<std::string> argv{(bin / "tactd").string(), "--policies", TACT_SOURCE_DIR "/policies/default",
                                "--kafka-brokers", brokers, "--redis", redis,
                                "--grpc-listen", absl::StrCat("127.0.0.1:", FreePort()), "--grpc-plaintext", "true",
                                "--admin-listen", absl::StrCat("127.0.0.1:", admin),
                                "--kafka-group-id", "bench-tactd", "--kafka-session-timeout-ms", "6000",
                                "--log-level", "warn"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Child tactd(argv, dir + "/tactd.log", {"TACT_CUSTOMER_HASH_KEY=bench"});
  const std::string decisions = R"(tact_kafka_produced_total{topic="tact.decisions"})";
  const std::string consumed = R"(tact_kafka_consumed_total{topic="tact.outbound"})";
  SteadyClock::time_point began;
  bool started = false;
  double n = 0;
  double cpu_began[3] = {0, 0, 0};
  auto cpu = [&](double* out) {
    out[0] = CpuMicros(tactd.pid());
    out[1] = CpuMicros(redis_pid);
    out[2] = CpuMicros(broker_pid);
  };
  const bool done = Poll(
      [&] {
        const std::string page = HttpGet(admin, "/metrics");
        if (!started && Metric(page, consumed) > 0) {
          started = true;
          began = SteadyClock::now();
          cpu(cpu_began);
        }
        n = Metric(page, decisions);
        return n >= events || !tactd.Running();
      },
      600);
  const auto end = SteadyClock::now();
  double cpu_end[3] = {0, 0, 0};
  cpu(cpu_end);
  {
    const std::string page = HttpGet(admin, "/metrics");
    const double batches = Metric(page, "tact_kafka_batches_total");
    if (std::getenv("TACT_BENCH_KEEP") != nullptr) {
      std::ofstream(dir + "/tactd.metrics") << page;
    }
    std::fprintf(stderr, "kafka_pipeline_bench: tactd mean batch %.1f events, %.0f store calls\n",
                 batches > 0 ? Metric(page, consumed) / batches : 0,
                 Metric(page, R"(tact_redis_calls_total{op="check_and_reserve"})"));
  }
  if (!done || n < events) {
    std::fprintf(stderr, "kafka_pipeline_bench: tactd decided %.0f of %d (log: %s/tactd.log)\n", n, events,
                 dir.c_str());
    return {};
  }
  return {.rate = events / Seconds(end - began),
          .tactd_us = (cpu_end[0] - cpu_began[0]) / events,
          .redis_us = (cpu_end[1] - cpu_began[1]) / events,
          .broker_us = (cpu_end[2] - cpu_began[2]) / events};
}

}  // namespace
}  // namespace tact::bench

int main(int argc, char** argv) {
  using namespace tact::bench;
  int events = 20000;
  std::vector<int> partition_counts{1, 4, 16};
  std::vector<std::string> tactd_flags;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--events" && i + 1 < argc) {
      events = std::atoi(argv[++i]);
    } else if (a == "--partitions" && i + 1 < argc) {
      partition_counts.clear();
      for (absl::string_view p : absl::StrSplit(argv[++i], ',')) partition_counts.push_back(std::atoi(std::string(p).c_str()));
    } else if (a == "--tactd-flag" && i + 1 < argc) {
      tactd_flags.push_back(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: kafka_pipeline_bench [--events N] [--partitions 1,4,16] [--tactd-flag F]...\n");
      return 2;
    }
  }
  std::error_code ec;
  const std::filesystem::path bin = std::filesystem::canonical("/proc/self/exe", ec).parent_path().parent_path();
  if (ec) {
    std::fprintf(stderr, "kafka_pipeline_bench: /proc/self/exe: %s\n", ec.message().c_str());
    return 1;
  }
  char tmpl[] = "/tmp/tact-kpbench.XXXXXX";
  const std::string work = mkdtemp(tmpl);
  int status = 0;
  for (int partitions : partition_counts) {
    const std::string dir = absl::StrCat(work, "/p", partitions);
    if (std::filesystem::create_directories(dir, ec); ec) {
      std::fprintf(stderr, "kafka_pipeline_bench: %s: %s\n", dir.c_str(), ec.message().c_str());
      return 1;
    }
    const int redis_port = FreePort();
    Child redis({"redis-server", "--port", std::to_string(redis_port), "--bind", "127.0.0.1", "--dir", dir, "--save",
                 "", "--appendonly", "no"},
                dir + "/redis.log");
    Child broker({(bin / "tact-devbroker").string(), "--partitions", std::to_string(partitions), "--topic",
                  "bench.passthrough", "--bootstrap-file", dir + "/bootstrap"},
                 dir + "/devbroker.log");
    if (!Poll([&] { return !ReadFile(dir + "/bootstrap").empty(); }, 20) ||
        !Poll([&] { return ReadFile(dir + "/redis.log").find("Ready to accept") != std::string::npos; }, 20)) {
      std::fprintf(stderr, "kafka_pipeline_bench: broker or redis did not start (%s)\n", dir.c_str());
      return 1;
    }
    const std::string brokers(absl::StripAsciiWhitespace(ReadFile(dir + "/bootstrap")));
    Preload(brokers, events);
    const double pass = PassThrough().Run(brokers, events);
    const TactdRun ours = RunTactd(bin, dir, brokers, absl::StrCat("127.0.0.1:", redis_port), redis.pid(),
                                   broker.pid(), events, tactd_flags);
    if (pass <= 0 || ours.rate <= 0) {
      status = 1;
      continue;
    }
    std::printf("kafka.pipeline partitions=%d ratio=%.3f tactd=%.0f/s passthrough=%.0f/s events=%d "
                "cpu_per_event=tactd:%.0fus,redis:%.0fus,broker:%.0fus\n",
                partitions, ours.rate / pass, ours.rate, pass, events, ours.tactd_us, ours.redis_us, ours.broker_us);
    std::fflush(stdout);
  }
  if (std::getenv("TACT_BENCH_KEEP") == nullptr) {
    std::filesystem::remove_all(work, ec);
  } else {
    std::fprintf(stderr, "kafka_pipeline_bench: logs in %s\n", work.c_str());
  }
  return status;
}
