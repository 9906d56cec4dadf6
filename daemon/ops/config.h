#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/core/event.h"
#include "daemon/core/topics.h"
#include "daemon/ops/log.h"

namespace tact::ops {

// Process settings for tactd (not policy), typed and parsed once. Each default is written here and nowhere else;
// every key also has a YAML path in the config file, a command-line flag and a TACT_* environment variable
// (config_keys.cc, one table line per setting); precedence: default < file < environment < flag.
struct Settings {
  enum class Guarantee { kAtLeastOnce, kExactlyOnce };
  enum class Batching { kScript, kPipeline };
  enum class Checks { kCompareAndSet, kScript };

  using Topics = KafkaTopics;  // their default names: daemon/core/topics.h
  struct Kafka {
    std::string brokers = "127.0.0.1:9092";
    std::string group_id = "tactd";
    int session_timeout_ms = 10000;
    std::string group_instance_id;  // static group membership; empty = dynamic
    int statistics_interval_ms = 5000;
    // Every librdkafka client's security (ops/kafka_security.h; docs/operations.md "Kafka security").
    std::string security_protocol = "PLAINTEXT";  // PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    std::string sasl_mechanism;                   // PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
    std::string sasl_username;
    std::string sasl_password_file;        // the password, read at start (or TACT_KAFKA_SASL_PASSWORD)
    std::string sasl_password;             // secret: environment only
    std::string ssl_ca_location;           // PEM CA bundle the brokers' certificates must chain to
    std::string ssl_certificate_location;  // mTLS: client certificate (PEM)
    std::string ssl_key_location;          // mTLS: client private key (PEM)
    std::string ssl_key_password_file;     // the key's password, if encrypted (or TACT_KAFKA_SSL_KEY_PASSWORD)
    std::string ssl_key_password;          // secret: environment only
    // kafka.properties.<name> / TACT_KAFKA_PROPERTIES_<NAME>: other librdkafka properties (CheckKafkaProperty).
    std::map<std::string, std::string> properties;
    Topics topics;
  };
  struct Signals {
    bool enabled = true;  // consume tact.signals (group <kafka.group_id>-signals)
  };
  struct Deferred {
    bool enabled = true;  // the deferred scheduler (group <kafka.group_id>-deferred)
    // Staleness limit per message class of a deferred event (from created_at, else its first deferral). A
    // configured value names some classes; the others keep these.
    std::map<MessageClass, absl::Duration> max_age = {{v1::PROMOTION, absl::Hours(24)},
                                                      {v1::PROACTIVE_SERVICE, absl::Hours(48)},
                                                      {v1::SERVICE, absl::Hours(72)},
                                                      {v1::TRANSACTIONAL, absl::Hours(72)}};
    int max_held = 100000;                          // held in memory before tact.deferred is paused
    absl::Duration retry_interval = absl::Minutes(15);  // a DEFER without a due time is decided again after this
  };
  struct Processing {
    Guarantee guarantee = Guarantee::kAtLeastOnce;  // or exactly_once (Kafka transactions)
    std::string transactional_id;                   // exactly_once; empty: <group id>-<host name>
    int transaction_max_events = 500;
    int transaction_max_age_ms = 100;
    int batch_max_events = 500;  // inputs decided in one store round-trip
    int batch_max_wait_ms = 5;   // how long a batch keeps collecting after its first input
  };
  struct Redis {
    std::string address = "127.0.0.1:6379";
    int pool_size = 4;
    int deadline_ms = 250;
    absl::Duration seen_ttl = absl::Hours(72);
    std::set<MessageClass> fail_open_classes = {v1::TRANSACTIONAL};
    Batching batching = Batching::kScript;
    Checks checks = Checks::kCompareAndSet;  // where a check is decided (store::RedisSettings::Checks)
    bool legacy_keys = true;  // read and move keys of the pre-2026-12 layout (keys.h)
    bool older_layouts = true;  // false: neither layout v1 nor legacy_keys' layout is looked for (store v2 only)
    std::string key_secret;   // secret: environment only; empty = a public key (tags unambiguous but guessable)
    std::string username;       // ACL user for AUTH; empty = the default user (AUTH <password>)
    std::string password;       // secret: environment only (TACT_REDIS_PASSWORD); empty = no AUTH
    std::string password_file;  // the password in a file (a mounted Secret), re-read on every new connection
    bool tls = false;
    std::string tls_ca_file;      // PEM CA bundle; empty = the system trust store
    std::string tls_cert_file;    // PEM client certificate chain (mTLS); optional
    std::string tls_key_file;     // its private key
    std::string tls_server_name;  // name (or IP) checked in the server certificate; empty = redis.address' host
  };
  struct Grpc {
    std::string listen = "127.0.0.1:50051";
    int workers = 4;
    int threads = 0;            // completion-queue threads (api::CallQueues); 0 = one per 4 CPUs, at least 2
    int check_max_wait_ms = 0;  // how long a queue's pass keeps collecting Checks for one store round-trip
    bool plaintext = false;     // true only for local use: no TLS
    std::string tls_cert;       // PEM server certificate chain (reloaded when the file changes)
    std::string tls_key;        // PEM private key
    std::string tls_client_ca;  // PEM CA bundle: when set, clients must present a certificate (mTLS)
    std::string clients_file;   // bearer-token clients (api/auth.h); empty = no authentication
    int max_batch = 500;
    int max_message_bytes = 1 << 20;
    bool record_decisions = true;  // Check/CheckBatch decisions to tact.decisions; false: auditors see none of them
  };

  std::string policies = "policies/default";
  bool policies_require_tests = false;  // a policy set without test cases is refused (policies/README.md)
  std::string policies_trusted_keys;    // PEM ed25519 public keys (file or directory); "" = unsigned sets load
  Kafka kafka;
  Signals signals;
  Deferred deferred;
  Processing processing;
  Redis redis;
  Grpc grpc;
  std::string admin_listen = "127.0.0.1:9464";
  LogLevel log_level = LogLevel::kInfo;
  std::string test_clock_offset_file;  // tests only: wall clock = real time + the duration in this file
  std::string customer_hash_key;  // secret: environment only; empty = a random key per process (hashes change)
};
using Config = Settings;  // the older name (tactctl's Kafka security flags)

// One setting: where it lives in each source and how to parse it.
struct ConfigKey {
  std::string path;   // YAML path, e.g. "kafka.brokers"
  std::string flag;   // e.g. "--kafka-brokers"
  std::string env;    // e.g. "TACT_KAFKA_BROKERS"
  std::string help;
  std::function<absl::Status(Settings&, const std::string&)> set;  // value as text → field
  std::function<std::string(const Settings&)> get;                 // field → text that `set` reads back
  bool secret = false;       // masked by FormatConfig; accepted only from the environment (no file key, no flag)
  bool allow_empty = false;  // "" is a valid value (an optional setting)
};

// Every setting, in --help and --print-config order (config_keys.cc).
const std::vector<ConfigKey>& ConfigKeys();

// Applies a YAML config file. Unknown keys, wrong nesting and bad values are errors naming file:line.
absl::Status ApplyConfigFile(const std::string& path, const std::string& text, Settings& config);
// Applies TACT_* variables from `env` (name → value). Bad values name the variable. A TACT_* variable that names
// no setting but nearly does (edit distance ≤ 2, or a prefix either way) is rejected as a typo with "did you
// mean"; other TACT_* variables (tools' and tests', e.g. TACT_KEEP_TEST_DIRS) are left alone.
absl::Status ApplyEnvironment(const std::map<std::string, std::string>& env, Settings& config);
// Cross-field checks after all sources are applied.
absl::Status Validate(const Settings& config);
// "PROMOTION=24h,SERVICE=72h" → the classes named, each with a positive duration (core ParseDuration).
absl::StatusOr<std::map<MessageClass, absl::Duration>> ParseClassDurations(const std::string& text);
// "TRANSACTIONAL,SERVICE" → classes; "NONE" → none.
absl::StatusOr<std::set<MessageClass>> ParseClassList(const std::string& text);
// The effective configuration as YAML-ish "path: value" lines, for --print-config. Secrets show as "***" when set
// and "" when not.
std::string FormatConfig(const Settings& config);

// The whole of tactd's settings from its sources: the config file (`file`, read here when not empty), TACT_*
// variables in `env`, then the flags given (`flags`: setting path → value; only those on the command line).
// Then Validate. Errors name the file:line, the variable or the flag (e.g. "--redis-pool-size: …").
absl::StatusOr<Settings> LoadSettings(const std::string& file, const std::map<std::string, std::string>& env,
                                      const std::map<std::string, std::string>& flags);

}  // namespace tact::ops
