#pragma once

// tactctl customer forget: erasure of one customer (GDPR Art. 17; docs/operations.md "Retention and erasure").
// Deletes every Redis key of the customer (CounterStore::ForgetCustomer over the customer's prefixes, computed with
// TACT_REDIS_KEY_SECRET as tactd does), then writes a tombstone record (JSON, keyed by the customer hash) to the
// erasure topic, tact.erasures. The record names the customer only by its keyed hash (TACT_CUSTOMER_HASH_KEY).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/cli/audit.h"
#include "daemon/cli/cli.h"
#include "daemon/core/clock.h"
#include "daemon/ops/config.h"
#include "daemon/ops/kafka_security.h"
#include "daemon/store/counter_store.h"

namespace tact::cli {

struct ForgetArgs {
  std::string tenant;
  std::string customer;
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "tact.erasures";
  std::string operator_name;  // default: $USER
  std::string reason;
  std::string ticket;
  int timeout_s = 10;
  bool json = false;
  // Setting path → flag value, given only: redis.address and the redis.* connection settings (TLS, ACL user,
  // password file), and the kafka.* security settings, under tactd's flag names.
  std::map<std::string, std::string> settings_flags;
};

// The settings forget works with: TACT_REDIS_*, TACT_KAFKA_* security variables and TACT_CUSTOMER_HASH_KEY from
// `env` (secrets only there), then the flags given. Errors name the variable or flag.
absl::StatusOr<ops::Settings> ForgetSettings(const ForgetArgs& args, const Environment& env);
// True for the settings whose flags `customer forget` takes (besides its own).
bool IsForgetSetting(const std::string& path);

// The store holding the customers' state (tactctl: Redis at settings.redis, with its TLS and AUTH).
using ForgetStoreFactory =
    std::function<absl::StatusOr<std::unique_ptr<store::CounterStore>>(const ops::Settings& settings)>;
ForgetStoreFactory RedisForgetStore(const Clock& clock);  // `clock` outlives the stores made
// Writes one record to the erasure topic and waits until the broker acknowledged it (or --timeout).
using ErasureWriter = std::function<absl::Status(const ForgetArgs& args, const ops::KafkaSecurity& security,
                                                 const std::string& key, const std::string& payload)>;
ErasureWriter KafkaErasureWriter();  // librdkafka, acks=all

// The tombstone: {"type":"customer_erased","tenant","customer_hash","erased_at","operator","keys_removed",
// "reason","ticket","stores":["redis"]}.
struct Tombstone {
  std::string tenant;
  std::string customer_hash;
  absl::Time erased_at;
  std::string operator_name;
  int64_t keys_removed = 0;
  std::string reason;
  std::string ticket;
};
std::string TombstoneJson(const Tombstone& t);

// Exit 0 when keys were removed and the tombstone written; 1 when the customer had nothing stored (already erased,
// never seen, or a wrong --tenant / --customer / TACT_REDIS_KEY_SECRET): the tombstone is written all the same,
// recording the request; 2 on bad flags, a missing TACT_CUSTOMER_HASH_KEY, or Redis or Kafka unreachable
// (running it again is safe).
int Forget(const ForgetArgs& args, const Environment& env, const Clock& clock, const ForgetStoreFactory& stores,
           const ErasureWriter& writer, const Streams& io);

}  // namespace tact::cli
