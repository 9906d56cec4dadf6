// tactctl store layouts (store_verbs.h).
#include <ostream>

#include "absl/strings/str_cat.h"
#include "daemon/cli/customer_verbs.h"
#include "daemon/cli/store_verbs.h"
#include "daemon/store/redis_counter_store.h"
#include "nlohmann/json.hpp"

namespace tact::cli {

namespace {

class RedisLayouts final : public LayoutStore {
 public:
  RedisLayouts(std::unique_ptr<store::CounterStore> owner, store::RedisCounterStore& redis)
      : owner_(std::move(owner)), redis_(redis) {}
  absl::StatusOr<store::LayoutCounts> Count(absl::Time deadline) override { return redis_.CountLayouts(deadline); }
  absl::StatusOr<bool> Sealed(absl::Time deadline) override { return redis_.LayoutsSealed(deadline); }
  absl::Status Seal(bool sealed, absl::Time deadline) override { return redis_.SealLayouts(sealed, deadline); }

 private:
  std::unique_ptr<store::CounterStore> owner_;
  store::RedisCounterStore& redis_;
};

}  // namespace

LayoutStoreMaker RedisLayoutStore(const Clock& clock) {
  return [&clock](const ops::Settings& settings) -> absl::StatusOr<std::unique_ptr<LayoutStore>> {
    // The store customer forget connects with (the same address, TLS and AUTH settings): a RedisCounterStore.
    absl::StatusOr<std::unique_ptr<store::CounterStore>> made = RedisForgetStore(clock)(settings);
    if (!made.ok()) return made.status();
    auto* redis = dynamic_cast<store::RedisCounterStore*>(made->get());
    if (redis == nullptr) return absl::InternalError("not a Redis store");
    return std::make_unique<RedisLayouts>(*std::move(made), *redis);
  };
}

int StoreLayouts(const StoreLayoutsArgs& args, const Environment& env, const Clock& clock,
                 const LayoutStoreMaker& make, const Streams& io) {
  auto fail = [&](absl::string_view message) {
    io.err << "tactctl store layouts: " << message << "\n";
    return kExitUsage;
  };
  if (args.seal && args.unseal) return fail("--seal and --unseal: give one of them");
  // TACT_REDIS_* from the environment, then the flags (ForgetSettings reads no more than that here).
  const absl::StatusOr<ops::Settings> settings =
      ForgetSettings(ForgetArgs{.settings_flags = args.settings_flags}, env);
  if (!settings.ok()) return fail(settings.status().message());
  absl::StatusOr<std::unique_ptr<LayoutStore>> redis = make(*settings);
  if (!redis.ok()) return fail(redis.status().message());
  const absl::Time deadline = clock.Now() + absl::Seconds(args.timeout_s);
  const absl::StatusOr<store::LayoutCounts> counts = (*redis)->Count(deadline);
  if (!counts.ok()) return fail(counts.status().message());
  const bool older_left = counts->v1 > 0 || counts->legacy > 0;
  if (args.unseal || (args.seal && !older_left)) {
    if (absl::Status s = (*redis)->Seal(args.seal, deadline); !s.ok()) return fail(s.message());
  }
  const absl::StatusOr<bool> sealed = (*redis)->Sealed(deadline);
  if (!sealed.ok()) return fail(sealed.status().message());
  io.out << nlohmann::ordered_json{{"v2", counts->v2}, {"v1", counts->v1}, {"legacy", counts->legacy},
                                   {"sealed", *sealed}}
                .dump()
         << "\n";
  if (args.seal && older_left) {
    io.err << "tactctl store layouts: not sealed: " << counts->v1 << " key(s) of layout v1 and " << counts->legacy
           << " of the legacy layout are left (a tactd moves a customer on its next decision or signal; the rest "
              "expire)\n";
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace tact::cli
