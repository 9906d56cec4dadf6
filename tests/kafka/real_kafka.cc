#include "tests/kafka/real_kafka.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/support/wait.h"

namespace tact::testing {
namespace {

std::string& BootstrapStorage() {
  static std::string bootstrap;
  return bootstrap;
}

std::string BrokerScript() { return std::string(TACT_SOURCE_DIR) + "/tests/kafka/broker.sh"; }

// Runs tests/kafka/broker.sh with `args`, waiting up to `timeout`; returns its exit code (nullopt: timed out).
std::optional<int> RunBrokerScript(std::vector<std::string> args, const std::string& log, absl::Duration timeout) {
  args.insert(args.begin(), BrokerScript());
  Subprocess script(std::move(args), log);
  return script.Wait(timeout);
}

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
  void operator()(rd_kafka_NewTopic_t* t) const { rd_kafka_NewTopic_destroy(t); }
};
template <typename T>
using KafkaPtr = std::unique_ptr<T, KafkaDeleter>;

}  // namespace

void RealKafkaEnvironment::SetUp() {
  if (const char* file = std::getenv("TACT_KAFKA_BOOTSTRAP_FILE"); file != nullptr && *file != '\0') {
    BootstrapStorage() = std::string(absl::StripAsciiWhitespace(ReadFile(file)));
    if (BootstrapStorage().empty()) {
      throw std::runtime_error(absl::StrCat("TACT_KAFKA_BOOTSTRAP_FILE=", file, " is empty: is the broker up?"));
    }
    return;
  }
  own_dir_ = std::make_unique<TempDir>();
  const std::string dir = own_dir_->path() + "/broker";
  const std::string log = own_dir_->path() + "/broker-script.log";
  if (RunBrokerScript({"start", "--dir", dir, "--bootstrap-file", own_dir_->path() + "/bootstrap", "--owner-pid",
                       absl::StrCat(getpid())},  // a crashed test binary leaves no broker behind
                      log,
                      absl::Minutes(10)) != std::optional<int>(0)) {
    RunBrokerScript({"stop", "--dir", dir}, log, absl::Seconds(60));
    throw std::runtime_error("tests/kafka/broker.sh start failed: " + ReadFile(log));
  }
  BootstrapStorage() = std::string(absl::StripAsciiWhitespace(ReadFile(own_dir_->path() + "/bootstrap")));
}

void RealKafkaEnvironment::TearDown() {
  if (own_dir_ != nullptr) {
    RunBrokerScript({"stop", "--dir", own_dir_->path() + "/broker"}, own_dir_->path() + "/broker-script.log",
                    absl::Seconds(60));
    own_dir_.reset();
  }
}

const std::string& RealKafkaEnvironment::Bootstrap() { return BootstrapStorage(); }

void CreateTopics(const std::string& brokers, const std::vector<std::string>& names, int partitions,
                  const std::map<std::string, std::string>& configs) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(errstr);
  }
  KafkaPtr<rd_kafka_t> rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)));  // takes conf
  if (rk == nullptr) {
    throw std::runtime_error(absl::StrCat("admin client: ", errstr));
  }
  std::vector<KafkaPtr<rd_kafka_NewTopic_t>> owned;
  std::vector<rd_kafka_NewTopic_t*> topics;
  for (const std::string& name : names) {
    owned.emplace_back(rd_kafka_NewTopic_new(name.c_str(), partitions, 1, errstr, sizeof(errstr)));
    if (owned.back() == nullptr) {
      throw std::runtime_error(absl::StrCat("topic ", name, ": ", errstr));
    }
    for (const auto& [k, v] : configs) {
      if (rd_kafka_resp_err_t e = rd_kafka_NewTopic_set_config(owned.back().get(), k.c_str(), v.c_str()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw std::runtime_error(absl::StrCat("topic ", name, " ", k, ": ", rd_kafka_err2str(e)));
      }
    }
    topics.push_back(owned.back().get());
  }
  KafkaPtr<rd_kafka_AdminOptions_t> options(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), 30000, errstr, sizeof(errstr));
  KafkaPtr<rd_kafka_queue_t> queue(rd_kafka_queue_new(rk.get()));
  rd_kafka_CreateTopics(rk.get(), topics.data(), topics.size(), options.get(), queue.get());
  KafkaPtr<rd_kafka_event_t> event(rd_kafka_queue_poll(queue.get(), 60000));
  if (event == nullptr) {
    throw std::runtime_error("CreateTopics: no answer within 60 s");
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(absl::StrCat("CreateTopics: ", rd_kafka_event_error_string(event.get())));
  }
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      throw std::runtime_error(absl::StrCat("CreateTopics ", rd_kafka_topic_result_name(results[i]), ": ",
                                            rd_kafka_err2str(err)));
    }
  }
}

Lane::Lane(const std::string& name) {
  const std::string p = absl::StrCat("t", getpid(), "-", name);
  outbound = p + ".outbound";
  released = p + ".released";
  deferred = p + ".deferred";
  suppressed = p + ".suppressed";
  decisions = p + ".decisions";
  dlq = p + ".dlq";
  group = p + ".tactd";
}

std::vector<std::string> Lane::TactdFlags() const {
  return {"--kafka-group-id",          group,      "--kafka-topics-outbound",   outbound,
          "--kafka-topics-released",   released,   "--kafka-topics-deferred",   deferred,
          "--kafka-topics-suppressed", suppressed, "--kafka-topics-decisions",  decisions,
          "--kafka-topics-dlq",        dlq};
}

}  // namespace tact::testing
