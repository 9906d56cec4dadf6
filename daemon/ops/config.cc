#include "daemon/ops/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/ops/log.h"
#include "daemon/policy/parse.h"

namespace tact::ops {
namespace {

ConfigKey StringKey(std::string path, std::string flag, std::string help, std::string Config::*field) {
  std::string env = "TACT_";
  for (char c : path) {
    env.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return ConfigKey{std::move(path), std::move(flag), std::move(env), std::move(help),
                   [field](Config& c, const std::string& v) {
                     if (v.empty()) {  // optional keys replace this setter (allow_empty)
                       return absl::InvalidArgumentError("must not be empty");
                     }
                     c.*field = v;
                     return absl::OkStatus();
                   },
                   [field](const Config& c) { return c.*field; }};
}

ConfigKey IntKey(std::string path, std::string flag, std::string help, int Config::*field, int min, int max) {
  ConfigKey k = StringKey(std::move(path), std::move(flag), std::move(help), nullptr);
  k.set = [field, min, max](Config& c, const std::string& v) {
    int n = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || ptr != v.data() + v.size()) {
      return absl::InvalidArgumentError(absl::StrCat("'", v, "' is not a whole number"));
    }
    if (n < min || n > max) {
      return absl::InvalidArgumentError(absl::StrCat(n, " is out of range [", min, ", ", max, "]"));
    }
    c.*field = n;
    return absl::OkStatus();
  };
  k.get = [field](const Config& c) { return absl::StrCat(c.*field); };
  return k;
}

std::string DefaultFlag(const std::string& path) {
  std::string flag = "--";
  for (char c : path) {
    flag.push_back(c == '.' || c == '_' ? '-' : c);
  }
  return flag;
}

std::vector<ConfigKey> BuildKeys() {
  std::vector<ConfigKey> keys;
  auto str = [&](std::string path, std::string help, std::string Config::*field, std::string flag = "") {
    if (flag.empty()) flag = DefaultFlag(path);
    keys.push_back(StringKey(std::move(path), std::move(flag), std::move(help), field));
  };
  // A setting whose empty value means "off" / "not set".
  auto optional_str = [&](std::string path, std::string help, std::string Config::*field) {
    str(std::move(path), std::move(help), field);
    keys.back().allow_empty = true;
    keys.back().set = [field](Config& c, const std::string& v) {
      c.*field = v;
      return absl::OkStatus();
    };
  };
  auto num = [&](std::string path, std::string help, int Config::*field, int min, int max) {
    keys.push_back(IntKey(path, DefaultFlag(path), std::move(help), field, min, max));
  };
  str("policies", "Directory of policy files (*.yaml)", &Config::policies);
  str("kafka.brokers", "Kafka bootstrap servers, host:port[,host:port]", &Config::kafka_brokers);
  str("kafka.group_id", "Consumer group of tact.outbound", &Config::kafka_group_id);
  num("kafka.session_timeout_ms", "Consumer group session timeout", &Config::kafka_session_timeout_ms, 1000, 300000);
  optional_str("kafka.group_instance_id",
               "Static group membership id (group.instance.id), e.g. the pod name; empty = dynamic membership",
               &Config::kafka_group_instance_id);
  num("kafka.statistics_interval_ms", "How often consumer lag and group state are refreshed",
      &Config::kafka_statistics_interval_ms, 100, 3600000);
  keys.push_back(StringKey("kafka.security_protocol", "--kafka-security-protocol",
                           "How every Kafka client connects: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                           &Config::kafka_security_protocol));
  keys.back().set = [](Config& c, const std::string& v) {
    if (v != "PLAINTEXT" && v != "SSL" && v != "SASL_PLAINTEXT" && v != "SASL_SSL") {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown protocol '", v, "' (expected one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)"));
    }
    c.kafka_security_protocol = v;
    return absl::OkStatus();
  };
  optional_str("kafka.sasl_mechanism", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
               &Config::kafka_sasl_mechanism);
  keys.back().set = [](Config& c, const std::string& v) {
    if (!v.empty() && v != "PLAIN" && v != "SCRAM-SHA-256" && v != "SCRAM-SHA-512") {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown mechanism '", v, "' (expected one of: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)"));
    }
    c.kafka_sasl_mechanism = v;
    return absl::OkStatus();
  };
  optional_str("kafka.sasl_username", "SASL user name", &Config::kafka_sasl_username);
  optional_str("kafka.sasl_password_file",
               "File holding the SASL password, read at start (or TACT_KAFKA_SASL_PASSWORD)",
               &Config::kafka_sasl_password_file);
  str("kafka.sasl_password", "SASL password (secret: environment only; or kafka.sasl_password_file)",
      &Config::kafka_sasl_password);
  keys.back().secret = true;
  keys.back().flag.clear();
  optional_str("kafka.ssl_ca_location", "PEM CA bundle the brokers' certificates must chain to (empty: system CAs)",
               &Config::kafka_ssl_ca_location);
  optional_str("kafka.ssl_certificate_location", "mTLS: PEM client certificate (chain)",
               &Config::kafka_ssl_certificate_location);
  optional_str("kafka.ssl_key_location", "mTLS: PEM client private key", &Config::kafka_ssl_key_location);
  optional_str("kafka.ssl_key_password_file",
               "File holding the client key's password, when the key is encrypted (or TACT_KAFKA_SSL_KEY_PASSWORD)",
               &Config::kafka_ssl_key_password_file);
  str("kafka.ssl_key_password", "Client key password (secret: environment only; or kafka.ssl_key_password_file)",
      &Config::kafka_ssl_key_password);
  keys.back().secret = true;
  keys.back().flag.clear();
  str("kafka.topics.outbound", "Input topic", &Config::topic_outbound);
  str("kafka.topics.released", "Output topic for RELEASE", &Config::topic_released);
  str("kafka.topics.deferred", "Output topic for DEFER", &Config::topic_deferred);
  str("kafka.topics.suppressed", "Output topic for SUPPRESS", &Config::topic_suppressed);
  str("kafka.topics.decisions", "Decision audit records", &Config::topic_decisions);
  str("kafka.topics.dlq", "Dead letters: undecodable or invalid events", &Config::topic_dlq);
  str("kafka.topics.signals", "Customer signals (CSAT, complaints, escalations, callbacks, opt-outs) to record",
      &Config::topic_signals);
  keys.push_back(StringKey("signals.enabled", "--signals-enabled",
                           "true: consume kafka.topics.signals in the group <kafka.group_id>-signals",
                           &Config::signals_enabled));
  keys.back().set = [](Config& c, const std::string& v) {
    if (v != "true" && v != "false") {
      return absl::InvalidArgumentError(absl::StrCat("unknown value '", v, "' (expected one of: true, false)"));
    }
    c.signals_enabled = v;
    return absl::OkStatus();
  };
  keys.push_back(StringKey("deferred.enabled", "--deferred-enabled",
                           "true: run the deferred scheduler (kafka.topics.deferred, group <kafka.group_id>-deferred), "
                           "which decides deferred events again when due",
                           &Config::deferred_enabled));
  keys.back().set = [](Config& c, const std::string& v) {
    if (v != "true" && v != "false") {
      return absl::InvalidArgumentError(absl::StrCat("unknown value '", v, "' (expected one of: true, false)"));
    }
    c.deferred_enabled = v;
    return absl::OkStatus();
  };
  keys.push_back(StringKey("deferred.max_age", "--deferred-max-age",
                           "Staleness limit per message class, CLASS=DURATION,…: a deferred event older than this "
                           "(from created_at, else its first deferral) ends as EXPIRED instead of going out",
                           &Config::deferred_max_age));
  keys.back().set = [](Config& c, const std::string& v) {
    absl::StatusOr<std::map<MessageClass, absl::Duration>> parsed = ParseClassDurations(v);
    if (!parsed.ok()) return parsed.status();
    c.deferred_max_age = v;
    return absl::OkStatus();
  };
  num("deferred.max_held", "Deferred events held in memory; at this many the scheduler pauses tact.deferred",
      &Config::deferred_max_held, 1, 10000000);
  keys.push_back(StringKey("deferred.retry_interval", "--deferred-retry-interval",
                           "A DEFER without a due time is decided again after this long",
                           &Config::deferred_retry_interval));
  keys.back().set = [](Config& c, const std::string& v) {
    absl::StatusOr<absl::Duration> d = policy::ParseDuration(v);
    if (!d.ok()) return d.status();
    c.deferred_retry_interval = v;
    return absl::OkStatus();
  };
  keys.push_back(StringKey("processing.guarantee", "--processing-guarantee",
                           "at_least_once (offsets committed after outputs are acked; a restart may repeat an "
                           "output) or exactly_once (outputs and offsets in one Kafka transaction per batch)",
                           &Config::processing_guarantee));
  keys.back().set = [](Config& c, const std::string& v) {
    if (v != "at_least_once" && v != "exactly_once") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown guarantee '", v, "' (expected at_least_once or exactly_once)"));
    }
    c.processing_guarantee = v;
    return absl::OkStatus();
  };
  str("processing.transactional_id",
      "exactly_once: Kafka transactional.id, unique per instance and stable across its restarts "
      "(default: <kafka.group_id>-<host name>)",
      &Config::transactional_id);
  num("processing.transaction_max_events", "exactly_once: inputs per transaction at most",
      &Config::transaction_max_events, 1, 100000);
  num("processing.transaction_max_age_ms", "exactly_once: a transaction is committed this long after it began",
      &Config::transaction_max_age_ms, 1, 60000);
  num("processing.batch_max_events",
      "Inputs decided together in one store round-trip (already fetched ones; per-customer order is kept)",
      &Config::batch_max_events, 1, 10000);
  num("processing.batch_max_wait_ms",
      "How long a batch keeps collecting after its first input (0: only what is already fetched)",
      &Config::batch_max_wait_ms, 0, 1000);
  str("redis.address", "Redis host:port", &Config::redis, "--redis");
  num("redis.pool_size", "Idle Redis connections kept", &Config::redis_pool_size, 1, 256);
  num("redis.deadline_ms", "Deadline of one store round-trip", &Config::store_deadline_ms, 1, 60000);
  keys.push_back(StringKey("redis.seen_ttl", "--redis-seen-ttl",
                           "How long a decided event_id is remembered (longer than Kafka redelivery)",
                           &Config::seen_ttl));
  keys.back().set = [](Config& c, const std::string& v) {
    absl::StatusOr<absl::Duration> d = policy::ParseDuration(v);
    if (!d.ok()) return d.status();
    c.seen_ttl = v;
    return absl::OkStatus();
  };
  keys.push_back(StringKey("redis.fail_open_classes", "--redis-fail-open-classes",
                           "Message classes released (marked degraded) while Redis is unreachable; the others "
                           "fail closed. Comma-separated, or NONE",
                           &Config::fail_open_classes));
  keys.back().set = [](Config& c, const std::string& v) {
    absl::StatusOr<std::set<MessageClass>> classes = ParseClassList(v);
    if (!classes.ok()) return classes.status();
    c.fail_open_classes = v;
    return absl::OkStatus();
  };
  keys.push_back(StringKey("redis.batching", "--redis-batching",
                           "Many customers per round-trip as one batch script (script: single Redis node) or one "
                           "script call per customer, pipelined (pipeline: any topology)",
                           &Config::redis_batching));
  keys.back().set = [](Config& c, const std::string& v) {
    if (v != "script" && v != "pipeline") {
      return absl::InvalidArgumentError(absl::StrCat("unknown value '", v, "' (expected one of: script, pipeline)"));
    }
    c.redis_batching = v;
    return absl::OkStatus();
  };
  keys.push_back(StringKey("redis.legacy_keys", "--redis-legacy-keys",
                           "true: a customer whose keys are still in the layout before the keyed hash tag "
                           "(tact:{<tenant>:<customer>}:) is read there and moved on its next check or signal; "
                           "false once the upgrade window (the longest policy window, and redis.seen_ttl) is over",
                           &Config::redis_legacy_keys));
  keys.back().set = [](Config& c, const std::string& v) {
    if (v != "true" && v != "false") {
      return absl::InvalidArgumentError(absl::StrCat("unknown value '", v, "' (expected one of: true, false)"));
    }
    c.redis_legacy_keys = v;
    return absl::OkStatus();
  };
  str("redis.key_secret",
      "Key of the hash tag in every customer's Redis keys (secret: environment only; changing it starts every "
      "counter, signal and decision marker afresh)",
      &Config::redis_key_secret);
  keys.back().secret = true;
  keys.back().flag.clear();
  optional_str("redis.username", "ACL user tactd authenticates as (AUTH <user> <password>); empty = the default user",
               &Config::redis_username);
  str("redis.password",
      "Redis password or AUTH token (secret: environment only, TACT_REDIS_PASSWORD; or redis.password_file)",
      &Config::redis_password);
  keys.back().secret = true;
  keys.back().flag.clear();
  optional_str("redis.password_file",
               "File holding the Redis password (a mounted Secret; one line), read again on every new connection",
               &Config::redis_password_file);
  keys.push_back(StringKey("redis.tls", "--redis-tls",
                           "true: connect to Redis over TLS (the server certificate is verified)", &Config::redis_tls));
  keys.back().set = [](Config& c, const std::string& v) {
    if (v != "true" && v != "false") {
      return absl::InvalidArgumentError(absl::StrCat("unknown value '", v, "' (expected one of: true, false)"));
    }
    c.redis_tls = v;
    return absl::OkStatus();
  };
  optional_str("redis.tls_ca_file",
               "PEM CA bundle the Redis server certificate must chain to (empty: the system trust store); "
               "re-read when it changes, for new connections",
               &Config::redis_tls_ca_file);
  optional_str("redis.tls_cert_file", "PEM client certificate chain, for servers that require one (mTLS)",
               &Config::redis_tls_cert_file);
  optional_str("redis.tls_key_file", "PEM private key of redis.tls_cert_file", &Config::redis_tls_key_file);
  optional_str("redis.tls_server_name",
               "Name (or IP) the Redis server certificate must carry, also sent as SNI (empty: the host of "
               "redis.address)",
               &Config::redis_tls_server_name);
  str("grpc.listen", "gRPC listen address", &Config::grpc_listen);
  num("grpc.workers", "Threads doing store work for gRPC calls", &Config::grpc_workers, 1, 256);
  keys.push_back(StringKey("grpc.plaintext", "--grpc-plaintext",
                           "true: serve gRPC without TLS (local use only); otherwise grpc.tls_cert/key are required",
                           &Config::grpc_plaintext));
  keys.back().set = [](Config& c, const std::string& v) {
    if (v != "true" && v != "false") {
      return absl::InvalidArgumentError(absl::StrCat("unknown value '", v, "' (expected one of: true, false)"));
    }
    c.grpc_plaintext = v;
    return absl::OkStatus();
  };
  str("grpc.tls_cert", "PEM server certificate chain (reloaded on change)", &Config::grpc_tls_cert);
  str("grpc.tls_key", "PEM server private key", &Config::grpc_tls_key);
  str("grpc.tls_client_ca", "PEM CA bundle; when set clients must present a certificate signed by it (mTLS)",
      &Config::grpc_tls_client_ca);
  str("grpc.clients_file", "YAML file of API clients (hashed bearer tokens, tenants, quotas)",
      &Config::grpc_clients_file);
  num("grpc.max_batch", "Most items in one CheckBatch call", &Config::grpc_max_batch, 1, 10000);
  num("grpc.max_message_bytes", "Largest request accepted", &Config::grpc_max_message_bytes, 1024, 64 << 20);
  str("admin.listen", "Admin HTTP listen address (/healthz, /readyz, /metrics)", &Config::admin_listen);
  keys.push_back(StringKey("log.level", "--log-level", "debug, info, warn or error", &Config::log_level));
  keys.back().set = [](Config& c, const std::string& v) {
    LogLevel l;
    if (!ParseLogLevel(v, &l)) return absl::InvalidArgumentError(absl::StrCat("unknown log level '", v, "' (expected one of: debug, info, warn, error)"));
    c.log_level = v;
    return absl::OkStatus();
  };
  optional_str("test.clock_offset_file",
               "Tests only: the wall clock runs ahead by the duration in this file (e.g. 8h), re-read when it changes",
               &Config::test_clock_offset_file);
  str("customer_hash_key", "Key of the customer hash in logs and decision records (secret: environment only)",
      &Config::customer_hash_key, "-");
  keys.back().secret = true;
  keys.back().flag.clear();
  return keys;
}

// "host:port" with a port in [0, 65535] (0 = any free port, for tests).
absl::Status CheckListen(const std::string& path, const std::string& value, int min_port) {
  const size_t colon = value.rfind(':');
  int port = -1;
  const std::string port_text = colon == std::string::npos ? "" : value.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (colon == std::string::npos || colon == 0 || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      port < min_port || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": '", value, "' must be host:port with a port in [",
                                                   min_port, ", 65535]"));
  }
  return absl::OkStatus();
}

// Levenshtein distance, for "did you mean".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// kafka.properties: a mapping of librdkafka property names (dots kept: "socket.keepalive.enable: true") to values.
absl::Status WalkKafkaProperties(const YAML::Node& node, const std::string& where, const std::string& file,
                                 Config& config) {
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": 'kafka.properties' must be a mapping of librdkafka property names to values"));
  }
  for (const auto& kv : node) {
    const std::string at = absl::StrCat(file, ":", kv.first.Mark().line + 1, ":", kv.first.Mark().column + 1);
    if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ": kafka.properties: each entry must be name: value"));
    }
    const std::string name = kv.first.Scalar();
    if (absl::Status s = CheckKafkaProperty(name); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(at, ": ", s.message()));
    }
    if (IsSensitiveKafkaProperty(name)) {
      std::string env(kKafkaPropertiesEnvPrefix);
      for (char c : name) env.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      return absl::InvalidArgumentError(absl::StrCat(at, ": 'kafka.properties.", name, "' is a secret: set ", env,
                                                     " in the environment, not in a file"));
    }
    config.kafka_properties[name] = kv.second.Scalar();
  }
  return absl::OkStatus();
}

absl::Status Walk(const YAML::Node& node, const std::string& prefix, const std::string& file, Config& config) {
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {  // "? [a, b]: x", "~: x": as<std::string>() would throw
      return absl::InvalidArgumentError(absl::StrCat(file, ":", kv.first.Mark().line + 1, ":",
                                                     kv.first.Mark().column + 1, ": a key must be a plain name"));
    }
    const std::string key = kv.first.as<std::string>();
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    const std::string where = absl::StrCat(file, ":", kv.first.Mark().line + 1, ":", kv.first.Mark().column + 1);
    if (path == "kafka.properties") {
      if (absl::Status s = WalkKafkaProperties(kv.second, where, file, config); !s.ok()) return s;
      continue;
    }
    if (kv.second.IsMap()) {
      bool is_section = false;
      for (const ConfigKey& k : ConfigKeys()) {
        is_section |= k.path.starts_with(path + ".");
      }
      if (!is_section) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": unknown section '", path, "'"));
      }
      if (absl::Status s = Walk(kv.second, path, file, config); !s.ok()) return s;
      continue;
    }
    const ConfigKey* match = nullptr;
    for (const ConfigKey& k : ConfigKeys()) {
      if (k.path == path) match = &k;
    }
    if (match == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown key '", path, "'"));
    }
    if (match->secret) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": '", path, "' is a secret: set ", match->env, " in the environment, not in a file"));
    }
    if (!kv.second.IsScalar()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": '", path, "' must be a single value"));
    }
    if (absl::Status s = match->set(config, kv.second.Scalar()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", path, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::map<MessageClass, absl::Duration>> ParseClassDurations(const std::string& text) {
  std::map<MessageClass, absl::Duration> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::string item(absl::StripAsciiWhitespace(part));
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("'", item, "' is not CLASS=DURATION (e.g. PROMOTION=24h)"));
    }
    const std::string name(absl::StripAsciiWhitespace(item.substr(0, eq)));
    MessageClass c;
    if (!v1::MessageClass_Parse(name, &c) || c == v1::MESSAGE_CLASS_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown message class '", name, "' (expected TRANSACTIONAL, SERVICE, PROACTIVE_SERVICE or PROMOTION)"));
    }
    absl::StatusOr<absl::Duration> d = policy::ParseDuration(std::string(absl::StripAsciiWhitespace(item.substr(eq + 1))));
    if (!d.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": ", d.status().message()));
    }
    if (!out.emplace(c, *d).second) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": given twice"));
    }
  }
  return out;
}

absl::StatusOr<std::set<MessageClass>> ParseClassList(const std::string& text) {
  std::set<MessageClass> out;
  if (text == "NONE") {
    return out;
  }
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    const std::string name(absl::StripAsciiWhitespace(part));
    MessageClass c;
    if (!v1::MessageClass_Parse(name, &c) || c == v1::MESSAGE_CLASS_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown message class '", name, "' (expected TRANSACTIONAL, SERVICE, PROACTIVE_SERVICE, PROMOTION or NONE)"));
    }
    out.insert(c);
  }
  return out;
}

const std::vector<ConfigKey>& ConfigKeys() {
  static const std::vector<ConfigKey> keys = BuildKeys();
  return keys;
}

absl::Status ApplyConfigFile(const std::string& path, const std::string& text, Config& config) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": not valid YAML: ", e.msg));
  }
  if (!root || root.IsNull()) {
    return absl::OkStatus();  // an empty file means all defaults
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":1:1: config must be a mapping of keys to values"));
  }
  return Walk(root, "", path, config);
}

absl::Status ApplyEnvironment(const std::map<std::string, std::string>& env, Config& config) {
  for (const auto& [name, value] : env) {
    if (!name.starts_with("TACT_")) {
      continue;
    }
    if (name.starts_with(kKafkaPropertiesEnvPrefix)) {  // kafka.properties.<name>
      const std::string property = KafkaPropertyFromEnv(name);
      if (absl::Status s = CheckKafkaProperty(property); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": ", s.message()));
      }
      config.kafka_properties[property] = value;
      continue;
    }
    const ConfigKey* nearest = nullptr;
    size_t best = std::string::npos;
    for (const ConfigKey& k : ConfigKeys()) {
      if (k.env == name) {
        nearest = nullptr;
        best = 0;
        break;
      }
      const size_t d = EditDistance(name, k.env);
      if (d < best) {
        best = d;
        nearest = &k;
      }
    }
    if (nearest == nullptr) {
      continue;  // a setting
    }
    // A near miss is a typo; anything else belongs to a tool or a test (TACT_KEEP_TEST_DIRS, …) and is left alone.
    if (best <= 2 || nearest->env.starts_with(name) || name.starts_with(nearest->env)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": unknown setting (did you mean ", nearest->env, "?)"));
    }
  }
  for (const ConfigKey& k : ConfigKeys()) {
    if (auto it = env.find(k.env); it != env.end()) {
      if (absl::Status s = k.set(config, it->second); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(k.env, ": ", s.message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Validate(const Config& config) {
  if (absl::Status s = CheckListen("grpc.listen", config.grpc_listen, 0); !s.ok()) return s;
  if (absl::Status s = CheckListen("admin.listen", config.admin_listen, 0); !s.ok()) return s;
  if (absl::Status s = CheckListen("redis.address", config.redis, 1); !s.ok()) return s;
  if (config.redis_tls != "true") {
    for (const auto& [path, value] :
         {std::pair<const char*, const std::string*>{"redis.tls_ca_file", &config.redis_tls_ca_file},
          {"redis.tls_cert_file", &config.redis_tls_cert_file},
          {"redis.tls_key_file", &config.redis_tls_key_file},
          {"redis.tls_server_name", &config.redis_tls_server_name}}) {
      if (!value->empty()) {
        return absl::InvalidArgumentError(absl::StrCat(path, " is set but redis.tls is not true"));
      }
    }
  }
  if (config.redis_tls_cert_file.empty() != config.redis_tls_key_file.empty()) {
    return absl::InvalidArgumentError("redis.tls_cert_file and redis.tls_key_file must be given together");
  }
  if (!config.redis_password.empty() && !config.redis_password_file.empty()) {
    return absl::InvalidArgumentError("TACT_REDIS_PASSWORD and redis.password_file are both set: use one");
  }
  if (!config.redis_username.empty() && config.redis_password.empty() && config.redis_password_file.empty()) {
    return absl::InvalidArgumentError(
        "redis.username needs a password: set TACT_REDIS_PASSWORD or redis.password_file");
  }
  if (config.grpc_listen == config.admin_listen) {
    return absl::InvalidArgumentError("grpc.listen and admin.listen must differ");
  }
  const bool tls = !config.grpc_tls_cert.empty() || !config.grpc_tls_key.empty();
  if (tls && (config.grpc_tls_cert.empty() || config.grpc_tls_key.empty())) {
    return absl::InvalidArgumentError("grpc.tls_cert and grpc.tls_key must be given together");
  }
  if (!tls && config.grpc_plaintext != "true") {
    return absl::InvalidArgumentError(
        "grpc: no TLS certificate configured; set grpc.tls_cert and grpc.tls_key, or grpc.plaintext=true "
        "(--grpc-plaintext true) for local use");
  }
  if (tls && config.grpc_plaintext == "true") {
    return absl::InvalidArgumentError("grpc.plaintext=true conflicts with grpc.tls_cert/grpc.tls_key");
  }
  if (!config.grpc_tls_client_ca.empty() && !tls) {
    return absl::InvalidArgumentError("grpc.tls_client_ca needs grpc.tls_cert and grpc.tls_key");
  }
  if (absl::Status s = ValidateKafkaSecurity(config); !s.ok()) return s;
  return absl::OkStatus();
}

std::string FormatConfig(const Config& config) {
  std::string out;
  for (const ConfigKey& k : ConfigKeys()) {
    std::string value = k.get(config);
    if (k.secret && !value.empty()) {
      value = "***";
    } else if (value.empty()) {
      value = "\"\"";
    }
    absl::StrAppend(&out, k.path, ": ", value, "\n");
  }
  for (const auto& [name, value] : config.kafka_properties) {
    absl::StrAppend(&out, "kafka.properties.", name, ": ",
                    IsSensitiveKafkaProperty(name) ? "***" : value.empty() ? "\"\"" : value, "\n");
  }
  return out;
}

}  // namespace tact::ops
