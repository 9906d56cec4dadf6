#include "daemon/decision/replay.h"

#include "daemon/decision/store_spec.h"

namespace tact::decision {

Replayer::Replayer(std::shared_ptr<const policy::Policy> policy, store::CounterStore& store)
    : policy_(std::move(policy)), store_(store), service_(holder_, store, clock_, hasher_) {
  holder_.Set(policy_);
}

absl::StatusOr<Decided> Replayer::Decide(const Event& event, absl::Time at, bool dry_run) {
  clock_.Set(at);
  return service_.Decide(event, {.dry_run = dry_run, .source = "replay", .deadline = at + absl::Seconds(5)});
}

absl::Status Replayer::PutSignal(const policy::Signal& signal, absl::Time at) {
  clock_.Set(at);
  absl::StatusOr<store::SignalWrite> w = ToStoreSignal(signal);
  if (!w.ok()) return w.status();
  return store_.PutSignal(*w, at, at + absl::Seconds(5));
}

}  // namespace tact::decision
