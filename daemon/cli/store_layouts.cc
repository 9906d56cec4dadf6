// tactctl store layouts (store_verbs.h).
#include <ostream>

#include "absl/strings/str_cat.h"
#include "daemon/cli/customer_verbs.h"
#include "daemon/cli/store_verbs.h"
#include "daemon/store/redis_counter_store.h"
#include "nlohmann/json.hpp"

namespace tact::cli {

LayoutCounter RedisLayoutCounter(const Clock& clock) {
  return [&clock](const ops::Settings& settings, absl::Time deadline) -> absl::StatusOr<store::LayoutCounts> {
    // The store customer forget connects with (the same address, TLS and AUTH settings).
    absl::StatusOr<std::unique_ptr<store::CounterStore>> made = RedisForgetStore(clock)(settings);
    if (!made.ok()) return made.status();
    auto* redis = dynamic_cast<store::RedisCounterStore*>(made->get());
    if (redis == nullptr) return absl::InternalError("tactctl store layouts: not a Redis store");
    return redis->CountLayouts(deadline);
  };
}

int StoreLayouts(const StoreLayoutsArgs& args, const Environment& env, const Clock& clock,
                 const LayoutCounter& counter, const Streams& io) {
  auto fail = [&](absl::string_view message) {
    io.err << "tactctl store layouts: " << message << "\n";
    return kExitUsage;
  };
  // TACT_REDIS_* from the environment, then the flags (ForgetSettings reads no more than that here).
  const absl::StatusOr<ops::Settings> settings =
      ForgetSettings(ForgetArgs{.settings_flags = args.settings_flags}, env);
  if (!settings.ok()) return fail(settings.status().message());
  const absl::StatusOr<store::LayoutCounts> counts = counter(*settings, clock.Now() + absl::Seconds(args.timeout_s));
  if (!counts.ok()) return fail(counts.status().message());
  io.out << nlohmann::ordered_json{{"v2", counts->v2}, {"v1", counts->v1}, {"legacy", counts->legacy}}.dump() << "\n";
  return kExitOk;
}

}  // namespace tact::cli
