// tactd settings (daemon/ops/config.cc): processing.*, strict file and environment parsing with exact messages,
// secrets, validation, and the documented defaults in deploy/tactd.yaml.
#include "daemon/ops/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/unit/ops/config_test_helpers.h"

namespace tact::ops {
namespace {

TEST(ProcessingConfigTest, DefaultsToAtLeastOnce) {
  const Config c;
  EXPECT_EQ(c.processing.guarantee, Settings::Guarantee::kAtLeastOnce);
  EXPECT_EQ(c.processing.transactional_id, "");
  EXPECT_EQ(c.processing.transaction_max_events, 500);
  EXPECT_EQ(c.processing.transaction_max_age_ms, 100);
}

TEST(ProcessingConfigTest, FileSetsExactlyOnceAndItsBatch) {
  Config c;
  ASSERT_TRUE(ApplyConfigFile("tactd.yaml",
                              "processing:\n"
                              "  guarantee: exactly_once\n"
                              "  transactional_id: tactd-0\n"
                              "  transaction_max_events: 50\n"
                              "  transaction_max_age_ms: 20\n",
                              c)
                  .ok());
  EXPECT_EQ(c.processing.guarantee, Settings::Guarantee::kExactlyOnce);
  EXPECT_EQ(c.processing.transactional_id, "tactd-0");
  EXPECT_EQ(c.processing.transaction_max_events, 50);
  EXPECT_EQ(c.processing.transaction_max_age_ms, 20);
}

TEST(ProcessingConfigTest, UnknownGuaranteeNamesFileLineAndChoices) {
  Config c;
  const absl::Status s = ApplyConfigFile("tactd.yaml", "processing:\n  guarantee: exactly-once\n", c);
  EXPECT_EQ(s.message(),
            "tactd.yaml:2:3: processing.guarantee: unknown guarantee 'exactly-once' (expected at_least_once or "
            "exactly_once)");
}

TEST(ProcessingConfigTest, EnvironmentAndRangeChecks) {
  Config c;
  EXPECT_TRUE(ApplyEnvironment({{"TACT_PROCESSING_GUARANTEE", "exactly_once"}}, c).ok());
  EXPECT_EQ(c.processing.guarantee, Settings::Guarantee::kExactlyOnce);
  EXPECT_EQ(ApplyEnvironment({{"TACT_PROCESSING_TRANSACTION_MAX_EVENTS", "0"}}, c).message(),
            "TACT_PROCESSING_TRANSACTION_MAX_EVENTS: 0 is out of range [1, 100000]");
}


using testing::Apply;
using testing::Env;

TEST(ConfigFileTest, NestedKeysApply) {
  Config c;
  ASSERT_EQ(Apply("kafka:\n  brokers: k1:9092,k2:9092\n  topics:\n    dlq: my.dlq\nredis:\n  pool_size: 8\n", &c),
            "ok");
  EXPECT_EQ(c.kafka.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(c.kafka.topics.dlq, "my.dlq");
  EXPECT_EQ(c.redis.pool_size, 8);
}

TEST(ConfigFileTest, EmptyFileMeansDefaults) { EXPECT_EQ(Apply(""), "ok"); }

TEST(ConfigFileTest, ExactErrors) {
  EXPECT_EQ(Apply("kafka:\n  broker: x:1\n"), "tactd.yaml:2:3: unknown key 'kafka.broker'");
  EXPECT_EQ(Apply("kafak:\n  brokers: x:1\n"), "tactd.yaml:1:1: unknown section 'kafak'");
  EXPECT_EQ(Apply("redis:\n  pool_size: many\n"), "tactd.yaml:2:3: redis.pool_size: 'many' is not a whole number");
  EXPECT_EQ(Apply("redis:\n  pool_size: 0\n"), "tactd.yaml:2:3: redis.pool_size: 0 is out of range [1, 256]");
  EXPECT_EQ(Apply("log:\n  level: loud\n"),
            "tactd.yaml:2:3: log.level: unknown log level 'loud' (expected one of: debug, info, warn, error)");
  EXPECT_EQ(Apply("redis:\n  seen_ttl: 3 days\n").substr(0, 31), "tactd.yaml:2:3: redis.seen_ttl:");
  EXPECT_EQ(Apply("kafka:\n  brokers: [a, b]\n"), "tactd.yaml:2:3: 'kafka.brokers' must be a single value");
  EXPECT_EQ(Apply("- a\n- b\n"), "tactd.yaml:1:1: config must be a mapping of keys to values");
  EXPECT_EQ(Apply("customer_hash_key: hunter2\n"),
            "tactd.yaml:1:1: 'customer_hash_key' is a secret: set TACT_CUSTOMER_HASH_KEY in the environment, not in "
            "a file");
  EXPECT_EQ(Apply("kafka: {brokers: x:1\n").substr(0, 11), "tactd.yaml:");
}

TEST(ConfigFileTest, OptionalKeyMayBeEmpty) {
  Config c;
  ASSERT_EQ(Apply("kafka:\n  group_instance_id: \"\"\n", &c), "ok");
  EXPECT_EQ(c.kafka.group_instance_id, "");
  EXPECT_EQ(Apply("kafka:\n  brokers: \"\"\n"), "tactd.yaml:2:3: kafka.brokers: must not be empty");
}

// Every key is reachable through its TACT_* variable, which is derived from the YAML path.
TEST(ConfigEnvTest, EveryKeyHasAWorkingVariable) {
  for (const ConfigKey& k : ConfigKeys()) {
    std::string expected = "TACT_";
    for (char ch : k.path) expected.push_back(ch == '.' ? '_' : static_cast<char>(std::toupper(ch)));
    EXPECT_EQ(k.env, expected);
    Config defaults;
    const std::map<std::string, std::string> special{{"log.level", "debug"},
                                                      {"redis.seen_ttl", "96h"},
                                                      {"redis.fail_open_classes", "PROMOTION"},
                                                      {"redis.batching", "pipeline"},
                                                      {"redis.checks", "script"},
                                                      {"redis.legacy_keys", "false"},
                                                      {"redis.older_layouts", "false"},
                                                      {"policies.require_tests", "true"},
                                                      {"redis.tls", "true"},
                                                      {"grpc.plaintext", "true"},
                                                      {"grpc.record_decisions", "false"},
                                                      {"processing.guarantee", "exactly_once"},
                                                      {"signals.enabled", "false"},
                                                      {"deferred.enabled", "false"},
                                                      {"deferred.max_age", "TRANSACTIONAL=72h,SERVICE=72h,PROACTIVE_SERVICE=48h,PROMOTION=12h"},
                                                      {"deferred.retry_interval", "5m"},
                                                      {"kafka.security_protocol", "SASL_SSL"},
                                                      {"kafka.sasl_mechanism", "SCRAM-SHA-256"}};
    const std::string value = special.contains(k.path) ? special.at(k.path)
                              : k.get(defaults).empty() || !std::isdigit(k.get(defaults)[0])
                                  ? "x-" + k.path + ":1"
                                  : std::to_string(std::stoi(k.get(defaults)) + 1);
    Config c;
    ASSERT_EQ(Env({{k.env, value}}, &c), "ok") << k.env;
    EXPECT_EQ(k.get(c), value) << k.env;
  }
}

TEST(ConfigParseTest, ClassDurations) {
  absl::StatusOr<std::map<MessageClass, absl::Duration>> d = ParseClassDurations(" PROMOTION=12h, SERVICE = 3d ");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, (std::map<MessageClass, absl::Duration>{{v1::PROMOTION, absl::Hours(12)},
                                                        {v1::SERVICE, absl::Hours(72)}}));
  EXPECT_TRUE(ParseClassDurations("")->empty());
  EXPECT_EQ(ParseClassDurations("PROMOTION").status().message(), "'PROMOTION' is not CLASS=DURATION (e.g. PROMOTION=24h)");
  EXPECT_EQ(ParseClassDurations("PROMO=1h").status().message(),
            "unknown message class 'PROMO' (expected TRANSACTIONAL, SERVICE, PROACTIVE_SERVICE or PROMOTION)");
  EXPECT_EQ(ParseClassDurations("SERVICE=1h,SERVICE=2h").status().message(), "SERVICE: given twice");
  EXPECT_FALSE(ParseClassDurations("SERVICE=soon").ok());
  Config c;
  EXPECT_EQ(Env({{"TACT_DEFERRED_MAX_AGE", "PROMOTION=0s"}}, &c),
            "TACT_DEFERRED_MAX_AGE: PROMOTION: duration '0s' must be longer than zero");
}

TEST(ConfigEnvTest, ExactErrors) {
  EXPECT_EQ(Env({{"TACT_REDIS_POOL_SIZE", "-1"}}), "TACT_REDIS_POOL_SIZE: -1 is out of range [1, 256]");
  EXPECT_EQ(Env({{"TACT_KAFKA_BROKERS", ""}}), "TACT_KAFKA_BROKERS: must not be empty");
  EXPECT_EQ(Env({{"TACT_LOG_LEVL", "info"}}), "TACT_LOG_LEVL: unknown setting (did you mean TACT_LOG_LEVEL?)");
  EXPECT_EQ(Env({{"TACT_REDIS_ADDR", "x:1"}}), "TACT_REDIS_ADDR: unknown setting (did you mean TACT_REDIS_ADDRESS?)");
  EXPECT_EQ(Env({{"TACT_KAFKA_BROKER", "x:1"}}),
            "TACT_KAFKA_BROKER: unknown setting (did you mean TACT_KAFKA_BROKERS?)");
  // Variables that name no setting and are no near miss belong to tools and tests.
  EXPECT_EQ(Env({{"TACT_KAFKA_BOOTSTRAP_FILE", "/tmp/x"}}), "ok");
  EXPECT_EQ(Env({{"TACT_KEEP_TEST_DIRS", "1"}}), "ok");
}

TEST(ConfigEnvTest, SecretComesFromTheEnvironmentAndIsMasked) {
  Config c;
  ASSERT_EQ(Env({{"TACT_CUSTOMER_HASH_KEY", "s3cret-key"}}, &c), "ok");
  EXPECT_EQ(c.customer_hash_key, "s3cret-key");
  const std::string printed = FormatConfig(c);
  EXPECT_EQ(printed.find("s3cret-key"), std::string::npos);
  EXPECT_NE(printed.find("customer_hash_key: ***\n"), std::string::npos);
  EXPECT_NE(FormatConfig(Config{}).find("customer_hash_key: \"\"\n"), std::string::npos);
  // The Redis key secret likewise: environment only, never printed.
  ASSERT_EQ(Env({{"TACT_REDIS_KEY_SECRET", "r3dis-key"}}, &c), "ok");
  EXPECT_EQ(c.redis.key_secret, "r3dis-key");
  EXPECT_EQ(FormatConfig(c).find("r3dis-key"), std::string::npos);
  EXPECT_NE(FormatConfig(c).find("redis.key_secret: ***\n"), std::string::npos);
  EXPECT_EQ(Apply("redis:\n  key_secret: hunter2\n"),
            "tactd.yaml:2:3: 'redis.key_secret' is a secret: set TACT_REDIS_KEY_SECRET in the environment, not in a "
            "file");
  for (const ConfigKey& k : ConfigKeys()) {
    if (k.path == "redis.key_secret") {
      EXPECT_TRUE(k.secret && k.flag.empty());
    }
  }
}

TEST(ConfigValidateTest, ExactErrors) {
  Config plain;
  plain.grpc.plaintext = true;
  Config c = plain;
  EXPECT_TRUE(Validate(c).ok());
  c.admin_listen = c.grpc.listen;
  EXPECT_EQ(Validate(c).message(), "grpc.listen and admin.listen must differ");
  c = plain;
  c.admin_listen = "9464";
  EXPECT_EQ(Validate(c).message(), "admin.listen: '9464' must be host:port with a port in [0, 65535]");
  c = plain;
  c.redis.address = "redis:0";
  EXPECT_EQ(Validate(c).message(), "redis.address: 'redis:0' must be host:port with a port in [1, 65535]");
  c = plain;
  c.grpc.listen = "0.0.0.0:70000";
  EXPECT_EQ(Validate(c).message(), "grpc.listen: '0.0.0.0:70000' must be host:port with a port in [0, 65535]");
}

// Redis AUTH and TLS settings: the password only from the environment (or a file), masked; TLS files only with
// redis.tls; a certificate with its key; a user with a password.
TEST(ConfigRedisSecurityTest, PasswordIsASecretAndCombinationsAreChecked) {
  Config c;
  ASSERT_EQ(Env({{"TACT_REDIS_PASSWORD", "pw-42"}, {"TACT_REDIS_USERNAME", "tact"}}, &c), "ok");
  EXPECT_EQ(c.redis.password, "pw-42");
  EXPECT_EQ(FormatConfig(c).find("pw-42"), std::string::npos);
  EXPECT_NE(FormatConfig(c).find("redis.password: ***\n"), std::string::npos);
  EXPECT_EQ(Apply("redis:\n  password: hunter2\n"),
            "tactd.yaml:2:3: 'redis.password' is a secret: set TACT_REDIS_PASSWORD in the environment, not in a file");
  for (const ConfigKey& k : ConfigKeys()) {
    if (k.path == "redis.password") {
      EXPECT_TRUE(k.secret && k.flag.empty());
    }
  }
  Config plain;
  plain.grpc.plaintext = true;
  c = plain;
  c.redis.tls_ca_file = "/ca.crt";
  EXPECT_EQ(Validate(c).message(), "redis.tls_ca_file is set but redis.tls is not true");
  c.redis.tls = true;
  EXPECT_TRUE(Validate(c).ok());
  c.redis.tls_cert_file = "/tls.crt";
  EXPECT_EQ(Validate(c).message(), "redis.tls_cert_file and redis.tls_key_file must be given together");
  c = plain;
  c.redis.username = "tact";
  EXPECT_EQ(Validate(c).message(), "redis.username needs a password: set TACT_REDIS_PASSWORD or redis.password_file");
  c.redis.password_file = "/pw";
  EXPECT_TRUE(Validate(c).ok());
  c.redis.password = "x";
  EXPECT_EQ(Validate(c).message(), "TACT_REDIS_PASSWORD and redis.password_file are both set: use one");
}

// deploy/tactd.yaml documents every key with its default: it must parse, name every key, and change nothing.
TEST(ConfigDocumentedDefaultsTest, DeployFileListsEveryDefault) {
  std::ifstream in(std::string(TACT_SOURCE_DIR) + "/deploy/tactd.yaml");
  ASSERT_TRUE(in) << "deploy/tactd.yaml missing";
  std::stringstream text;
  text << in.rdbuf();
  Config c;
  ASSERT_EQ(Apply(text.str(), &c), "ok");
  EXPECT_EQ(FormatConfig(c), FormatConfig(Config{}));
  for (const ConfigKey& k : ConfigKeys()) {
    const std::string leaf = k.path.substr(k.path.rfind('.') + 1);
    EXPECT_NE(text.str().find(leaf + ":"), std::string::npos) << k.path << " is not documented";
  }
}

}  // namespace
}  // namespace tact::ops
