#include "daemon/ops/kafka_security.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "daemon/ops/config.h"

namespace tact::ops {
namespace {

constexpr std::array<std::string_view, 4> kProtocols = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
constexpr std::array<std::string_view, 3> kMechanisms = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};

// Set by tact on every client or on some: delivery and offset semantics, group membership, transactions.
constexpr std::array<std::string_view, 27> kOwned = {
    "bootstrap.servers",
    "metadata.broker.list",
    "client.id",
    "group.id",
    "group.instance.id",
    "group.protocol",
    "partition.assignment.strategy",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "isolation.level",
    "enable.partition.eof",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "statistics.interval.ms",
    "transactional.id",
    "transaction.timeout.ms",
    "enable.idempotence",
    "enable.gapless.guarantee",
    "acks",
    "request.required.acks",
    "max.in.flight.requests.per.connection",
    "max.in.flight",
    "message.timeout.ms",
    "message.max.bytes",
    "batch.size",
};

// Have their own kafka.* setting.
struct Dedicated {
  std::string_view property;
  std::string_view setting;
};
constexpr std::array<Dedicated, 9> kDedicated = {{
    {"security.protocol", "kafka.security_protocol"},
    {"sasl.mechanisms", "kafka.sasl_mechanism"},
    {"sasl.mechanism", "kafka.sasl_mechanism"},
    {"sasl.username", "kafka.sasl_username"},
    {"sasl.password", "kafka.sasl_password_file or TACT_KAFKA_SASL_PASSWORD"},
    {"ssl.ca.location", "kafka.ssl_ca_location"},
    {"ssl.certificate.location", "kafka.ssl_certificate_location"},
    {"ssl.key.location", "kafka.ssl_key_location"},
    {"ssl.key.password", "kafka.ssl_key_password_file or TACT_KAFKA_SSL_KEY_PASSWORD"},
}};

bool OneOf(std::string_view v, const auto& set) { return std::find(set.begin(), set.end(), v) != set.end(); }

std::string Choices(const auto& set) {
  std::string out;
  for (std::string_view s : set) absl::StrAppend(&out, out.empty() ? "" : ", ", std::string(s));
  return out;
}

// The file's content without trailing line breaks (a Kubernetes Secret or `echo` often adds one).
absl::StatusOr<std::string> ReadSecretFile(const std::string& setting, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(setting, ": ", path, ": cannot read"));
  }
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(setting, ": ", path, ": is empty"));
  }
  return s;
}

absl::Status CheckReadable(const std::string& setting, const std::string& path) {
  if (path.empty() || path == "probe") return absl::OkStatus();  // probe: librdkafka finds the system CAs
  std::ifstream in(path, std::ios::binary);
  if (!in || in.peek() == std::ifstream::traits_type::eof()) {
    return absl::InvalidArgumentError(absl::StrCat(setting, ": ", path, ": cannot read (or empty)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> KafkaSecurity::LibrdkafkaConf() const {
  std::vector<std::pair<std::string, std::string>> out = {{"security.protocol", protocol}};
  auto add = [&](const char* name, const std::string& value) {
    if (!value.empty()) out.emplace_back(name, value);
  };
  add("sasl.mechanisms", sasl_mechanism);
  add("sasl.username", sasl_username);
  add("sasl.password", sasl_password);
  add("ssl.ca.location", ssl_ca_location);
  add("ssl.certificate.location", ssl_certificate_location);
  add("ssl.key.location", ssl_key_location);
  add("ssl.key.password", ssl_key_password);
  out.insert(out.end(), properties.begin(), properties.end());
  return out;
}

std::vector<std::string> KafkaSecurity::Secrets() const {
  std::vector<std::string> out;
  for (const std::string* s : {&sasl_password, &ssl_key_password}) {
    if (!s->empty()) out.push_back(*s);
  }
  for (const auto& [k, v] : properties) {
    if (IsSensitiveKafkaProperty(k) && !v.empty()) out.push_back(v);
  }
  return out;
}

absl::Status CheckKafkaProperty(std::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("kafka.properties: a property needs a name");
  }
  if (OneOf(name, kOwned)) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka.properties.", std::string(name), ": set by tact, cannot be overridden"));
  }
  for (const Dedicated& d : kDedicated) {
    if (d.property == name) {
      return absl::InvalidArgumentError(absl::StrCat("kafka.properties.", std::string(name), ": use ",
                                                     std::string(d.setting), " instead"));
    }
  }
  if (name.ends_with("_cb") || name == "opaque" || name == "interceptors") {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka.properties.", std::string(name), ": set by tact, cannot be overridden"));
  }
  return absl::OkStatus();
}

bool IsSensitiveKafkaProperty(std::string_view name) {
  for (std::string_view word : {"password", "secret", "jaas", "oauthbearer.config", "ssl.key.pem", "ssl_key"}) {
    if (name.find(word) != std::string_view::npos) return true;
  }
  return false;
}

std::string KafkaPropertyFromEnv(std::string_view env) {
  if (!env.starts_with(kKafkaPropertiesEnvPrefix) || env.size() == kKafkaPropertiesEnvPrefix.size()) return "";
  std::string out;
  for (char c : env.substr(kKafkaPropertiesEnvPrefix.size())) {
    out.push_back(c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string RedactSecrets(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    for (size_t at = text.find(s); at != std::string::npos; at = text.find(s, at + 3)) {
      text.replace(at, s.size(), "***");
    }
  }
  return text;
}

absl::Status ValidateKafkaSecurity(const Settings& c) {
  if (!OneOf(c.kafka.security_protocol, kProtocols)) {
    return absl::InvalidArgumentError(absl::StrCat("kafka.security_protocol: unknown protocol '",
                                                   c.kafka.security_protocol, "' (expected one of: ",
                                                   Choices(kProtocols), ")"));
  }
  const bool sasl = c.kafka.security_protocol.starts_with("SASL_");
  const bool tls = c.kafka.security_protocol.ends_with("SSL");
  if (sasl) {
    if (c.kafka.sasl_mechanism.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("kafka.sasl_mechanism: required with kafka.security_protocol ",
                                                     c.kafka.security_protocol, " (one of: ", Choices(kMechanisms),
                                                     ")"));
    }
    if (c.kafka.sasl_username.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("kafka.sasl_username: required with kafka.security_protocol ", c.kafka.security_protocol));
    }
    if (c.kafka.sasl_password.empty() && c.kafka.sasl_password_file.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kafka: security_protocol ", c.kafka.security_protocol,
          " needs a password: set kafka.sasl_password_file or TACT_KAFKA_SASL_PASSWORD"));
    }
  } else {
    for (auto [setting, value] : {std::pair{"kafka.sasl_mechanism", &c.kafka.sasl_mechanism},
                                  std::pair{"kafka.sasl_username", &c.kafka.sasl_username},
                                  std::pair{"kafka.sasl_password_file", &c.kafka.sasl_password_file},
                                  std::pair{"TACT_KAFKA_SASL_PASSWORD", &c.kafka.sasl_password}}) {
      if (!value->empty()) {
        return absl::InvalidArgumentError(absl::StrCat(setting, " is set but kafka.security_protocol is ",
                                                       c.kafka.security_protocol,
                                                       " (SASL needs SASL_SSL or SASL_PLAINTEXT)"));
      }
    }
  }
  if (!c.kafka.sasl_mechanism.empty() && !OneOf(c.kafka.sasl_mechanism, kMechanisms)) {
    return absl::InvalidArgumentError(absl::StrCat("kafka.sasl_mechanism: unknown mechanism '",
                                                   c.kafka.sasl_mechanism, "' (expected one of: ",
                                                   Choices(kMechanisms), ")"));
  }
  if (!c.kafka.sasl_password.empty() && !c.kafka.sasl_password_file.empty()) {
    return absl::InvalidArgumentError(
        "kafka.sasl_password_file and TACT_KAFKA_SASL_PASSWORD are both set: give the password one way");
  }
  if (!c.kafka.ssl_key_password.empty() && !c.kafka.ssl_key_password_file.empty()) {
    return absl::InvalidArgumentError(
        "kafka.ssl_key_password_file and TACT_KAFKA_SSL_KEY_PASSWORD are both set: give the password one way");
  }
  if (!tls) {
    for (auto [setting, value] : {std::pair{"kafka.ssl_ca_location", &c.kafka.ssl_ca_location},
                                  std::pair{"kafka.ssl_certificate_location", &c.kafka.ssl_certificate_location},
                                  std::pair{"kafka.ssl_key_location", &c.kafka.ssl_key_location},
                                  std::pair{"kafka.ssl_key_password_file", &c.kafka.ssl_key_password_file},
                                  std::pair{"TACT_KAFKA_SSL_KEY_PASSWORD", &c.kafka.ssl_key_password}}) {
      if (!value->empty()) {
        return absl::InvalidArgumentError(absl::StrCat(setting, " is set but kafka.security_protocol is ",
                                                       c.kafka.security_protocol,
                                                       " (TLS needs SSL or SASL_SSL)"));
      }
    }
  }
  if (c.kafka.ssl_certificate_location.empty() != c.kafka.ssl_key_location.empty()) {
    return absl::InvalidArgumentError(
        "kafka.ssl_certificate_location and kafka.ssl_key_location must be given together (mTLS)");
  }
  if ((!c.kafka.ssl_key_password.empty() || !c.kafka.ssl_key_password_file.empty()) &&
      c.kafka.ssl_key_location.empty()) {
    return absl::InvalidArgumentError("the TLS key password is set but kafka.ssl_key_location is not");
  }
  for (const auto& [name, value] : c.kafka.properties) {
    if (absl::Status s = CheckKafkaProperty(name); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<KafkaSecurity> LoadKafkaSecurity(const Settings& c) {
  if (absl::Status s = ValidateKafkaSecurity(c); !s.ok()) return s;
  KafkaSecurity k;
  k.protocol = c.kafka.security_protocol;
  k.sasl_mechanism = c.kafka.sasl_mechanism;
  k.sasl_username = c.kafka.sasl_username;
  k.sasl_password = c.kafka.sasl_password;
  if (!c.kafka.sasl_password_file.empty()) {
    absl::StatusOr<std::string> pw = ReadSecretFile("kafka.sasl_password_file", c.kafka.sasl_password_file);
    if (!pw.ok()) return pw.status();
    k.sasl_password = *std::move(pw);
  }
  k.ssl_key_password = c.kafka.ssl_key_password;
  if (!c.kafka.ssl_key_password_file.empty()) {
    absl::StatusOr<std::string> pw = ReadSecretFile("kafka.ssl_key_password_file", c.kafka.ssl_key_password_file);
    if (!pw.ok()) return pw.status();
    k.ssl_key_password = *std::move(pw);
  }
  k.ssl_ca_location = c.kafka.ssl_ca_location;
  k.ssl_certificate_location = c.kafka.ssl_certificate_location;
  k.ssl_key_location = c.kafka.ssl_key_location;
  for (auto [setting, path] : {std::pair{"kafka.ssl_ca_location", &k.ssl_ca_location},
                               std::pair{"kafka.ssl_certificate_location", &k.ssl_certificate_location},
                               std::pair{"kafka.ssl_key_location", &k.ssl_key_location}}) {
    if (absl::Status s = CheckReadable(setting, *path); !s.ok()) return s;
  }
  k.properties.assign(c.kafka.properties.begin(), c.kafka.properties.end());
  return k;
}

}  // namespace tact::ops
