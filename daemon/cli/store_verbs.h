#pragma once

// tactctl store layouts: how many customer keys each Redis key layout has (store v2, layout v1, the legacy
// layout) and whether the Redis carries the layout seal; --seal writes the seal once no key of an older layout is
// left, and every tactd then stops looking in them (docs/operations.md "Dropping the older-layout lookup").
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemon/cli/cli.h"
#include "daemon/core/clock.h"
#include "daemon/ops/config.h"
#include "daemon/store/layouts.h"

namespace tact::cli {

struct StoreLayoutsArgs {
  int timeout_s = 600;
  bool seal = false;    // --seal: write the layout seal when no key of an older layout is left
  bool unseal = false;  // --unseal: remove it (before running a tactd older than store v2 on this Redis)
  // Setting path → flag value, given only: redis.address and the redis.* connection settings (TLS, ACL user,
  // password file), under tactd's flag names (as customer forget takes them).
  std::map<std::string, std::string> settings_flags;
};

// What the verb does with a Redis (store::RedisCounterStore's CountLayouts, LayoutsSealed, SealLayouts).
class LayoutStore {
 public:
  virtual ~LayoutStore() = default;
  // The keys of each layout (every master of a Redis Cluster).
  virtual absl::StatusOr<store::LayoutCounts> Count(absl::Time deadline) = 0;
  virtual absl::StatusOr<bool> Sealed(absl::Time deadline) = 0;
  virtual absl::Status Seal(bool sealed, absl::Time deadline) = 0;
};
// The LayoutStore on the Redis that `settings` name.
using LayoutStoreMaker = std::function<absl::StatusOr<std::unique_ptr<LayoutStore>>(const ops::Settings& settings)>;
LayoutStoreMaker RedisLayoutStore(const Clock& clock);  // `clock` outlives the stores made

// Prints {"v2":n,"v1":n,"legacy":n,"sealed":bool} and exits 0; 1 when --seal finds keys of an older layout (not
// sealed; the counts still printed); 2 on bad flags or Redis unreachable (the error names the flag or the failure).
int StoreLayouts(const StoreLayoutsArgs& args, const Environment& env, const Clock& clock,
                 const LayoutStoreMaker& make, const Streams& io);

}  // namespace tact::cli
