#pragma once

// How every librdkafka client of tactd and tactctl authenticates and encrypts (security.protocol, SASL, TLS), and
// the kafka.properties.<name> pass-through. Built once at start from ops::Settings (LoadKafkaSecurity) and applied by
// pipeline::CreateProducer/CreateConsumer, the start-up topic-limit learner and `tactctl audit`, so no client can
// connect differently from the others.
//
// Secrets (the SASL password, the TLS key's password, sensitive pass-through properties) come from a file or the
// environment only, never from a flag; FormatConfig masks them and they are never logged.
//
// librdkafka 2.0.2 reads the ssl.*.location files once, when a client is created: rotated certificates or a
// changed password take effect at the next restart of tactd (a rolling restart in Kubernetes).
//
// Thread-safety: plain values and pure functions (LoadKafkaSecurity reads files); any thread.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tact::ops {

struct Settings;
using Config = Settings;

struct KafkaSecurity {
  std::string protocol = "PLAINTEXT";  // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
  std::string sasl_mechanism;          // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (SASL_* only)
  std::string sasl_username;
  std::string sasl_password;  // secret
  std::string ssl_ca_location;
  std::string ssl_certificate_location;
  std::string ssl_key_location;
  std::string ssl_key_password;                                  // secret
  std::vector<std::pair<std::string, std::string>> properties;  // kafka.properties.<name>, checked by CheckKafkaProperty

  // The librdkafka properties (name, value) every client gets on top of its own. Holds the secrets in clear: hand
  // it to librdkafka only, never to a log.
  std::vector<std::pair<std::string, std::string>> LibrdkafkaConf() const;
  // The secret values set (non-empty), for redaction of anything logged.
  std::vector<std::string> Secrets() const;
};

// Reads the password files named by the config (kafka.sasl_password_file, kafka.ssl_key_password_file), takes the
// environment's passwords otherwise, and checks the whole set: errors name the setting, e.g.
// "kafka.sasl_password_file: /run/secrets/x: cannot read". Config-only checks are in ValidateKafkaSecurity.
absl::StatusOr<KafkaSecurity> LoadKafkaSecurity(const Config& config);

// Cross-field checks on the settings as given (no file access): unknown protocol or mechanism, SASL without a
// username or a password, a mechanism or TLS file with a protocol that does not use it, a password given twice.
absl::Status ValidateKafkaSecurity(const Config& config);

// OK when `name` may be set through kafka.properties.<name>. Refused: what tact owns (offsets, transactions,
// partition assignment, group membership, bootstrap servers, delivery guarantees: "set by tact, cannot be
// overridden") and what has its own kafka.* setting (security.protocol, sasl.*, ssl.*.location: "use kafka.X").
absl::Status CheckKafkaProperty(std::string_view name);
// A property whose value is a secret (a password, a secret, a PEM key, a JAAS or OAUTHBEARER config): accepted
// from the environment only and masked in --print-config.
bool IsSensitiveKafkaProperty(std::string_view name);
// TACT_KAFKA_PROPERTIES_<NAME> → the property: NAME lower-cased, '_' → '.' (e.g. SOCKET_KEEPALIVE_ENABLE →
// socket.keepalive.enable). Empty when `env` is not of that form.
std::string KafkaPropertyFromEnv(std::string_view env);
inline constexpr std::string_view kKafkaPropertiesEnvPrefix = "TACT_KAFKA_PROPERTIES_";

// `text` with every occurrence of each (non-empty) secret replaced by "***".
std::string RedactSecrets(std::string text, const std::vector<std::string>& secrets);

}  // namespace tact::ops
