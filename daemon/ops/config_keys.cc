// The table of tactd's settings: one line per setting (path, help, field; the flag and TACT_* variable follow from
// the path). A new setting is a field with its default in config.h, a line here, and its use.
#include <charconv>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/core/duration.h"
#include "daemon/core/strings.h"
#include "daemon/ops/config.h"

namespace tact::ops {
namespace {

template <typename T>
using Field = T& (*)(Settings&);
// A field of Settings, e.g. FIELD(redis.pool_size).
#define FIELD(member) [](Settings& s) -> auto& { return s.member; }

template <typename T>
T& Read(Field<T> field, const Settings& s) {
  return field(const_cast<Settings&>(s));  // only read: `get` never writes
}

// "kafka.group_id" → --kafka-group-id and TACT_KAFKA_GROUP_ID.
ConfigKey Key(std::string path, std::string help) {
  ConfigKey k;
  k.flag = "--";
  k.env = "TACT_";
  for (char c : path) {
    k.flag.push_back(c == '.' || c == '_' ? '-' : c);
    k.env.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  k.path = std::move(path);
  k.help = std::move(help);
  return k;
}

ConfigKey Text(std::string path, std::string help, Field<std::string> field) {
  ConfigKey k = Key(std::move(path), std::move(help));
  k.set = [field](Settings& s, const std::string& v) {
    if (v.empty()) return absl::InvalidArgumentError("must not be empty");
    field(s) = v;
    return absl::OkStatus();
  };
  k.get = [field](const Settings& s) { return Read(field, s); };
  return k;
}

// A setting whose empty value means "off" / "not set".
ConfigKey Optional(std::string path, std::string help, Field<std::string> field) {
  ConfigKey k = Text(std::move(path), std::move(help), field);
  k.allow_empty = true;
  k.set = [field](Settings& s, const std::string& v) {
    field(s) = v;
    return absl::OkStatus();
  };
  return k;
}

// Environment only (no flag, no file key); masked by FormatConfig.
ConfigKey Secret(std::string path, std::string help, Field<std::string> field) {
  ConfigKey k = Text(std::move(path), std::move(help), field);
  k.secret = true;
  k.flag.clear();
  return k;
}

ConfigKey Int(std::string path, std::string help, Field<int> field, int min, int max) {
  ConfigKey k = Key(std::move(path), std::move(help));
  k.set = [field, min, max](Settings& s, const std::string& v) {
    int n = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || ptr != v.data() + v.size()) {
      return absl::InvalidArgumentError(absl::StrCat("'", v, "' is not a whole number"));
    }
    if (n < min || n > max) {
      return absl::InvalidArgumentError(absl::StrCat(n, " is out of range [", min, ", ", max, "]"));
    }
    field(s) = n;
    return absl::OkStatus();
  };
  k.get = [field](const Settings& s) { return absl::StrCat(Read(field, s)); };
  return k;
}

// One of a few names, each standing for a value. "" among the names makes the setting optional. Errors read
// "unknown <noun> 'x' (expected <expected>)"; `expected` defaults to "one of: a, b, c".
template <typename E>
ConfigKey Choice(std::string path, std::string help, std::vector<std::pair<std::string, E>> names,
                 std::type_identity_t<Field<E>> field, std::string noun = "value", std::string expected = "") {
  ConfigKey k = Key(std::move(path), std::move(help));
  if (expected.empty()) {
    std::vector<std::string> listed;
    for (const auto& [name, value] : names) {
      if (!name.empty()) listed.push_back(name);
    }
    expected = absl::StrCat("one of: ", absl::StrJoin(listed, ", "));
  }
  for (const auto& [name, value] : names) k.allow_empty |= name.empty();
  k.set = [names, field, noun, expected](Settings& s, const std::string& v) {
    for (const auto& [name, value] : names) {
      if (name == v) {
        field(s) = value;
        return absl::OkStatus();
      }
    }
    return absl::InvalidArgumentError(absl::StrCat("unknown ", noun, " '", v, "' (expected ", expected, ")"));
  };
  k.get = [names, field](const Settings& s) {
    for (const auto& [name, value] : names) {
      if (value == Read(field, s)) return name;
    }
    return std::string();
  };
  return k;
}

ConfigKey Bool(std::string path, std::string help, Field<bool> field) {
  return Choice<bool>(std::move(path), std::move(help), {{"true", true}, {"false", false}}, field);
}

std::vector<std::pair<std::string, std::string>> Names(std::initializer_list<std::string> names) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& n : names) out.emplace_back(n, n);
  return out;
}

ConfigKey Duration(std::string path, std::string help, Field<absl::Duration> field) {
  ConfigKey k = Key(std::move(path), std::move(help));
  k.set = [field](Settings& s, const std::string& v) {
    absl::StatusOr<absl::Duration> d = ParseDuration(v);
    if (!d.ok()) return d.status();
    field(s) = *d;
    return absl::OkStatus();
  };
  k.get = [field](const Settings& s) { return DurationText(Read(field, s)); };
  return k;
}

// "TRANSACTIONAL,SERVICE", or NONE.
ConfigKey Classes(std::string path, std::string help, Field<std::set<MessageClass>> field) {
  ConfigKey k = Key(std::move(path), std::move(help));
  k.set = [field](Settings& s, const std::string& v) {
    absl::StatusOr<std::set<MessageClass>> classes = ParseClassList(v);
    if (!classes.ok()) return classes.status();
    field(s) = *std::move(classes);
    return absl::OkStatus();
  };
  k.get = [field](const Settings& s) {
    const std::set<MessageClass>& classes = Read(field, s);
    return classes.empty() ? std::string("NONE")
                           : absl::StrJoin(classes, ",", [](std::string* out, MessageClass c) {
                               absl::StrAppend(out, AsAbsl(ClassName(c)));
                             });
  };
  return k;
}

// "PROMOTION=12h,SERVICE=3d": the classes named get these durations, the others keep their defaults.
ConfigKey ClassDurations(std::string path, std::string help, Field<std::map<MessageClass, absl::Duration>> field) {
  ConfigKey k = Key(std::move(path), std::move(help));
  k.set = [field](Settings& s, const std::string& v) {
    absl::StatusOr<std::map<MessageClass, absl::Duration>> parsed = ParseClassDurations(v);
    if (!parsed.ok()) return parsed.status();
    Settings defaults;
    std::map<MessageClass, absl::Duration> merged = field(defaults);
    for (const auto& [c, d] : *parsed) merged[c] = d;
    field(s) = std::move(merged);
    return absl::OkStatus();
  };
  k.get = [field](const Settings& s) {
    return absl::StrJoin(Read(field, s), ",", [](std::string* out, const auto& entry) {
      absl::StrAppend(out, AsAbsl(ClassName(entry.first)), "=", DurationText(entry.second));
    });
  };
  return k;
}

void KafkaKeys(std::vector<ConfigKey>& keys) {
  keys.push_back(Text("kafka.brokers", "Kafka bootstrap servers, host:port[,host:port]", FIELD(kafka.brokers)));
  keys.push_back(Text("kafka.group_id", "Consumer group of tact.outbound", FIELD(kafka.group_id)));
  keys.push_back(Int("kafka.session_timeout_ms", "Consumer group session timeout", FIELD(kafka.session_timeout_ms),
                     1000, 300000));
  keys.push_back(
      Optional("kafka.group_instance_id",
               "Static group membership id (group.instance.id), e.g. the pod name; empty = dynamic membership",
               FIELD(kafka.group_instance_id)));
  keys.push_back(Int("kafka.statistics_interval_ms", "How often consumer lag and group state are refreshed",
                     FIELD(kafka.statistics_interval_ms), 100, 3600000));
  keys.push_back(Choice("kafka.security_protocol",
                        "How every Kafka client connects: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                        Names({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}), FIELD(kafka.security_protocol),
                        "protocol"));
  keys.push_back(Choice("kafka.sasl_mechanism", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
                        Names({"", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}), FIELD(kafka.sasl_mechanism),
                        "mechanism"));
  keys.push_back(Optional("kafka.sasl_username", "SASL user name", FIELD(kafka.sasl_username)));
  keys.push_back(Optional("kafka.sasl_password_file",
                          "File holding the SASL password, read at start (or TACT_KAFKA_SASL_PASSWORD)",
                          FIELD(kafka.sasl_password_file)));
  keys.push_back(Secret("kafka.sasl_password", "SASL password (secret: environment only; or kafka.sasl_password_file)",
                        FIELD(kafka.sasl_password)));
  keys.push_back(Optional("kafka.ssl_ca_location",
                          "PEM CA bundle the brokers' certificates must chain to (empty: system CAs)",
                          FIELD(kafka.ssl_ca_location)));
  keys.push_back(Optional("kafka.ssl_certificate_location", "mTLS: PEM client certificate (chain)",
                          FIELD(kafka.ssl_certificate_location)));
  keys.push_back(
      Optional("kafka.ssl_key_location", "mTLS: PEM client private key", FIELD(kafka.ssl_key_location)));
  keys.push_back(Optional(
      "kafka.ssl_key_password_file",
      "File holding the client key's password, when the key is encrypted (or TACT_KAFKA_SSL_KEY_PASSWORD)",
      FIELD(kafka.ssl_key_password_file)));
  keys.push_back(Secret("kafka.ssl_key_password",
                        "Client key password (secret: environment only; or kafka.ssl_key_password_file)",
                        FIELD(kafka.ssl_key_password)));
}

void TopicKeys(std::vector<ConfigKey>& keys) {
  keys.push_back(Text("kafka.topics.outbound", "Input topic", FIELD(kafka.topics.outbound)));
  keys.push_back(Text("kafka.topics.released", "Output topic for RELEASE", FIELD(kafka.topics.released)));
  keys.push_back(Text("kafka.topics.deferred", "Output topic for DEFER", FIELD(kafka.topics.deferred)));
  keys.push_back(Text("kafka.topics.suppressed", "Output topic for SUPPRESS", FIELD(kafka.topics.suppressed)));
  keys.push_back(Text("kafka.topics.decisions", "Decision audit records", FIELD(kafka.topics.decisions)));
  keys.push_back(Text("kafka.topics.dlq", "Dead letters: undecodable or invalid events", FIELD(kafka.topics.dlq)));
  keys.push_back(Text("kafka.topics.signals",
                      "Customer signals (CSAT, complaints, escalations, callbacks, opt-outs) to record",
                      FIELD(kafka.topics.signals)));
}

void WorkerKeys(std::vector<ConfigKey>& keys) {
  keys.push_back(Bool("signals.enabled", "true: consume kafka.topics.signals in the group <kafka.group_id>-signals",
                      FIELD(signals.enabled)));
  keys.push_back(Bool("deferred.enabled",
                      "true: run the deferred scheduler (kafka.topics.deferred, group <kafka.group_id>-deferred), "
                      "which decides deferred events again when due",
                      FIELD(deferred.enabled)));
  keys.push_back(ClassDurations("deferred.max_age",
                                "Staleness limit per message class, CLASS=DURATION,…: a deferred event older than "
                                "this (from created_at, else its first deferral) ends as EXPIRED instead of going out",
                                FIELD(deferred.max_age)));
  keys.push_back(Int("deferred.max_held",
                     "Deferred events held in memory; at this many the scheduler pauses tact.deferred",
                     FIELD(deferred.max_held), 1, 10000000));
  keys.push_back(Duration("deferred.retry_interval", "A DEFER without a due time is decided again after this long",
                          FIELD(deferred.retry_interval)));
}

void ProcessingKeys(std::vector<ConfigKey>& keys) {
  using G = Settings::Guarantee;
  keys.push_back(Choice<G>("processing.guarantee",
                           "at_least_once (offsets committed after outputs are acked; a restart may repeat an "
                           "output) or exactly_once (outputs and offsets in one Kafka transaction per batch)",
                           {{"at_least_once", G::kAtLeastOnce}, {"exactly_once", G::kExactlyOnce}},
                           FIELD(processing.guarantee), "guarantee", "at_least_once or exactly_once"));
  keys.push_back(Text("processing.transactional_id",
                      "exactly_once: Kafka transactional.id, unique per instance and stable across its restarts "
                      "(default: <kafka.group_id>-<host name>)",
                      FIELD(processing.transactional_id)));
  keys.push_back(Int("processing.transaction_max_events", "exactly_once: inputs per transaction at most",
                     FIELD(processing.transaction_max_events), 1, 100000));
  keys.push_back(Int("processing.transaction_max_age_ms",
                     "exactly_once: a transaction is committed this long after it began",
                     FIELD(processing.transaction_max_age_ms), 1, 60000));
  keys.push_back(Int("processing.batch_max_events",
                     "Inputs decided together in one store round-trip (already fetched ones; per-customer order is "
                     "kept)",
                     FIELD(processing.batch_max_events), 1, 10000));
  keys.push_back(Int("processing.batch_max_wait_ms",
                     "How long a batch keeps collecting after its first input (0: only what is already fetched)",
                     FIELD(processing.batch_max_wait_ms), 0, 1000));
}

void RedisKeys(std::vector<ConfigKey>& keys) {
  using B = Settings::Batching;
  keys.push_back(Text("redis.address",
                      "Redis host:port, or Redis Cluster seed nodes: redis+cluster://host:port[,host:port...]",
                      FIELD(redis.address)));
  keys.back().flag = "--redis";
  keys.push_back(Int("redis.pool_size", "Idle Redis connections kept", FIELD(redis.pool_size), 1, 256));
  keys.push_back(Int("redis.deadline_ms", "Deadline of one store round-trip", FIELD(redis.deadline_ms), 1, 60000));
  keys.push_back(Duration("redis.seen_ttl", "How long a decided event_id is remembered (longer than Kafka redelivery)",
                          FIELD(redis.seen_ttl)));
  keys.push_back(Classes("redis.fail_open_classes",
                         "Message classes released (marked degraded) while Redis is unreachable; the others fail "
                         "closed. Comma-separated, or NONE",
                         FIELD(redis.fail_open_classes)));
  keys.push_back(Choice<B>("redis.batching",
                           "Many customers per round-trip as one batch script (script; on a Redis Cluster one per "
                           "node) or one script call per customer, pipelined (pipeline)",
                           {{"script", B::kScript}, {"pipeline", B::kPipeline}}, FIELD(redis.batching)));
  keys.push_back(Choice<Settings::Checks>(
      "redis.checks",
      "Where a check is decided: compare_and_set (tactd reads the customer's key, decides, and writes it back only "
      "if it is unchanged; check.lua when it changed) or script (check.lua in Redis decides every check). A Redis "
      "Cluster always runs check.lua",
      {{"compare_and_set", Settings::Checks::kCompareAndSet}, {"script", Settings::Checks::kScript}},
      FIELD(redis.checks)));
  keys.push_back(Bool("redis.legacy_keys",
                      "true: a customer whose keys are still in the layout before the keyed hash tag "
                      "(tact:{<tenant>:<customer>}:) is read there and moved on its next check or signal; false "
                      "once the upgrade window (the longest policy window, and redis.seen_ttl) is over",
                      FIELD(redis.legacy_keys)));
  keys.push_back(Bool("redis.older_layouts",
                      "true: a customer without a store-v2 key is also looked for in the older layouts (v1, and the "
                      "legacy one with redis.legacy_keys); false once `tactctl store layouts` finds no v1 and no "
                      "legacy key: a new customer's check reads only store v2's keys",
                      FIELD(redis.older_layouts)));
  keys.push_back(Secret("redis.key_secret",
                        "Key of the hash tag in every customer's Redis keys (secret: environment only; changing it "
                        "starts every counter, signal and decision marker afresh)",
                        FIELD(redis.key_secret)));
  keys.push_back(
      Optional("redis.username", "ACL user tactd authenticates as (AUTH <user> <password>); empty = the default user",
               FIELD(redis.username)));
  keys.push_back(Secret("redis.password",
                        "Redis password or AUTH token (secret: environment only, TACT_REDIS_PASSWORD; or "
                        "redis.password_file)",
                        FIELD(redis.password)));
  keys.push_back(Optional("redis.password_file",
                          "File holding the Redis password (a mounted Secret; one line), read again on every new "
                          "connection",
                          FIELD(redis.password_file)));
  keys.push_back(Bool("redis.tls", "true: connect to Redis over TLS (the server certificate is verified)",
                      FIELD(redis.tls)));
  keys.push_back(Optional("redis.tls_ca_file",
                          "PEM CA bundle the Redis server certificate must chain to (empty: the system trust store); "
                          "re-read when it changes, for new connections",
                          FIELD(redis.tls_ca_file)));
  keys.push_back(Optional("redis.tls_cert_file", "PEM client certificate chain, for servers that require one (mTLS)",
                          FIELD(redis.tls_cert_file)));
  keys.push_back(
      Optional("redis.tls_key_file", "PEM private key of redis.tls_cert_file", FIELD(redis.tls_key_file)));
  keys.push_back(Optional("redis.tls_server_name",
                          "Name (or IP) the Redis server certificate must carry, also sent as SNI (empty: the host "
                          "of redis.address)",
                          FIELD(redis.tls_server_name)));
}

void GrpcKeys(std::vector<ConfigKey>& keys) {
  keys.push_back(Text("grpc.listen", "gRPC listen address", FIELD(grpc.listen)));
  keys.push_back(Int("grpc.workers", "Threads doing store work for CheckBatch, Explain and Signals calls",
                     FIELD(grpc.workers), 1, 256));
  keys.push_back(Int("grpc.threads",
                     "Threads receiving and answering gRPC calls (and deciding Check), one completion queue each (0: "
                     "one per 4 CPUs, at least 2)",
                     FIELD(grpc.threads), 0, 64));
  keys.push_back(Int("grpc.check_max_wait_ms",
                     "How long Check calls are collected for one store round-trip after the first (0: only those "
                     "already arrived)",
                     FIELD(grpc.check_max_wait_ms), 0, 100));
  keys.push_back(Bool("grpc.plaintext",
                      "true: serve gRPC without TLS (local use only); otherwise grpc.tls_cert/key are required",
                      FIELD(grpc.plaintext)));
  keys.push_back(Text("grpc.tls_cert", "PEM server certificate chain (reloaded on change)", FIELD(grpc.tls_cert)));
  keys.push_back(Text("grpc.tls_key", "PEM server private key", FIELD(grpc.tls_key)));
  keys.push_back(Text("grpc.tls_client_ca",
                      "PEM CA bundle; when set clients must present a certificate signed by it (mTLS)",
                      FIELD(grpc.tls_client_ca)));
  keys.push_back(Text("grpc.clients_file", "YAML file of API clients (hashed bearer tokens, tenants, quotas)",
                      FIELD(grpc.clients_file)));
  keys.push_back(Int("grpc.max_batch", "Most items in one CheckBatch call", FIELD(grpc.max_batch), 1, 10000));
  keys.push_back(Int("grpc.max_message_bytes", "Largest request accepted", FIELD(grpc.max_message_bytes), 1024,
                     64 << 20));
  keys.push_back(Bool("grpc.record_decisions",
                      "true: every Check/CheckBatch decision (not dry runs) is published on kafka.topics.decisions; "
                      "false: none is, and auditors see no gRPC decisions",
                      FIELD(grpc.record_decisions)));
}

void ProcessKeys(std::vector<ConfigKey>& keys) {
  keys.push_back(
      Text("admin.listen", "Admin HTTP listen address (/healthz, /readyz, /metrics, /campaigns)", FIELD(admin_listen)));
  keys.push_back(Choice<LogLevel>("log.level", "debug, info, warn or error",
                                  {{"debug", LogLevel::kDebug},
                                   {"info", LogLevel::kInfo},
                                   {"warn", LogLevel::kWarning},
                                   {"error", LogLevel::kError}},
                                  FIELD(log_level), "log level"));
  keys.push_back(Optional(
      "test.clock_offset_file",
      "Tests only: the wall clock runs ahead by the duration in this file (e.g. 8h), re-read when it changes",
      FIELD(test_clock_offset_file)));
  keys.push_back(Secret("customer_hash_key",
                        "Key of the customer hash in logs and decision records (secret: environment only)",
                        FIELD(customer_hash_key)));
}

std::vector<ConfigKey> BuildKeys() {
  std::vector<ConfigKey> keys;
  keys.push_back(Text("policies", "Directory of policy files (*.yaml); its tests in <policies>/tests/", FIELD(policies)));
  keys.push_back(Bool("policies.require_tests",
                      "true: refuse a policy set with no test case in <policies>/tests/ (else: loads with a warning)",
                      FIELD(policies_require_tests)));
  keys.push_back(Optional("policies.trusted_keys",
                          "PEM ed25519 public keys (a file, or a directory of *.pem): only a policy set signed by one "
                          "of them (<policies>/SIGNATURE) is activated; empty: signatures are not checked",
                          FIELD(policies_trusted_keys)));
  KafkaKeys(keys);
  TopicKeys(keys);
  WorkerKeys(keys);
  ProcessingKeys(keys);
  RedisKeys(keys);
  GrpcKeys(keys);
  ProcessKeys(keys);
  return keys;
}

#undef FIELD

}  // namespace

const std::vector<ConfigKey>& ConfigKeys() {
  static const std::vector<ConfigKey> keys = BuildKeys();
  return keys;
}

}  // namespace tact::ops
