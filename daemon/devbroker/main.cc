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

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>  // Needs rdkafka.h first.

namespace {

constexpr const char* kLogPrefix = "tact-devbroker: ";
constexpr const char* kTactTopics[] = {
    "tact.outbound",  "tact.released", "tact.deferred", "tact.suppressed",
    "tact.decisions", "tact.dlq",      "tact.signals",  "tact.campaign-notices",
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
  CLI11_PARSE(app, argc, argv);

  // Block the shutdown signals before librdkafka spawns threads so that every
  // thread inherits the mask and sigwait() below is the only receiver.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

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
  for (const std::string& topic : topics) {
    // Each mock call is an op to the mock thread; issuing the next one right
    // after the reply can lose its wakeup (2.0.2) and stall ~1 s per topic.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster.get(), topic.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "%scannot create topic %s: %s\n", kLogPrefix, topic.c_str(), rd_kafka_err2str(err));
      return 1;
    }
  }

  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster.get());
  if (!bootstrap_file.empty() && !WriteFileAtomically(bootstrap_file, bootstrap + "\n")) {
    return 1;
  }
  std::fprintf(stderr, "%s%d broker(s), %zu topic(s) x %d partition(s), ready\n", kLogPrefix, brokers,
               topics.size(), partitions);
  std::printf("bootstrap=%s\n", bootstrap.c_str());
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  std::fprintf(stderr, "%sgot %s, shutting down\n", kLogPrefix, sig == SIGTERM ? "SIGTERM" : "SIGINT");
  if (!bootstrap_file.empty()) {
    std::error_code ec;
    std::filesystem::remove(bootstrap_file, ec);
  }
  cluster.reset();  // The cluster borrows rk, so it must go first.
  rk.reset();
  return 0;
}
