// tactctl customer forget (customer_verbs.h): erase one customer's Redis state, then record the erasure.
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/cli/customer_verbs.h"
#include "daemon/core/customer_hash.h"
#include "daemon/store/keys.h"
#include "daemon/store/redis_counter_store.h"
#include "nlohmann/json.hpp"

namespace tact::cli {
namespace {

bool IsForgetVariable(const std::string& name) {
  return name.starts_with("TACT_REDIS_") || name == "TACT_CUSTOMER_HASH_KEY" ||
         name.starts_with(ops::kKafkaPropertiesEnvPrefix) || name == "TACT_KAFKA_SECURITY_PROTOCOL" ||
         name.starts_with("TACT_KAFKA_SASL_") || name.starts_with("TACT_KAFKA_SSL_");
}

std::string OperatorName(const ForgetArgs& args, const Environment& env) {
  if (!args.operator_name.empty()) return args.operator_name;
  auto user = env.find("USER");
  return user == env.end() ? "" : user->second;
}

}  // namespace

bool IsForgetSetting(const std::string& path) {
  return path == "redis.address" || path == "redis.username" || path == "redis.password_file" ||
         path.starts_with("redis.tls") || IsSecuritySetting(path);
}

absl::StatusOr<ops::Settings> ForgetSettings(const ForgetArgs& args, const Environment& env) {
  std::map<std::string, std::string> forget_env;
  for (const auto& [name, value] : env) {
    if (IsForgetVariable(name)) forget_env.emplace(name, value);
  }
  ops::Settings settings;
  if (absl::Status s = ops::ApplyEnvironment(forget_env, settings); !s.ok()) return s;
  for (const ops::ConfigKey& k : ops::ConfigKeys()) {
    if (auto it = args.settings_flags.find(k.path); it != args.settings_flags.end()) {
      if (absl::Status s = k.set(settings, it->second); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(k.flag, ": ", s.message()));
      }
    }
  }
  if (!settings.redis.tls && (!settings.redis.tls_ca_file.empty() || !settings.redis.tls_cert_file.empty())) {
    return absl::InvalidArgumentError("--redis-tls-ca-file / --redis-tls-cert-file need --redis-tls true");
  }
  return settings;
}

ForgetStoreFactory RedisForgetStore(const Clock& clock) {
  return [&clock](const ops::Settings& settings) -> absl::StatusOr<std::unique_ptr<store::CounterStore>> {
    const ops::Settings::Redis& r = settings.redis;
    store::RedisSettings redis;
    if (absl::Status s = store::ParseRedisAddress(r.address, &redis); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--redis: ", s.message()));
    }
    redis.pool_size = 1;
    redis.connect_timeout = absl::Seconds(5);
    redis.tls = {.enabled = r.tls,
                 .ca_file = r.tls_ca_file,
                 .cert_file = r.tls_cert_file,
                 .key_file = r.tls_key_file,
                 .server_name = r.tls_server_name};
    redis.auth = {.username = r.username, .password = r.password, .password_file = r.password_file};
    if (absl::Status s = store::CheckRedisSecurity(redis.tls, redis.auth); !s.ok()) {
      return absl::InvalidArgumentError(s.message());
    }
    return std::make_unique<store::RedisCounterStore>(redis, clock, store::KeySchema(r.key_secret));
  };
}

std::string TombstoneJson(const Tombstone& t) {
  nlohmann::json j = {{"type", "customer_erased"},
                      {"tenant", t.tenant},
                      {"customer_hash", t.customer_hash},
                      {"erased_at", Rfc3339Z(t.erased_at)},
                      {"operator", t.operator_name},
                      {"keys_removed", t.keys_removed},
                      {"reason", t.reason},
                      {"ticket", t.ticket},
                      {"stores", {"redis"}}};
  return j.dump();
}

int Forget(const ForgetArgs& args, const Environment& env, const Clock& clock, const ForgetStoreFactory& stores,
           const ErasureWriter& writer, const Streams& io) {
  auto usage = [&](absl::string_view message) {
    io.err << "tactctl customer forget: " << message << "\n";
    return kExitUsage;
  };
  if (args.tenant.empty() || args.customer.empty()) return usage("--tenant and --customer must not be empty");
  const std::string operator_name = OperatorName(args, env);
  if (operator_name.empty()) return usage("--operator: required when $USER is unset");
  const absl::StatusOr<ops::Settings> settings = ForgetSettings(args, env);
  if (!settings.ok()) return usage(settings.status().message());
  if (settings->customer_hash_key.empty()) {
    return usage("TACT_CUSTOMER_HASH_KEY is not set: the tombstone names the customer by tactd's customer hash");
  }
  const absl::StatusOr<ops::KafkaSecurity> security = ops::LoadKafkaSecurity(*settings);
  if (!security.ok()) return usage(security.status().message());
  if (settings->redis.key_secret.empty()) {
    io.err << "tactctl customer forget: warning: TACT_REDIS_KEY_SECRET is not set: erasing the keys of the public "
              "key schema (right only if tactd runs without a secret too)\n";
  }
  absl::StatusOr<std::unique_ptr<store::CounterStore>> store = stores(*settings);
  if (!store.ok()) return usage(store.status().message());

  const std::vector<std::string> prefixes =
      store::CustomerPrefixes(store::KeySchema(settings->redis.key_secret), args.tenant, args.customer);
  const absl::StatusOr<int64_t> removed =
      (*store)->ForgetCustomer(prefixes, clock.Now() + absl::Seconds(args.timeout_s));
  if (!removed.ok()) return usage(removed.status().message());

  const CustomerHasher hasher(settings->customer_hash_key);
  const Tombstone tombstone{.tenant = args.tenant,
                            .customer_hash = hasher.Hash(args.tenant, args.customer),
                            .erased_at = clock.Now(),
                            .operator_name = operator_name,
                            .keys_removed = *removed,
                            .reason = args.reason,
                            .ticket = args.ticket};
  const std::string payload = TombstoneJson(tombstone);
  if (absl::Status s = writer(args, *security, tombstone.customer_hash, payload); !s.ok()) {
    return usage(absl::StrFormat("%d Redis key(s) removed, but the tombstone was not written to %s: %s; run it "
                                 "again (idempotent) and keep this output as the record",
                                 *removed, args.topic, s.message()));
  }
  if (args.json) {
    io.out << payload << "\n";
  } else {
    io.out << absl::StrFormat("tenant %s, customer hash %s: %d Redis key(s) removed; tombstone written to %s\n",
                              args.tenant, tombstone.customer_hash, *removed, args.topic);
  }
  if (*removed == 0) {
    io.err << "tactctl customer forget: nothing stored for this customer (already erased, never seen, or a wrong "
              "--tenant, --customer or TACT_REDIS_KEY_SECRET)\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace tact::cli
