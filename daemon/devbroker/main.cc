// tact-devbroker: a throwaway Kafka broker for tests and the local stack.
//
// Starts librdkafka's in-process mock cluster (no JVM, no ZooKeeper), creates
// the tact topics, prints `bootstrap=<host:port,...>` on stdout (and optionally
// writes the bare address list to --bootstrap-file, atomically), then serves
// until SIGTERM/SIGINT. Fault injection (broker down, request errors, RTT)
// will come later through a control channel; the mock API already supports it.
//
// Limits:
//   - Everything is in memory: restarting loses all topics, messages and
//     committed offsets.
//   - Brokers bind 127.0.0.1 on ephemeral ports (librdkafka 2.0.2 cannot pick
//     the port), so always read the address from stdout or --bootstrap-file.
//   - Topic auto-creation cannot be disabled: any Metadata request naming an
//     unknown topic (producer, consumer, even `kcat -L -t x`) creates it with 4
//     partitions, ignoring --partitions. Pre-create what you rely on (--topic).
//   - Consumer groups: a join waits 3 s (initial rebalance delay); rejoining a
//     group whose last member just left waits session.timeout.ms - 1 s, so
//     test consumers should use session.timeout.ms ~4000-6000 (must be > 3000).
//   - No security (plaintext only); replicas always span min(3, --brokers).
//   - Shutdown can take ~1 s (librdkafka joins the mock's internal threads).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <sstream>
#include <thread>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>  // Needs rdkafka.h first.

namespace {

constexpr const char* kLogPrefix = "tact-devbroker: ";
constexpr const char* kTactTopics[] = {
    "tact.outbound",  "tact.released", "tact.deferred", "tact.suppressed",
    "tact.decisions", "tact.dlq",      "tact.signals",  "tact.campaign-notices", "tact.policy-history",
};

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct MockClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* mc) const { rd_kafka_mock_cluster_destroy(mc); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using MockClusterPtr = std::unique_ptr<rd_kafka_mock_cluster_t, MockClusterDeleter>;

void LogCallback(const rd_kafka_t* /*rk*/, int level, const char* fac, const char* buf) {
  if (std::string_view(fac) == "CONFWARN") {
    return;  // The throwaway handle has no bootstrap.servers on purpose.
  }
  std::fprintf(stderr, "%slibrdkafka %d %s: %s\n", kLogPrefix, level, fac, buf);
}

// Writes `contents` to `path` via a temp file in the same directory + rename,
// so readers see either no file or the complete contents.
bool WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) {
      std::fprintf(stderr, "%scannot write %s\n", kLogPrefix, tmp.c_str());
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::fprintf(stderr, "%scannot rename %s to %s: %s\n", kLogPrefix, tmp.c_str(), path.c_str(),
                 ec.message().c_str());
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

// ---- Control channel: one command per line on a Unix socket, one reply line ("ok" or "error: ...") ----
constexpr char kControlHelp[] = R"(Control commands (--control-socket PATH; one per line, reply "ok" or "error: <why>"):
  broker-down <id>                      broker stops answering (connections refused/closed)
  broker-up <id>                        broker answers again
  rtt <id> <ms>                         add round-trip time to every response of the broker
  errors <api> <count> <error>...       the next <count> requests of <api> fail with the errors given in turn
                                        (one <error> repeats); api: Produce, Fetch, ListOffsets, Metadata,
                                        OffsetCommit, OffsetFetch, FindCoordinator, JoinGroup, Heartbeat,
                                        LeaveGroup, SyncGroup, InitProducerId, AddPartitionsToTxn, EndTxn
  clear-errors <api>                    drop queued errors of <api>
  leader <topic> <partition> <id>       move the partition's leadership
  topic-error <topic> <error>           metadata for the topic reports <error> (NO_ERROR clears)
  coordinator group <group> <id>        move the group coordinator
Errors are librdkafka names without the RD_KAFKA_RESP_ERR_ prefix, e.g. NOT_LEADER_FOR_PARTITION,
REQUEST_TIMED_OUT, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, _TRANSPORT.)";

int ApiKey(const std::string& name) {
  static const std::pair<const char*, int> kKeys[] = {
      {"Produce", 0},       {"Fetch", 1},      {"ListOffsets", 2}, {"Metadata", 3},         {"OffsetCommit", 8},
      {"OffsetFetch", 9},   {"FindCoordinator", 10}, {"JoinGroup", 11}, {"Heartbeat", 12},  {"LeaveGroup", 13},
      {"SyncGroup", 14},    {"InitProducerId", 22},  {"AddPartitionsToTxn", 24},             {"EndTxn", 26}};
  for (const auto& [n, k] : kKeys) {
    if (name == n) return k;
  }
  return -1;
}

bool ErrorCode(const std::string& name, rd_kafka_resp_err_t* out) {
  const struct rd_kafka_err_desc* descs = nullptr;
  size_t n = 0;
  rd_kafka_get_err_descs(&descs, &n);
  for (size_t i = 0; i < n; ++i) {
    if (descs[i].name != nullptr && name == descs[i].name) {
      *out = descs[i].code;
      return true;
    }
  }
  return false;
}

std::string Execute(rd_kafka_mock_cluster_t* mc, const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  if (w.empty()) return "error: empty command";
  auto num = [](const std::string& s) { return std::atoi(s.c_str()); };
  auto result = [](rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? std::string("ok") : std::string("error: ") + rd_kafka_err2str(err);
  };
  const std::string& cmd = w[0];
  if (cmd == "broker-down" && w.size() == 2) return result(rd_kafka_mock_broker_set_down(mc, num(w[1])));
  if (cmd == "broker-up" && w.size() == 2) return result(rd_kafka_mock_broker_set_up(mc, num(w[1])));
  if (cmd == "rtt" && w.size() == 3) return result(rd_kafka_mock_broker_set_rtt(mc, num(w[1]), num(w[2])));
  if (cmd == "leader" && w.size() == 4) {
    return result(rd_kafka_mock_partition_set_leader(mc, w[1].c_str(), num(w[2]), num(w[3])));
  }
  if (cmd == "coordinator" && w.size() == 4) {
    return result(rd_kafka_mock_coordinator_set(mc, w[1].c_str(), w[2].c_str(), num(w[3])));
  }
  if (cmd == "topic-error" && w.size() == 3) {
    rd_kafka_resp_err_t err;
    if (!ErrorCode(w[2], &err)) return "error: unknown error name '" + w[2] + "'";
    rd_kafka_mock_topic_set_error(mc, w[1].c_str(), err);
    return "ok";
  }
  if ((cmd == "errors" && w.size() >= 4) || (cmd == "clear-errors" && w.size() == 2)) {
    const int api = ApiKey(w[1]);
    if (api < 0) return "error: unknown api '" + w[1] + "'";
    if (cmd == "clear-errors") {
      rd_kafka_mock_clear_request_errors(mc, static_cast<int16_t>(api));
      return "ok";
    }
    const int count = num(w[2]);
    if (count <= 0) return "error: count must be at least 1";
    std::vector<rd_kafka_resp_err_t> errs;
    for (size_t i = 3; i < w.size(); ++i) {
      rd_kafka_resp_err_t err;
      if (!ErrorCode(w[i], &err)) return "error: unknown error name '" + w[i] + "'";
      errs.push_back(err);
    }
    std::vector<rd_kafka_resp_err_t> seq(static_cast<size_t>(count));
    for (size_t i = 0; i < seq.size(); ++i) seq[i] = errs[i % errs.size()];
    rd_kafka_mock_push_request_errors_array(mc, static_cast<int16_t>(api), seq.size(), seq.data());
    return "ok";
  }
  return "error: unknown command (see --help)";
}

// Serves the control socket until `stop` (a pipe's read end) becomes readable.
void ServeControl(rd_kafka_mock_cluster_t* mc, int listen_fd, int stop_fd) {
  for (;;) {
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 || (fds[1].revents & POLLIN) != 0) return;
    const int conn = accept(listen_fd, nullptr, nullptr);
    if (conn < 0) continue;
    std::string buf;
    char chunk[512];
    ssize_t n = 0;
    while ((n = read(conn, chunk, sizeof(chunk))) > 0) {
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl = 0;
      while ((nl = buf.find('\n')) != std::string::npos) {
        const std::string reply = Execute(mc, buf.substr(0, nl)) + "\n";
        std::fprintf(stderr, "%scontrol: %s -> %s", kLogPrefix, buf.substr(0, nl).c_str(), reply.c_str());
        if (write(conn, reply.data(), reply.size()) < 0) break;
        buf.erase(0, nl + 1);
      }
    }
    close(conn);
  }
}

int ListenUnix(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd < 0 || path.size() >= sizeof(addr.sun_path)) return -1;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 8) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Blocks the shutdown signals before librdkafka spawns threads so that every
// thread inherits the mask and sigwait() in main is the only receiver.
sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

void RemoveFile(const std::string& path) {
  if (!path.empty()) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
}

bool CreateTopics(rd_kafka_mock_cluster_t* cluster, const std::vector<std::string>& topics, int partitions) {
  for (const std::string& topic : topics) {
    // Each mock call is an op to the mock thread; issuing the next one right
    // after the reply can lose its wakeup (2.0.2) and stall ~1 s per topic.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "%scannot create topic %s: %s\n", kLogPrefix, topic.c_str(), rd_kafka_err2str(err));
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  int partitions = 3;
  std::vector<std::string> extra_topics;
  std::string bootstrap_file;

  CLI::App app{"tact-devbroker: in-memory Kafka (librdkafka mock cluster) for tests and the local stack."};
  app.add_option("--brokers", brokers, "Number of mock brokers")->check(CLI::Range(1, 16))->capture_default_str();
  app.add_option("--partitions", partitions, "Partitions per created topic")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--topic", extra_topics, "Extra topic to create (repeatable)")->take_all();
  app.add_option("--bootstrap-file", bootstrap_file,
                 "Also write the bootstrap address list here (atomic tmp+rename; removed on exit)");
  std::string control_socket;
  app.add_option("--control-socket", control_socket, "Serve fault-injection commands on this Unix socket");
  app.footer(kControlHelp);
  CLI11_PARSE(app, argc, argv);

  const sigset_t stop_signals = BlockStopSignals();

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  // rd_kafka_new takes ownership of conf only on success.
  KafkaPtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)));
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    std::fprintf(stderr, "%srd_kafka_new failed: %s\n", kLogPrefix, errstr);
    return 1;
  }
  MockClusterPtr cluster(rd_kafka_mock_cluster_new(rk.get(), brokers));
  if (!cluster) {
    std::fprintf(stderr, "%srd_kafka_mock_cluster_new failed\n", kLogPrefix);
    return 1;
  }

  std::vector<std::string> topics(std::begin(kTactTopics), std::end(kTactTopics));
  topics.insert(topics.end(), extra_topics.begin(), extra_topics.end());
  if (!CreateTopics(cluster.get(), topics, partitions)) {
    return 1;
  }

  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster.get());
  if (!bootstrap_file.empty() && !WriteFileAtomically(bootstrap_file, bootstrap + "\n")) {
    return 1;
  }
  std::fprintf(stderr, "%s%d broker(s), %zu topic(s) x %d partition(s), ready\n", kLogPrefix, brokers,
               topics.size(), partitions);
  std::printf("bootstrap=%s\n", bootstrap.c_str());
  std::fflush(stdout);

  int stop_pipe[2] = {-1, -1};
  std::thread control;
  if (!control_socket.empty()) {
    const int fd = ListenUnix(control_socket);
    if (fd < 0 || pipe(stop_pipe) != 0) {
      std::fprintf(stderr, "%scannot listen on control socket %s\n", kLogPrefix, control_socket.c_str());
      return 1;
    }
    control = std::thread([&cluster, fd, rd = stop_pipe[0]] {
      ServeControl(cluster.get(), fd, rd);
      close(fd);
    });
  }

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  if (control.joinable()) {
    (void)!write(stop_pipe[1], "x", 1);
    control.join();
    unlink(control_socket.c_str());
  }
  std::fprintf(stderr, "%sgot %s, shutting down\n", kLogPrefix, sig == SIGTERM ? "SIGTERM" : "SIGINT");
  RemoveFile(bootstrap_file);
  cluster.reset();  // The cluster borrows rk, so it must go first.
  rk.reset();
  return 0;
}
