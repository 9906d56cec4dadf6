#pragma once

#include <grpcpp/grpcpp.h>
#include <librdkafka/rdkafkacpp.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/support/process.h"

namespace tact::testing {

// A test PKI made with the openssl command in `dir`: a CA, a server certificate signed by it for IP 127.0.0.1 and
// DNS localhost, a client certificate signed by it, and an unrelated CA (to be the wrong one).
struct TestPki {
  explicit TestPki(const std::string& dir);
  std::string ca, server_cert, server_key, client_cert, client_key, other_ca;
};

struct RedisServerOptions {
  bool aof = false;
  std::string requirepass;                // password of the default user
  std::string acl_user, acl_password;     // an ACL user with every command and key
  const TestPki* tls = nullptr;           // also serve TLS on tls_port() with pki's server certificate
  bool tls_auth_clients = false;          // TLS clients must present a certificate signed by the CA
};

// redis-server (Debian's) on a free loopback port with its own temp dir, no persistence.
class RedisServer {
 public:
  // port 0: a free one. A given port restarts a server where an earlier one ran.
  // `aof`: append-only file with fsync on every write, so a kill -9 loses nothing acknowledged.
  explicit RedisServer(const std::string& dir, int port = 0, bool aof = false);
  // With a password, an ACL user and/or TLS (the plaintext port() stays open too, for tests' own reads).
  RedisServer(const std::string& dir, const RedisServerOptions& options, int port = 0);
  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string tls_address() const { return "127.0.0.1:" + std::to_string(tls_port_); }
  Subprocess& process() { return *proc_; }

 private:
  // redis-server on port_: true once ready, false if it exited (its log says why).
  bool Start(const std::string& dir, const RedisServerOptions& options);

  int port_ = 0;
  int tls_port_ = 0;
  std::unique_ptr<Subprocess> proc_;
};

// tact-devbroker on loopback; the bootstrap address is read from its --bootstrap-file.
class DevBroker {
 public:
  // `brokers` > 1: a cluster whose partition leaders can move (Control("leader …")).
  DevBroker(const std::string& dir, int partitions, int brokers = 1);
  const std::string& bootstrap() const { return bootstrap_; }
  // Sends one fault-injection command (tact-devbroker --help lists them); returns its reply ("ok" or "error: …").
  std::string Control(const std::string& command);
  Subprocess& process() { return *proc_; }

 private:
  std::unique_ptr<Subprocess> proc_;
  std::string bootstrap_;
  std::string control_socket_;
};

// tactd on free ports. `extra_flags` are appended to the command line (a `--policies` among them replaces the
// default policies/default).
class Tactd {
 public:
  Tactd(const std::string& dir, const std::string& brokers, const std::string& redis,
        std::vector<std::string> extra_flags = {});
  int grpc_port() const { return grpc_port_; }
  int admin_port() const { return admin_port_; }
  std::string grpc_target() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  Subprocess& process() { return *proc_; }

 private:
  int grpc_port_ = 0;
  int admin_port_ = 0;
  std::unique_ptr<Subprocess> proc_;
};

// One redis-server, tact-devbroker (one partition) and tactd shared by the tests of a suite (made in
// SetUpTestSuite, destroyed in TearDownTestSuite), with a gRPC channel to tactd. `flags(dir)` gives tactd's extra
// flags; it may first write files into `dir` (a clients file). Members are destroyed in reverse order: the
// processes stop before their directory goes.
struct SuiteStack {
  using Flags = std::function<std::vector<std::string>(const std::string& dir)>;
  explicit SuiteStack(const Flags& flags = nullptr);

  TempDir dir;
  RedisServer redis;
  DevBroker broker;
  Tactd tactd;
  std::shared_ptr<grpc::Channel> channel;
};

struct Record {
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

// Reads a topic from the beginning with its own consumer group, in the background.
class TopicReader {
 public:
  TopicReader(const std::string& brokers, const std::string& topic);
  ~TopicReader();
  std::vector<Record> Records() const;
  size_t Count() const;

 private:
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  std::vector<Record> records_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// The decision (a DecisionKind name, "RELEASE") in `event_id`'s record on `decisions` (a reader of tact.decisions),
// waited for up to `timeout`; "none" when none came (the wait's failure is reported).
std::string AwaitDecision(const TopicReader& decisions, const std::string& event_id,
                          absl::Duration timeout = absl::Seconds(30));

// Produces to any topic and waits for the broker's acknowledgement.
class TestProducer {
 public:
  explicit TestProducer(const std::string& brokers);
  void Send(const std::string& topic, const std::string& value, const std::string& key = "",
            const std::map<std::string, std::string>& headers = {});
  // The same, with `headers` in this order, a name more than once if it comes so.
  void SendHeaders(const std::string& topic, const std::string& value, const std::string& key,
                   const std::vector<std::pair<std::string, std::string>>& headers);

 private:
  std::unique_ptr<RdKafka::Producer> producer_;
};

}  // namespace tact::testing
