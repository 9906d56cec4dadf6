// The Kafka path end to end: tactd (consume tact.outbound → decide with real Redis → produce the routed event
// and the decision record) against a raw librdkafka consume→produce pass-through, on the same tact-devbroker with
// the same input, at 1, 4 and 16 partitions. Each run gets its own redis-server and dev broker, preloaded with the
// same events; the pass-through runs first, then tactd, so each ratio compares figures of the same run.
//
//   build/bench/kafka_pipeline_bench [--events 20000] [--partitions 1,4,16] [--rounds 1] [--tactd PATH]...
//                                    [--tactd-flag F]... [--flat-events]
// (tact-devbroker keeps about 5 MB per partition: at 1 partition, 20,000 events fit, 40,000 do not; more than
// 20,000 per partition of the smallest --partitions is refused.) A run of 20,000 events takes tactd ~0.3 s: on a
// shared VM, rounds that short move ±15%; --partitions 4 --events 80000 runs four times as long.
// --tactd PATH (repeatable): the tactd binaries to compare (default: the one built beside this bench); with
// several, each round runs them in turn, in alternating order, so a slow spell of the shared machine does not
// fall on one binary only. Use the same build for every binary's dev broker (this bench's directory).
//
// kafka.pipeline   ratio = tactd events/s ÷ pass-through events/s (goal ≥ 0.6), per partition count.
//                  cpu_ratio = CPU per event of tactd + redis-server + broker ÷ the pass-through's CPU per event
//                  (its own process + broker); goal < 5.
// Both rates are timed from the first consumed input to the last acknowledged output (group join and start-up
// excluded); tactd's from its /metrics (see RunTactd for how often). Both producers know their output topics' metadata
// before the first input (tactd asks at start; the pass-through here), so neither rate includes the first
// produce's metadata wait. CPU is utime+stime (/proc/<pid>/stat) over the same timed span.
// Every event is a PROMOTION of its own customer, with a template and a createdAt as producers send them
// (--flat-events: without them, the shape of the figures before 2026-12-07 night), so each is RELEASEd: tactd produces one routed output (to
// tact.released) and one decision record (to tact.decisions) per input; the pass-through produces the input
// unchanged to the same two topics, with the same producer settings (idempotent: acks=all, linger.ms=5) and
// consumer settings (read_committed, offsets stored after both outputs are acknowledged), deciding nothing.
// TACT_BENCH_KEEP=1 keeps the work directory (logs).
#include <fcntl.h>
#include <librdkafka/rdkafkacpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/proc_cpu.h"

extern char** environ;

namespace tact::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// What tact-devbroker keeps of these events per partition (about 5 MB; 40,000 did not fit).
constexpr int kEventsPerPartition = 20'000;

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

// Every event as producers send it (deploy/demo/events.jsonl): a template and a createdAt (a minute ago);
// `flat`: ids, channel and class only, the shape of the figures before 2026-12-07 night.
void Preload(const std::string& brokers, int events, bool flat) {
  auto conf = Conf({{"bootstrap.servers", brokers}, {"linger.ms", "20"}, {"enable.idempotence", "true"}});
  std::string err;
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  const std::string created =
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now() - absl::Minutes(1), absl::UTCTimeZone());
  for (int i = 0; i < events; ++i) {
    const std::string key = absl::StrCat("acme:bench-", i);
    std::string value = absl::StrCat(R"({"eventId":"b-)", i, R"(","tenant":"acme","customerId":"bench-)", i,
                                     R"(","channel":"EMAIL","messageClass":"PROMOTION")");
    if (!flat) absl::StrAppend(&value, R"(,"templateId":"bench-template","createdAt":")", created, R"(")");
    value += "}";
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

// What one side of a run cost: events/s (0 = failed) and CPU per event over its timed span.
struct Measured {
  double rate = 0;
  double own_us = 0;    // the pass-through's process, or tactd
  double redis_us = 0;  // tactd only
  double broker_us = 0;
  double total_us() const { return own_us + redis_us + broker_us; }
};

// The baseline: consume tact.outbound, produce each message unchanged (key, value, headers) to tact.released and
// tact.decisions (tactd's two outputs of a RELEASEd event), its offset stored once both are acknowledged, with
// tactd's consumer and producer settings; as lean as librdkafka allows.
class PassThrough : public RdKafka::DeliveryReportCb {
 public:
  static constexpr const char* kOutputs[] = {"tact.released", "tact.decisions"};
  struct InFlight {
    std::unique_ptr<RdKafka::TopicPartition> next;  // the offset to store
    int pending = 2;
  };

  void dr_cb(RdKafka::Message& m) override {
    auto* in = static_cast<InFlight*>(m.msg_opaque());
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      ++failed_;
      return;
    }
    if (--in->pending > 0) return;
    ++acked_;
    std::vector<RdKafka::TopicPartition*> one{in->next.get()};
    consumer_->offsets_store(one);
    delete in;
  }

  // From the first consumed input to the last acknowledged output.
  Measured Run(const std::string& brokers, int events, pid_t broker_pid) {
    auto pconf = Conf({{"bootstrap.servers", brokers}, {"enable.idempotence", "true"}, {"linger.ms", "5"},
                       {"message.timeout.ms", "30000"}});
    std::string err;
    if (pconf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) != RdKafka::Conf::CONF_OK) {
      std::exit(1);
    }
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(pconf.get(), err));
    // As tactd does at start: learn the output topics before the first message. Without it the first produce
    // waits ~0.9 s for a metadata refresh, and at 20,000 events that wait was 95% of the measured time.
    for (const char* topic : kOutputs) {
      std::unique_ptr<RdKafka::Topic> out(RdKafka::Topic::create(producer.get(), topic, nullptr, err));
      RdKafka::Metadata* md = nullptr;
      if (out == nullptr || producer->metadata(false, out.get(), &md, 10000) != RdKafka::ERR_NO_ERROR) {
        std::fprintf(stderr, "kafka_pipeline_bench: pass-through: no metadata for %s\n", topic);
        std::exit(1);
      }
      delete md;
    }
    auto cconf = Conf({{"bootstrap.servers", brokers}, {"group.id", "bench-passthrough"},
                       {"auto.offset.reset", "earliest"}, {"enable.auto.offset.store", "false"},
                       {"isolation.level", "read_committed"}, {"session.timeout.ms", "6000"},
                       {"heartbeat.interval.ms", "2000"}, {"partition.assignment.strategy", "cooperative-sticky"}});
    consumer_.reset(RdKafka::KafkaConsumer::create(cconf.get(), err));
    consumer_->subscribe({"tact.outbound"});
    int consumed = 0;
    double cpu_began[2] = {0, 0};
    const auto give_up = SteadyClock::now() + std::chrono::minutes(2);
    while (acked_ < events && SteadyClock::now() < give_up) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(consumed < events ? 100 : 1));
      producer->poll(0);
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      if (consumed++ == 0) {
        first_consumed_ = SteadyClock::now();
        cpu_began[0] = CpuMicros(0);
        cpu_began[1] = CpuMicros(broker_pid);
      }
      auto* in = new InFlight{.next = std::unique_ptr<RdKafka::TopicPartition>(
                                  RdKafka::TopicPartition::create(m->topic_name(), m->partition(), m->offset() + 1))};
      for (const char* topic : kOutputs) {
        RdKafka::Headers* h =
            m->headers() != nullptr ? RdKafka::Headers::create(m->headers()->get_all()) : nullptr;
        while (producer->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, m->payload(),
                                 m->len(), m->key_pointer(), m->key_len(), 0, h, in) == RdKafka::ERR__QUEUE_FULL) {
          producer->poll(10);
        }
      }
    }
    const auto end = SteadyClock::now();
    const double cpu_end[2] = {CpuMicros(0), CpuMicros(broker_pid)};
    if (std::getenv("TACT_BENCH_KEEP") != nullptr) {
      std::fprintf(stderr, "kafka_pipeline_bench: pass-through consumed %d, acked %d, failed %d\n", consumed, acked_,
                   failed_);
    }
    producer->flush(10000);
    consumer_->close();
    if (acked_ < events || failed_ > 0) {
      std::fprintf(stderr, "kafka_pipeline_bench: pass-through acked %d of %d (%d failed)\n", acked_, events, failed_);
      return {};
    }
    return {.rate = events / Seconds(end - first_consumed_),
            .own_us = (cpu_end[0] - cpu_began[0]) / events,
            .broker_us = (cpu_end[1] - cpu_began[1]) / events};
  }

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  int acked_ = 0;
  int failed_ = 0;
  SteadyClock::time_point first_consumed_;
};

// tactd as deployed (at_least_once), its rate from its own metrics: decision records acknowledged by the broker.
Measured RunTactd(const std::filesystem::path& tactd_bin, const std::string& dir, const std::string& brokers,
                  const std::string& redis, pid_t redis_pid, pid_t broker_pid, int events,
                  const std::vector<std::string>& extra) {
  const int admin = FreePort();
  std::vector<std::string> argv{tactd_bin.string(), "--policies", TACT_SOURCE_DIR "/policies/default",
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
  // Each scrape costs tactd ~0.1 ms of CPU (the whole registry serialized): polled every 20 ms for the whole run,
  // that was ~7% of tactd's CPU per event. Once started, the next poll is at half the time the remaining events
  // should take at the rate so far (at least 20 ms, at most 250 ms): a few scrapes per run, the end still within
  // 20 ms.
  bool done = false;
  const auto give_up = SteadyClock::now() + std::chrono::minutes(10);
  while (SteadyClock::now() < give_up) {
    const std::string page = HttpGet(admin, "/metrics");
    if (!started && Metric(page, consumed) > 0) {
      started = true;
      began = SteadyClock::now();
      cpu(cpu_began);
    }
    n = Metric(page, decisions);
    if (n >= events || !tactd.Running()) {
      done = n >= events;
      break;
    }
    double wait = 0.02;
    if (started && n > 0) {
      const double rate = n / Seconds(SteadyClock::now() - began);
      wait = std::clamp((events - n) / rate / 2, 0.02, 0.25);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
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
          .own_us = (cpu_end[0] - cpu_began[0]) / events,
          .redis_us = (cpu_end[1] - cpu_began[1]) / events,
          .broker_us = (cpu_end[2] - cpu_began[2]) / events};
}

// One run: its own redis-server and dev broker, preloaded; the pass-through, then tactd. False when it failed.
bool RunOnce(bool flat_events, const std::filesystem::path& bin, const std::filesystem::path& tactd_bin,
             const std::string& dir, int partitions, int events, const std::vector<std::string>& tactd_flags) {
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec); ec) {
    std::fprintf(stderr, "kafka_pipeline_bench: %s: %s\n", dir.c_str(), ec.message().c_str());
    return false;
  }
  const int redis_port = FreePort();
  Child redis({"redis-server", "--port", std::to_string(redis_port), "--bind", "127.0.0.1", "--dir", dir, "--save",
               "", "--appendonly", "no"},
              dir + "/redis.log");
  Child broker({(bin / "tact-devbroker").string(), "--partitions", std::to_string(partitions), "--bootstrap-file",
                dir + "/bootstrap"},
               dir + "/devbroker.log");
  if (!Poll([&] { return !ReadFile(dir + "/bootstrap").empty(); }, 20) ||
      !Poll([&] { return ReadFile(dir + "/redis.log").find("Ready to accept") != std::string::npos; }, 20)) {
    std::fprintf(stderr, "kafka_pipeline_bench: broker or redis did not start (%s)\n", dir.c_str());
    return false;
  }
  const std::string brokers(absl::StripAsciiWhitespace(ReadFile(dir + "/bootstrap")));
  Preload(brokers, events, flat_events);
  const Measured pass = PassThrough().Run(brokers, events, broker.pid());
  const Measured ours = RunTactd(tactd_bin, dir, brokers, absl::StrCat("127.0.0.1:", redis_port), redis.pid(),
                                 broker.pid(), events, tactd_flags);
  if (pass.rate <= 0 || ours.rate <= 0) return false;
  std::printf("kafka.pipeline partitions=%d tactd_bin=%s ratio=%.3f tactd=%.0f/s passthrough=%.0f/s events=%d shape=%s "
              "cpu_per_event=tactd:%.1fus,redis:%.1fus,broker:%.1fus "
              "passthrough_cpu_per_event=process:%.2fus,broker:%.2fus cpu_ratio=%.1f\n",
              partitions, tactd_bin.string().c_str(), ours.rate / pass.rate, ours.rate, pass.rate, events,
              flat_events ? "flat" : "full",
              ours.own_us, ours.redis_us, ours.broker_us, pass.own_us, pass.broker_us,
              pass.total_us() > 0 ? ours.total_us() / pass.total_us() : 0.0);
  std::fflush(stdout);
  return true;
}

}  // namespace
}  // namespace tact::bench

int main(int argc, char** argv) {
  using namespace tact::bench;
  int events = 20000;
  int rounds = 1;
  std::vector<int> partition_counts{1, 4, 16};
  std::vector<std::filesystem::path> tactd_bins;
  std::vector<std::string> tactd_flags;
  bool flat_events = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--events" && i + 1 < argc) {
      events = std::atoi(argv[++i]);
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--partitions" && i + 1 < argc) {
      partition_counts.clear();
      for (absl::string_view p : absl::StrSplit(argv[++i], ',')) partition_counts.push_back(std::atoi(std::string(p).c_str()));
    } else if (a == "--tactd" && i + 1 < argc) {
      tactd_bins.emplace_back(argv[++i]);
    } else if (a == "--tactd-flag" && i + 1 < argc) {
      tactd_flags.push_back(argv[++i]);
    } else if (a == "--flat-events") {
      flat_events = true;
    } else {
      std::fprintf(stderr,
                   "usage: kafka_pipeline_bench [--events N] [--partitions 1,4,16] [--rounds R] [--tactd PATH]... "
                   "[--tactd-flag F]... [--flat-events]\n");
      return 2;
    }
  }
  // The dev broker drops what does not fit: a run with more events would wait for inputs that never come.
  const int fewest = partition_counts.empty() ? 0 : *std::min_element(partition_counts.begin(), partition_counts.end());
  if (fewest < 1) {
    std::fprintf(stderr, "kafka_pipeline_bench: --partitions: each count must be at least 1\n");
    return 2;
  }
  if (events < 1 || events > kEventsPerPartition * fewest) {
    std::fprintf(stderr,
                 "kafka_pipeline_bench: --events %d: use 1 to %d (tact-devbroker keeps about %d of these events per "
                 "partition, and the fewest of --partitions is %d)\n",
                 events, kEventsPerPartition * fewest, kEventsPerPartition, fewest);
    return 2;
  }
  std::error_code ec;
  const std::filesystem::path bin = std::filesystem::canonical("/proc/self/exe", ec).parent_path().parent_path();
  if (ec) {
    std::fprintf(stderr, "kafka_pipeline_bench: /proc/self/exe: %s\n", ec.message().c_str());
    return 1;
  }
  if (tactd_bins.empty()) tactd_bins.push_back(bin / "tactd");
  char tmpl[] = "/tmp/tact-kpbench.XXXXXX";
  const std::string work = mkdtemp(tmpl);
  int status = 0;
  for (int partitions : partition_counts) {
    for (int round = 0; round < rounds; ++round) {
      for (size_t k = 0; k < tactd_bins.size(); ++k) {
        const size_t which = round % 2 == 0 ? k : tactd_bins.size() - 1 - k;  // alternating order
        const std::string dir = absl::StrCat(work, "/p", partitions, "-r", round, "-b", which);
        if (!RunOnce(flat_events, bin, tactd_bins[which], dir, partitions, events, tactd_flags)) status = 1;
      }
    }
  }
  if (std::getenv("TACT_BENCH_KEEP") == nullptr) {
    std::filesystem::remove_all(work, ec);
  } else {
    std::fprintf(stderr, "kafka_pipeline_bench: logs in %s\n", work.c_str());
  }
  return status;
}
