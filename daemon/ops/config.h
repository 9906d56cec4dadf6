#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/core/event.h"
#include "absl/time/time.h"

namespace tact::ops {

// Process settings for tactd (not policy). Every key has a default, a YAML path in the config file, a
// command-line flag and a TACT_* environment variable; precedence: default < file < environment < flag.
struct Config {
  std::string policies = "policies/default";
  std::string kafka_brokers = "127.0.0.1:9092";
  std::string kafka_group_id = "tactd";
  int kafka_session_timeout_ms = 10000;
  std::string kafka_group_instance_id;  // static group membership; empty = dynamic
  int kafka_statistics_interval_ms = 5000;
  // Every librdkafka client's security (ops/kafka_security.h; docs/operations.md "Kafka security").
  std::string kafka_security_protocol = "PLAINTEXT";  // PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
  std::string kafka_sasl_mechanism;                   // PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
  std::string kafka_sasl_username;
  std::string kafka_sasl_password_file;  // the password, read at start (or TACT_KAFKA_SASL_PASSWORD)
  std::string kafka_sasl_password;       // secret: environment only
  std::string kafka_ssl_ca_location;     // PEM CA bundle the brokers' certificates must chain to
  std::string kafka_ssl_certificate_location;  // mTLS: client certificate (PEM)
  std::string kafka_ssl_key_location;          // mTLS: client private key (PEM)
  std::string kafka_ssl_key_password_file;     // the key's password, if encrypted (or TACT_KAFKA_SSL_KEY_PASSWORD)
  std::string kafka_ssl_key_password;          // secret: environment only
  // kafka.properties.<name> / TACT_KAFKA_PROPERTIES_<NAME>: other librdkafka properties (CheckKafkaProperty).
  std::map<std::string, std::string> kafka_properties;
  std::string topic_outbound = "tact.outbound";
  std::string topic_released = "tact.released";
  std::string topic_deferred = "tact.deferred";
  std::string topic_suppressed = "tact.suppressed";
  std::string topic_decisions = "tact.decisions";
  std::string topic_dlq = "tact.dlq";
  std::string topic_signals = "tact.signals";
  std::string signals_enabled = "true";   // consume tact.signals (group <kafka.group_id>-signals)
  std::string deferred_enabled = "true";  // the deferred scheduler (group <kafka.group_id>-deferred)
  // Staleness limit per message class of a deferred event (from created_at, else its first deferral).
  std::string deferred_max_age = "PROMOTION=24h,PROACTIVE_SERVICE=48h,SERVICE=72h,TRANSACTIONAL=72h";
  int deferred_max_held = 100000;                // deferred events held in memory before tact.deferred is paused
  std::string deferred_retry_interval = "15m";  // a DEFER without a due time is decided again after this
  std::string processing_guarantee = "at_least_once";  // or exactly_once (Kafka transactions)
  std::string transactional_id;                        // exactly_once; empty: <group id>-<host name>
  int transaction_max_events = 500;
  int transaction_max_age_ms = 100;
  int batch_max_events = 500;  // inputs decided in one store round-trip
  int batch_max_wait_ms = 5;    // how long a batch keeps collecting after its first input
  std::string redis = "127.0.0.1:6379";
  int redis_pool_size = 4;
  int store_deadline_ms = 250;
  std::string seen_ttl = "72h";
  std::string fail_open_classes = "TRANSACTIONAL";  // comma-separated message classes
  std::string redis_batching = "script";            // script | pipeline
  std::string redis_legacy_keys = "true";           // read and move keys of the pre-2026-12 layout (keys.h)
  std::string redis_key_secret;  // secret: environment only; empty = a public key (tags unambiguous but guessable)
  std::string redis_username;       // ACL user for AUTH; empty = the default user (AUTH <password>)
  std::string redis_password;       // secret: environment only (TACT_REDIS_PASSWORD); empty = no AUTH
  std::string redis_password_file;  // the password in a file (a mounted Secret), re-read on every new connection
  std::string redis_tls = "false";  // true: TLS to Redis
  std::string redis_tls_ca_file;    // PEM CA bundle; empty = the system trust store
  std::string redis_tls_cert_file;  // PEM client certificate chain (mTLS); optional
  std::string redis_tls_key_file;   // its private key
  std::string redis_tls_server_name;  // name (or IP) checked in the server certificate; empty = redis.address' host
  std::string grpc_listen = "127.0.0.1:50051";
  int grpc_workers = 4;
  std::string grpc_plaintext = "false";  // true only for local use: no TLS
  std::string grpc_tls_cert;             // PEM server certificate chain (reloaded when the file changes)
  std::string grpc_tls_key;              // PEM private key
  std::string grpc_tls_client_ca;        // PEM CA bundle: when set, clients must present a certificate (mTLS)
  std::string grpc_clients_file;         // bearer-token clients (api/auth.h); empty = no authentication
  int grpc_max_batch = 500;
  int grpc_max_message_bytes = 1 << 20;
  std::string admin_listen = "127.0.0.1:9464";
  std::string log_level = "info";
  std::string test_clock_offset_file;  // tests only: wall clock = real time + the duration in this file
  std::string customer_hash_key;  // secret: environment only; empty = a random key per process (hashes change)
};

// One setting: where it lives in each source and how to parse it.
struct ConfigKey {
  std::string path;   // YAML path, e.g. "kafka.brokers"
  std::string flag;   // e.g. "--kafka-brokers"
  std::string env;    // e.g. "TACT_KAFKA_BROKERS"
  std::string help;
  std::function<absl::Status(Config&, const std::string&)> set;  // value as text → field
  std::function<std::string(const Config&)> get;
  bool secret = false;       // masked by FormatConfig; accepted only from the environment (no file key, no flag)
  bool allow_empty = false;  // "" is a valid value (an optional setting)
};

const std::vector<ConfigKey>& ConfigKeys();

// Applies a YAML config file. Unknown keys, wrong nesting and bad values are errors naming file:line.
absl::Status ApplyConfigFile(const std::string& path, const std::string& text, Config& config);
// Applies TACT_* variables from `env` (name → value). Bad values name the variable. A TACT_* variable that names
// no setting but nearly does (edit distance ≤ 2, or a prefix either way) is rejected as a typo with "did you
// mean"; other TACT_* variables (tools' and tests', e.g. TACT_KEEP_TEST_DIRS) are left alone.
absl::Status ApplyEnvironment(const std::map<std::string, std::string>& env, Config& config);
// Cross-field checks after all sources are applied.
absl::Status Validate(const Config& config);
// "PROMOTION=24h,SERVICE=72h" → the classes named, each with a positive duration (policy::ParseDuration).
absl::StatusOr<std::map<MessageClass, absl::Duration>> ParseClassDurations(const std::string& text);
// "TRANSACTIONAL,SERVICE" → classes; "NONE" → none.
absl::StatusOr<std::set<MessageClass>> ParseClassList(const std::string& text);
// The effective configuration as YAML-ish "path: value" lines, for --print-config. Secrets show as "***" when set
// and "" when not.
std::string FormatConfig(const Config& config);

}  // namespace tact::ops
