// tactd's typed settings (daemon/ops/config.h Settings, LoadSettings): parsed once into typed fields, defaults in
// one place, and the sources in order (default < file < environment < flag) with errors naming file:line, the
// variable or the flag.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/ops/config.h"
#include "tests/unit/ops/config_test_helpers.h"

namespace tact::ops {
namespace {

using testing::Env;

// A config file in the test's temporary directory, removed at the end.
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text)
      : path_(std::string(::testing::TempDir()) + "/tactd-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml") {
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

const std::map<std::string, std::string> kPlaintext{{"grpc.plaintext", "true"}};

TEST(SettingsTest, SourcesApplyInOrderFileEnvironmentFlag) {
  ConfigFile file("redis:\n  pool_size: 8\n  deadline_ms: 100\n  seen_ttl: 96h\ngrpc:\n  workers: 2\n");
  absl::StatusOr<Settings> s = LoadSettings(
      file.path(), {{"TACT_REDIS_POOL_SIZE", "16"}, {"TACT_GRPC_WORKERS", "3"}},
      {{"grpc.plaintext", "true"}, {"grpc.workers", "5"}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->redis.deadline_ms, 100);               // file
  EXPECT_EQ(s->redis.seen_ttl, absl::Hours(96));      // file
  EXPECT_EQ(s->redis.pool_size, 16);                  // environment over file
  EXPECT_EQ(s->grpc.workers, 5);                      // flag over environment
  EXPECT_TRUE(s->grpc.plaintext);
  EXPECT_EQ(s->kafka.brokers, Settings{}.kafka.brokers);  // default
}

TEST(SettingsTest, ErrorsNameTheFileLineTheVariableOrTheFlag) {
  ConfigFile file("redis:\n  pool_size: 0\n");
  EXPECT_EQ(LoadSettings(file.path(), {}, kPlaintext).status().message(),
            file.path() + ":2:3: redis.pool_size: 0 is out of range [1, 256]");
  EXPECT_EQ(LoadSettings("/nonexistent/tactd.yaml", {}, kPlaintext).status().message(),
            "/nonexistent/tactd.yaml: cannot read config file");
  EXPECT_EQ(LoadSettings("", {{"TACT_REDIS_SEEN_TTL", "soon"}}, kPlaintext).status().message(),
            "TACT_REDIS_SEEN_TTL: bad duration 'soon' (expected e.g. 30m, 24h, 7d, 1d12h)");
  EXPECT_EQ(LoadSettings("", {}, {{"grpc.plaintext", "true"}, {"redis.pool_size", "0"}}).status().message(),
            "--redis-pool-size: 0 is out of range [1, 256]");
  EXPECT_EQ(LoadSettings("", {}, {{"redis.address", "x"}, {"grpc.plaintext", "true"}}).status().message(),
            "redis.address: 'x' must be host:port with a port in [1, 65535]");  // Validate runs last
  EXPECT_EQ(LoadSettings("", {}, {}).status().message(),
            "grpc: no TLS certificate configured; set grpc.tls_cert and grpc.tls_key, or grpc.plaintext=true "
            "(--grpc-plaintext true) for local use");
}

// redis.older_layouts (true by default) from the file, the environment and the flag; a bad value names the
// file:line, the variable or the flag.
TEST(SettingsTest, RedisOlderLayoutsFromEverySource) {
  absl::StatusOr<Settings> s = LoadSettings("", {}, kPlaintext);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->redis.older_layouts);
  ConfigFile file("redis:\n  older_layouts: false\n");
  s = LoadSettings(file.path(), {}, kPlaintext);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->redis.older_layouts);
  EXPECT_TRUE(s->redis.legacy_keys);  // its own setting, unchanged
  s = LoadSettings("", {{"TACT_REDIS_OLDER_LAYOUTS", "false"}}, kPlaintext);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->redis.older_layouts);
  s = LoadSettings(file.path(), {{"TACT_REDIS_OLDER_LAYOUTS", "false"}},
                   {{"grpc.plaintext", "true"}, {"redis.older_layouts", "true"}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->redis.older_layouts);  // the flag over the environment and the file

  ConfigFile bad("redis:\n  older_layouts: sometimes\n");
  EXPECT_EQ(std::string(LoadSettings(bad.path(), {}, kPlaintext).status().message()),
            absl::StrCat(bad.path(),
                         ":2:3: redis.older_layouts: unknown value 'sometimes' (expected one of: true, false)"));
  EXPECT_EQ(std::string(LoadSettings("", {{"TACT_REDIS_OLDER_LAYOUTS", "no"}}, kPlaintext).status().message()),
            "TACT_REDIS_OLDER_LAYOUTS: unknown value 'no' (expected one of: true, false)");
  EXPECT_EQ(std::string(
                LoadSettings("", {}, {{"grpc.plaintext", "true"}, {"redis.older_layouts", "0"}}).status().message()),
            "--redis-older-layouts: unknown value '0' (expected one of: true, false)");
  EXPECT_NE(FormatConfig(Settings{}).find("\nredis.older_layouts: true\n"), std::string::npos);
}

TEST(SettingsTest, ValuesAreTypedOnce) {
  Settings s;
  ASSERT_EQ(Env({{"TACT_REDIS_SEEN_TTL", "3d"},
                 {"TACT_REDIS_FAIL_OPEN_CLASSES", "NONE"},
                 {"TACT_REDIS_BATCHING", "pipeline"},
                 {"TACT_REDIS_CHECKS", "script"},
                 {"TACT_REDIS_LEGACY_KEYS", "false"},
                 {"TACT_PROCESSING_GUARANTEE", "exactly_once"},
                 {"TACT_SIGNALS_ENABLED", "false"},
                 {"TACT_DEFERRED_RETRY_INTERVAL", "1h30m"},
                 {"TACT_LOG_LEVEL", "warn"}},
                &s),
            "ok");
  EXPECT_EQ(s.redis.seen_ttl, absl::Hours(72));
  EXPECT_TRUE(s.redis.fail_open_classes.empty());
  EXPECT_EQ(s.redis.batching, Settings::Batching::kPipeline);
  EXPECT_EQ(s.redis.checks, Settings::Checks::kScript);
  EXPECT_FALSE(s.redis.legacy_keys);
  EXPECT_EQ(s.processing.guarantee, Settings::Guarantee::kExactlyOnce);
  EXPECT_FALSE(s.signals.enabled);
  EXPECT_TRUE(s.deferred.enabled);
  EXPECT_EQ(s.deferred.retry_interval, absl::Minutes(90));
  EXPECT_EQ(s.log_level, LogLevel::kWarning);
  EXPECT_EQ(Settings{}.redis.fail_open_classes, std::set<MessageClass>{v1::TRANSACTIONAL});
}

// deferred.max_age names some classes; the others keep their defaults (as when tactd merged them at start).
TEST(SettingsTest, MaxAgeOverridesOnlyTheClassesNamed) {
  Settings s;
  ASSERT_EQ(Env({{"TACT_DEFERRED_MAX_AGE", "PROMOTION=12h"}}, &s), "ok");
  std::map<MessageClass, absl::Duration> expected = Settings{}.deferred.max_age;
  expected[v1::PROMOTION] = absl::Hours(12);
  EXPECT_EQ(s.deferred.max_age, expected);
  EXPECT_EQ(s.deferred.max_age.at(v1::SERVICE), absl::Hours(72));
  for (const ConfigKey& k : ConfigKeys()) {
    if (k.path == "deferred.max_age") {
      EXPECT_EQ(k.get(s), "TRANSACTIONAL=72h,SERVICE=72h,PROACTIVE_SERVICE=48h,PROMOTION=12h");
    }
  }
}

// One table line per setting: unique paths, flags and variables, in --print-config order.
TEST(SettingsTest, EveryKeyIsUniqueAndPrintedOnce) {
  std::set<std::string> paths, flags, envs;
  for (const ConfigKey& k : ConfigKeys()) {
    EXPECT_TRUE(paths.insert(k.path).second) << k.path;
    EXPECT_TRUE(envs.insert(k.env).second) << k.env;
    if (!k.flag.empty()) {
      EXPECT_TRUE(flags.insert(k.flag).second) << k.flag;
    }
    EXPECT_EQ(k.flag.empty(), k.secret) << k.path;
  }
  const std::string printed = FormatConfig(Settings{});
  EXPECT_EQ(static_cast<size_t>(std::count(printed.begin(), printed.end(), '\n')), ConfigKeys().size());
  EXPECT_EQ(printed.find("policies: policies/default\n"), 0u);
  EXPECT_NE(printed.find("\nredis.seen_ttl: 72h\n"), std::string::npos);
  EXPECT_NE(printed.find("\nredis.tls: false\n"), std::string::npos);
  EXPECT_NE(printed.find("\nlog.level: info\n"), std::string::npos);
}

}  // namespace
}  // namespace tact::ops
