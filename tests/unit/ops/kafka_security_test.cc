// Kafka security settings (daemon/ops/kafka_security.cc, the kafka.* keys of config.cc): validation with exact
// messages, secrets from files or the environment only and masked, the kafka.properties.<name> pass-through and
// its refusals, and the librdkafka properties every client gets (daemon/pipeline/kafka_clients.cc).
#include "daemon/ops/kafka_security.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "daemon/ops/config.h"
#include "tests/unit/ops/config_test_helpers.h"
#include "daemon/pipeline/kafka_clients.h"

namespace tact::ops {
namespace {

using testing::Apply;
using testing::Env;

std::string Check(const Config& c) {
  absl::Status s = ValidateKafkaSecurity(c);
  return s.ok() ? "ok" : std::string(s.message());
}

// A file in a fresh temp dir, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/tact-ksec-XXXXXX";
    const int fd = mkstemp(tmpl);
    path_ = tmpl;
    close(fd);
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Config SaslSsl() {
  Config c;
  c.kafka.security_protocol = "SASL_SSL";
  c.kafka.sasl_mechanism = "SCRAM-SHA-512";
  c.kafka.sasl_username = "tact";
  c.kafka.sasl_password = "pw-in-env";
  return c;
}

TEST(KafkaSecurityConfigTest, DefaultIsPlaintextWithNothingElse) {
  const Config c;
  EXPECT_EQ(Check(c), "ok");
  absl::StatusOr<KafkaSecurity> k = LoadKafkaSecurity(c);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->LibrdkafkaConf(), (std::vector<std::pair<std::string, std::string>>{{"security.protocol", "PLAINTEXT"}}));
}

TEST(KafkaSecurityConfigTest, FileAndFlagsNamesAndExactErrors) {
  Config c;
  ASSERT_EQ(Apply("kafka:\n  security_protocol: SASL_SSL\n  sasl_mechanism: SCRAM-SHA-512\n  sasl_username: tact\n"
                  "  sasl_password_file: /run/secrets/kafka-password\n  ssl_ca_location: /etc/kafka/ca.pem\n",
                  &c),
            "ok");
  EXPECT_EQ(c.kafka.security_protocol, "SASL_SSL");
  EXPECT_EQ(c.kafka.sasl_password_file, "/run/secrets/kafka-password");
  EXPECT_EQ(Apply("kafka:\n  security_protocol: TLS\n"),
            "tactd.yaml:2:3: kafka.security_protocol: unknown protocol 'TLS' (expected one of: PLAINTEXT, SSL, "
            "SASL_PLAINTEXT, SASL_SSL)");
  EXPECT_EQ(Apply("kafka:\n  sasl_mechanism: GSSAPI\n"),
            "tactd.yaml:2:3: kafka.sasl_mechanism: unknown mechanism 'GSSAPI' (expected one of: PLAIN, SCRAM-SHA-256, "
            "SCRAM-SHA-512)");
  EXPECT_EQ(Apply("kafka:\n  sasl_password: hunter2\n"),
            "tactd.yaml:2:3: 'kafka.sasl_password' is a secret: set TACT_KAFKA_SASL_PASSWORD in the environment, not "
            "in a file");
  EXPECT_EQ(Apply("kafka:\n  ssl_key_password: hunter2\n"),
            "tactd.yaml:2:3: 'kafka.ssl_key_password' is a secret: set TACT_KAFKA_SSL_KEY_PASSWORD in the environment, "
            "not in a file");
  // Secrets have no flag (a flag's value shows in `ps`); their *_file settings do.
  for (const ConfigKey& k : ConfigKeys()) {
    if (k.path == "kafka.sasl_password" || k.path == "kafka.ssl_key_password") {
      EXPECT_TRUE(k.secret && k.flag.empty()) << k.path;
    }
    if (k.path == "kafka.sasl_password_file") {
      EXPECT_EQ(k.flag, "--kafka-sasl-password-file");
    }
  }
}

TEST(KafkaSecurityConfigTest, CrossFieldErrors) {
  EXPECT_EQ(Check(SaslSsl()), "ok");
  Config c = SaslSsl();
  c.kafka.sasl_mechanism.clear();
  EXPECT_EQ(Check(c),
            "kafka.sasl_mechanism: required with kafka.security_protocol SASL_SSL (one of: PLAIN, SCRAM-SHA-256, "
            "SCRAM-SHA-512)");
  c = SaslSsl();
  c.kafka.sasl_username.clear();
  EXPECT_EQ(Check(c), "kafka.sasl_username: required with kafka.security_protocol SASL_SSL");
  c = SaslSsl();
  c.kafka.sasl_password.clear();
  EXPECT_EQ(Check(c),
            "kafka: security_protocol SASL_SSL needs a password: set kafka.sasl_password_file or "
            "TACT_KAFKA_SASL_PASSWORD");
  c = SaslSsl();
  c.kafka.sasl_password_file = "/run/secrets/pw";
  EXPECT_EQ(Check(c), "kafka.sasl_password_file and TACT_KAFKA_SASL_PASSWORD are both set: give the password one way");
  c = Config{};
  c.kafka.sasl_username = "tact";
  EXPECT_EQ(Check(c),
            "kafka.sasl_username is set but kafka.security_protocol is PLAINTEXT (SASL needs SASL_SSL or "
            "SASL_PLAINTEXT)");
  c = SaslSsl();
  c.kafka.security_protocol = "SASL_PLAINTEXT";
  c.kafka.ssl_ca_location = "/etc/ca.pem";
  EXPECT_EQ(Check(c),
            "kafka.ssl_ca_location is set but kafka.security_protocol is SASL_PLAINTEXT (TLS needs SSL or SASL_SSL)");
  c = Config{};
  c.kafka.security_protocol = "SSL";
  c.kafka.ssl_certificate_location = "/etc/client.pem";
  EXPECT_EQ(Check(c), "kafka.ssl_certificate_location and kafka.ssl_key_location must be given together (mTLS)");
  // tactd's Validate runs these checks too.
  c.grpc.plaintext = true;
  EXPECT_EQ(Validate(c).message(),
            "kafka.ssl_certificate_location and kafka.ssl_key_location must be given together (mTLS)");
}

TEST(KafkaSecurityConfigTest, PasswordFileIsReadAndUnreadableFilesAreNamed) {
  TempFile pw("s3cret-from-file\n");
  TempFile ca("-----BEGIN CERTIFICATE-----\n");
  Config c = SaslSsl();
  c.kafka.sasl_password.clear();
  c.kafka.sasl_password_file = pw.path();
  c.kafka.ssl_ca_location = ca.path();
  absl::StatusOr<KafkaSecurity> k = LoadKafkaSecurity(c);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->sasl_password, "s3cret-from-file");  // the trailing newline of a Secret file is not part of it
  EXPECT_EQ(k->LibrdkafkaConf(), (std::vector<std::pair<std::string, std::string>>{
                                     {"security.protocol", "SASL_SSL"},
                                     {"sasl.mechanisms", "SCRAM-SHA-512"},
                                     {"sasl.username", "tact"},
                                     {"sasl.password", "s3cret-from-file"},
                                     {"ssl.ca.location", ca.path()}}));
  EXPECT_EQ(k->Secrets(), std::vector<std::string>{"s3cret-from-file"});

  c.kafka.sasl_password_file = "/nonexistent/kafka-password";
  EXPECT_EQ(LoadKafkaSecurity(c).status().message(),
            "kafka.sasl_password_file: /nonexistent/kafka-password: cannot read");
  c.kafka.sasl_password_file = pw.path();
  c.kafka.ssl_ca_location = "/nonexistent/ca.pem";
  EXPECT_EQ(LoadKafkaSecurity(c).status().message(), "kafka.ssl_ca_location: /nonexistent/ca.pem: cannot read (or empty)");
  TempFile empty("\n");
  c.kafka.ssl_ca_location = ca.path();
  c.kafka.sasl_password_file = empty.path();
  EXPECT_EQ(LoadKafkaSecurity(c).status().message(), "kafka.sasl_password_file: " + empty.path() + ": is empty");
}

TEST(KafkaSecurityConfigTest, SecretsAreMaskedInPrintConfig) {
  Config c;
  ASSERT_EQ(Env({{"TACT_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"},
                 {"TACT_KAFKA_SASL_MECHANISM", "PLAIN"},
                 {"TACT_KAFKA_SASL_USERNAME", "api-key"},
                 {"TACT_KAFKA_SASL_PASSWORD", "api-s3cret"},
                 {"TACT_KAFKA_SSL_KEY_PASSWORD", "key-s3cret"},
                 {"TACT_KAFKA_PROPERTIES_SASL_OAUTHBEARER_CLIENT_SECRET", "oauth-s3cret"},
                 {"TACT_KAFKA_PROPERTIES_SOCKET_KEEPALIVE_ENABLE", "true"}},
                &c),
            "ok");
  const std::string printed = FormatConfig(c);
  for (const char* secret : {"api-s3cret", "key-s3cret", "oauth-s3cret"}) {
    EXPECT_EQ(printed.find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(printed.find("kafka.sasl_password: ***\n"), std::string::npos);
  EXPECT_NE(printed.find("kafka.ssl_key_password: ***\n"), std::string::npos);
  EXPECT_NE(printed.find("kafka.properties.sasl.oauthbearer.client.secret: ***\n"), std::string::npos);
  EXPECT_NE(printed.find("kafka.properties.socket.keepalive.enable: true\n"), std::string::npos);
  EXPECT_NE(printed.find("kafka.sasl_username: api-key\n"), std::string::npos);
}

TEST(KafkaPropertiesTest, PassThroughFromFileAndEnvironment) {
  Config c;
  ASSERT_EQ(Apply("kafka:\n  properties:\n    socket.keepalive.enable: true\n    ssl.endpoint.identification.algorithm: "
                  "none\n",
                  &c),
            "ok");
  EXPECT_EQ(c.kafka.properties, (std::map<std::string, std::string>{{"socket.keepalive.enable", "true"},
                                                                    {"ssl.endpoint.identification.algorithm", "none"}}));
  ASSERT_EQ(Env({{"TACT_KAFKA_PROPERTIES_CLIENT_RACK", "eu-west-1a"}}, &c), "ok");
  EXPECT_EQ(c.kafka.properties, (std::map<std::string, std::string>{{"client.rack", "eu-west-1a"}}));
  EXPECT_EQ(KafkaPropertyFromEnv("TACT_KAFKA_PROPERTIES_"), "");
  EXPECT_EQ(KafkaPropertyFromEnv("TACT_KAFKA_BROKERS"), "");
}

TEST(KafkaPropertiesTest, OwnedAndDedicatedPropertiesAreRefused) {
  for (const char* owned : {"enable.auto.commit", "enable.auto.offset.store", "group.id", "isolation.level",
                            "transactional.id", "enable.idempotence", "partition.assignment.strategy",
                            "group.instance.id", "bootstrap.servers", "acks"}) {
    EXPECT_EQ(CheckKafkaProperty(owned).message(),
              std::string("kafka.properties.") + owned + ": set by tact, cannot be overridden");
  }
  EXPECT_EQ(CheckKafkaProperty("sasl.password").message(),
            "kafka.properties.sasl.password: use kafka.sasl_password_file or TACT_KAFKA_SASL_PASSWORD instead");
  EXPECT_EQ(CheckKafkaProperty("security.protocol").message(),
            "kafka.properties.security.protocol: use kafka.security_protocol instead");
  EXPECT_TRUE(CheckKafkaProperty("socket.keepalive.enable").ok());
  EXPECT_EQ(Apply("kafka:\n  properties:\n    enable.auto.commit: false\n"),
            "tactd.yaml:3:5: kafka.properties.enable.auto.commit: set by tact, cannot be overridden");
  EXPECT_EQ(Env({{"TACT_KAFKA_PROPERTIES_ISOLATION_LEVEL", "read_uncommitted"}}),
            "TACT_KAFKA_PROPERTIES_ISOLATION_LEVEL: kafka.properties.isolation.level: set by tact, cannot be "
            "overridden");
  EXPECT_EQ(Apply("kafka:\n  properties:\n    sasl.oauthbearer.client.secret: x\n"),
            "tactd.yaml:3:5: 'kafka.properties.sasl.oauthbearer.client.secret' is a secret: set "
            "TACT_KAFKA_PROPERTIES_SASL_OAUTHBEARER_CLIENT_SECRET in the environment, not in a file");
  EXPECT_EQ(Apply("kafka:\n  properties: yes\n"),
            "tactd.yaml:2:3: 'kafka.properties' must be a mapping of librdkafka property names to values");
}

TEST(KafkaSecurityRedactTest, ReplacesEverySecret) {
  EXPECT_EQ(RedactSecrets("a pw1 b pw1 c pw2", {"pw1", "pw2", ""}), "a *** b *** c ***");
  EXPECT_EQ(RedactSecrets("nothing", {}), "nothing");
}

// The clients take the settings: librdkafka accepts the conf built (a producer and a group consumer are created
// without contacting a broker), a property librdkafka does not know is an error naming it, and the password is
// redacted from anything librdkafka reports afterwards.
TEST(KafkaClientsSecurityTest, ClientsAreCreatedWithTheSecuritySettings) {
  TempFile ca("-----BEGIN CERTIFICATE-----\n");
  KafkaSecurity k;
  k.protocol = "SASL_SSL";
  k.sasl_mechanism = "SCRAM-SHA-512";
  k.sasl_username = "tact";
  k.sasl_password = "clients-s3cret";
  k.ssl_ca_location = "probe";
  k.properties = {{"socket.keepalive.enable", "true"}};
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> p =
      pipeline::CreateProducer("127.0.0.1:1", "unit", k, nullptr, nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> consumer =
      pipeline::CreateConsumer({.brokers = "127.0.0.1:1", .client_id = "unit", .group_id = "g", .security = k},
                               nullptr, nullptr);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  (*consumer)->close();
  EXPECT_EQ(pipeline::RedactKafkaText("SASL login clients-s3cret failed"), "SASL login *** failed");

  k.properties = {{"no.such.property", "1"}};
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> bad =
      pipeline::CreateProducer("127.0.0.1:1", "unit", k, nullptr, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("kafka config no.such.property: "), std::string::npos) << bad.status();
  EXPECT_EQ(bad.status().message().find("clients-s3cret"), std::string::npos);

  k.properties = {};
  k.protocol = "SSL";  // no SASL: sasl.* not set
  k.sasl_mechanism.clear();
  k.sasl_username.clear();
  k.sasl_password.clear();
  k.ssl_ca_location = ca.path();  // not a certificate: librdkafka reads the CA when the client is created
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> bad_ca =
      pipeline::CreateProducer("127.0.0.1:1", "unit", k, nullptr, nullptr);
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_NE(bad_ca.status().message().find("ssl.ca.location"), std::string::npos) << bad_ca.status();
}

TEST(KafkaClientsSecurityTest, AuthenticationAndTlsFailuresAreRecognised) {
  EXPECT_TRUE(pipeline::LogKafkaSecurityFailure(RdKafka::ERR__AUTHENTICATION, "x"));
  EXPECT_TRUE(pipeline::LogKafkaSecurityFailure(
      RdKafka::ERR_NO_ERROR, "sasl_ssl://h:1/bootstrap: SASL authentication error: Authentication failed"));
  EXPECT_TRUE(pipeline::LogKafkaSecurityFailure(
      RdKafka::ERR__SSL, "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed"));
  EXPECT_FALSE(pipeline::LogKafkaSecurityFailure(RdKafka::ERR__TRANSPORT, "Connection refused"));
  EXPECT_FALSE(pipeline::LogKafkaSecurityFailure(RdKafka::ERR__ALL_BROKERS_DOWN, "1/1 brokers are down"));
}

}  // namespace
}  // namespace tact::ops
