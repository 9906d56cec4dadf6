#include "tests/support/stack.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "daemon/pipeline/event_codec.h"
#include "tests/support/wait.h"

namespace tact::testing {
namespace {

std::unique_ptr<RdKafka::Conf> Conf(const std::map<std::string, std::string>& kv) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : kv) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      throw std::runtime_error(k + ": " + err);
    }
  }
  return conf;
}


}  // namespace

TestPki::TestPki(const std::string& dir) {
  const std::string d = dir + "/pki";
  std::filesystem::create_directories(d);
  ca = d + "/ca.crt";
  other_ca = d + "/other-ca.crt";
  server_cert = d + "/server.crt";
  server_key = d + "/server.key";
  client_cert = d + "/client.crt";
  client_key = d + "/client.key";
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::ofstream(d + "/server.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  std::ofstream(d + "/client.ext") << "extendedKeyUsage=clientAuth\n";
  const std::string script = absl::StrCat(
      "set -e; cd '", d, "';",
      "openssl req -x509", ec, " -keyout ca.key -out ca.crt -days 2 -subj /CN=tact-test-ca;",
      "openssl req -x509", ec, " -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=tact-other-ca;",
      "openssl req", ec, " -keyout server.key -out server.csr -subj /CN=tact-test-redis;",
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
      "-extfile server.ext;",
      "openssl req", ec, " -keyout client.key -out client.csr -subj /CN=tactd;",
      "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 "
      "-extfile client.ext;",
      "chmod 644 *.key");
  Subprocess make({"sh", "-c", script}, d + "/openssl.log");
  if (make.Wait(absl::Seconds(60)) != 0) throw std::runtime_error("openssl failed: " + make.Log());
}

RedisServer::RedisServer(const std::string& dir, int port, bool aof)
    : RedisServer(dir, RedisServerOptions{.aof = aof}, port) {}

RedisServer::RedisServer(const std::string& dir, const RedisServerOptions& options, int port) {
  // A port of our choosing that another process took between FreePort and redis-server's bind: start again on
  // another. A port the caller named (a restart) is not changed.
  for (int attempt = 1;; ++attempt) {
    port_ = port != 0 ? port : FreePort();
    if (Start(dir, options) || port != 0 || attempt == 3 ||
        proc_->Log().find("Address already in use") == std::string::npos) {
      break;
    }
  }
  if (!proc_->Running()) {
    throw std::runtime_error("redis-server did not start: " + proc_->Log());
  }
}

bool RedisServer::Start(const std::string& dir, const RedisServerOptions& options) {
  const std::string data = dir + "/redis-" + std::to_string(port_);
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  if (ec) throw std::runtime_error(data + ": cannot create: " + ec.message());
  const std::string log = data + "/redis.log";
  // A restart appends to the same log: look for "Ready" after what is there before the start (read after it, a
  // fast start's line could be counted as old and never found).
  const size_t from = ReadFile(log).size();
  std::vector<std::string> argv{"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", data,
                                "--save", "", "--appendonly", options.aof ? "yes" : "no", "--appendfsync", "always"};
  if (!options.requirepass.empty()) {
    argv.insert(argv.end(), {"--requirepass", options.requirepass});
  }
  if (!options.acl_user.empty()) {
    argv.insert(argv.end(), {"--user", options.acl_user, "on", ">" + options.acl_password, "~*", "&*", "+@all"});
  }
  if (options.tls != nullptr) {
    tls_port_ = FreePort();
    argv.insert(argv.end(), {"--tls-port", std::to_string(tls_port_), "--tls-cert-file", options.tls->server_cert,
                             "--tls-key-file", options.tls->server_key, "--tls-ca-cert-file", options.tls->ca,
                             "--tls-auth-clients", options.tls_auth_clients ? "yes" : "no"});
  }
  proc_ = std::make_unique<Subprocess>(argv, log);
  const bool ready =
      WaitFor([&] { return ReadFile(log).find("Ready to accept connections", from) != std::string::npos ||
                           !proc_->Running(); },
              absl::Seconds(20), "redis-server ready") &&
      proc_->Running();
  if (!ready && proc_->Running()) {
    throw std::runtime_error("redis-server did not start: " + proc_->Log());
  }
  return ready;
}

DevBroker::DevBroker(const std::string& dir, int partitions, int brokers) {
  const std::string file = dir + "/bootstrap-" + std::to_string(FreePort());
  control_socket_ = file + ".ctl";
  proc_ = std::make_unique<Subprocess>(
      std::vector<std::string>{DEVBROKER_BIN, "--partitions", std::to_string(partitions), "--brokers",
                               std::to_string(brokers), "--bootstrap-file", file, "--control-socket", control_socket_},
      file + ".log");
  if (!WaitFor([&] { return !ReadFile(file).empty(); }, absl::Seconds(20), "devbroker bootstrap file")) {
    throw std::runtime_error("tact-devbroker did not start: " + proc_->Log());
  }
  bootstrap_ = std::string(absl::StripAsciiWhitespace(ReadFile(file)));
}

std::string DevBroker::Control(const std::string& command) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, control_socket_.c_str(), control_socket_.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "error: cannot connect to the control socket";
  }
  const std::string line = command + "\n";
  std::string reply;
  if (write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
    char c;
    while (read(fd, &c, 1) == 1 && c != '\n') reply.push_back(c);
  }
  close(fd);
  return reply;
}

Tactd::Tactd(const std::string& dir, const std::string& brokers, const std::string& redis,
             std::vector<std::string> extra_flags) {
  // A port that another process took between FreePort and tactd's listen (grpc.listen_failed,
  // admin.listen_failed): start again on others.
  for (int attempt = 1;; ++attempt) {
    grpc_port_ = FreePort();
    admin_port_ = FreePort();
    std::vector<std::string> argv{TACTD_BIN,
                                  "--kafka-brokers", brokers,
                                  "--redis", redis,
                                  "--grpc-listen", "127.0.0.1:" + std::to_string(grpc_port_),
                                  "--admin-listen", "127.0.0.1:" + std::to_string(admin_port_),
                                  "--kafka-session-timeout-ms", "6000"};
    if (std::find(extra_flags.begin(), extra_flags.end(), "--policies") == extra_flags.end()) {
      argv.insert(argv.end(), {"--policies", std::string(TACT_SOURCE_DIR) + "/policies/default"});
    }
    if (std::find(extra_flags.begin(), extra_flags.end(), "--grpc-tls-cert") == extra_flags.end()) {
      argv.insert(argv.end(), {"--grpc-plaintext", "true"});
    }
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    const std::string log = absl::StrCat(dir, "/tactd-", grpc_port_, ".log");
    proc_ = std::make_unique<Subprocess>(std::move(argv), log,
                                         std::vector<std::string>{"TACT_CUSTOMER_HASH_KEY=test-key-not-secret"});
    if (!WaitFor([&] { return ReadFile(log).find("\"tactd.started\"") != std::string::npos || !proc_->Running(); },
                 absl::Seconds(20), "tactd started")) {
      throw std::runtime_error("tactd did not start: " + proc_->Log());
    }
    if (proc_->Running()) return;
    const std::string text = proc_->Log();
    if (attempt == 3 || (text.find("\"grpc.listen_failed\"") == std::string::npos &&
                         text.find("\"admin.listen_failed\"") == std::string::npos)) {
      throw std::runtime_error("tactd exited: " + text);
    }
  }
}

TopicReader::TopicReader(const std::string& brokers, const std::string& topic) {
  static std::atomic<int> seq{0};
  auto conf = Conf({{"bootstrap.servers", brokers},
                    {"group.id", absl::StrCat("test-reader-", getpid(), "-", seq++)},
                    {"auto.offset.reset", "earliest"},
                    {"enable.auto.commit", "false"},
                    {"session.timeout.ms", "6000"},
                    {"heartbeat.interval.ms", "500"}});
  std::string err;
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer_) {
    throw std::runtime_error("consumer: " + err);
  }
  consumer_->subscribe({topic});
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(50));
      if (m->err() != RdKafka::ERR_NO_ERROR) {
        continue;
      }
      Record r;
      if (m->key() != nullptr) {
        r.key = *m->key();
      }
      r.value.assign(static_cast<const char*>(m->payload()), m->len());
      if (const RdKafka::Headers* h = m->headers(); h != nullptr) {
        for (const auto& hd : h->get_all()) {
          r.headers[hd.key()] = hd.value() == nullptr ? "" : std::string(static_cast<const char*>(hd.value()), hd.value_size());
        }
      }
      absl::MutexLock lock(&mu_);
      records_.push_back(std::move(r));
    }
  });
}

TopicReader::~TopicReader() {
  stop_.store(true);
  thread_.join();
  consumer_->close();
}

std::vector<Record> TopicReader::Records() const {
  absl::MutexLock lock(&mu_);
  return records_;
}

size_t TopicReader::Count() const {
  absl::MutexLock lock(&mu_);
  return records_.size();
}

std::string AwaitDecision(const TopicReader& decisions, const std::string& event_id, absl::Duration timeout) {
  std::string decision = "none";
  EXPECT_TRUE(WaitFor(
      [&] {
        for (const Record& r : decisions.Records()) {
          absl::StatusOr<v1::DecisionRecord> rec = pipeline::DecodeDecisionRecord(r.value);
          if (rec.ok() && rec->event_id() == event_id) {
            decision = v1::DecisionKind_Name(rec->decision().decision());
            return true;
          }
        }
        return false;
      },
      timeout, "the decision record of " + event_id));
  return decision;
}

TestProducer::TestProducer(const std::string& brokers) {
  auto conf = Conf({{"bootstrap.servers", brokers},
                    {"enable.idempotence", "true"},
                    {"linger.ms", "0"},
                    {"reconnect.backoff.max.ms", "500"}});
  std::string err;
  producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!producer_) {
    throw std::runtime_error("producer: " + err);
  }
}

void TestProducer::Send(const std::string& topic, const std::string& value, const std::string& key,
                        const std::map<std::string, std::string>& headers) {
  SendHeaders(topic, value, key, {headers.begin(), headers.end()});
}

void TestProducer::SendHeaders(const std::string& topic, const std::string& value, const std::string& key,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  RdKafka::Headers* h = RdKafka::Headers::create();
  for (const auto& [k, v] : headers) {
    h->add(k, v);
  }
  const RdKafka::ErrorCode err = producer_->produce(
      topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
      value.size(), key.empty() ? nullptr : key.data(), key.size(), 0, h, nullptr);
  if (err != RdKafka::ERR_NO_ERROR) {
    delete h;
    throw std::runtime_error("produce: " + RdKafka::err2str(err));
  }
  if (producer_->flush(30000) != RdKafka::ERR_NO_ERROR) {
    throw std::runtime_error("produce: not acknowledged within 30 s");
  }
}

SuiteStack::SuiteStack(const Flags& flags)
    : redis(dir.path()),
      broker(dir.path(), 1),
      tactd(dir.path(), broker.bootstrap(), redis.address(), flags ? flags(dir.path()) : std::vector<std::string>{}),
      channel(grpc::CreateChannel(tactd.grpc_target(), grpc::InsecureChannelCredentials())) {}

}  // namespace tact::testing
