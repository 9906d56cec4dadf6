#pragma once

// tactctl store layouts: how many customer keys each Redis key layout has (store v2, layout v1, the legacy
// layout), so an operator knows when redis.older_layouts can be set false (docs/operations.md "Redis keys").
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/cli/cli.h"
#include "daemon/core/clock.h"
#include "daemon/ops/config.h"
#include "daemon/store/layouts.h"

namespace tact::cli {

struct StoreLayoutsArgs {
  int timeout_s = 600;
  // Setting path → flag value, given only: redis.address and the redis.* connection settings (TLS, ACL user,
  // password file), under tactd's flag names (as customer forget takes them).
  std::map<std::string, std::string> settings_flags;
};

// Counts the keys of each layout in the Redis (every master of a Redis Cluster) that `settings` name.
using LayoutCounter =
    std::function<absl::StatusOr<store::LayoutCounts>(const ops::Settings& settings, absl::Time deadline)>;
LayoutCounter RedisLayoutCounter(const Clock& clock);  // `clock` outlives the counter

// Prints {"v2":n,"v1":n,"legacy":n} and exits 0; 2 on bad flags or Redis unreachable (the error names the flag or
// the failure).
int StoreLayouts(const StoreLayoutsArgs& args, const Environment& env, const Clock& clock,
                 const LayoutCounter& counter, const Streams& io);

}  // namespace tact::cli
