#pragma once

// The campaign release gate on the decision path (docs/campaigns.md "Campaign release gate"). An event whose campaign is
// gated by policy (`campaign_gates:`, daemon/policy/campaign_gates.h) is released only within its campaign's
// released plan; otherwise it is DEFERRED with rule_id `campaign-gate:<gate id>`, a defer_until and the missing
// condition as the reason:
//   "campaign spring-sale not released"                        not released (or rejected): re-decided each interval
//   "campaign spring-sale cancelled"                           CancelCampaign: held until the events expire
//   "campaign spring-sale paused: contacts 2.1× plan (…)"      paused by feedback until Campaigns.ResumeCampaign
//   "waiting for contact-centre acknowledgement"               require_acknowledgement, not acknowledged yet
//   "notice lead time 48h: first send at 2026-…Z"              min_notice after the RELEASED notice (released_at)
//   "campaign starts at …" / "paced: no batch in this interval, next batch at …"
//   "paced: interval batch of 1200 used, next batch at …"      PACE plans: at most the planned batch per interval
//   "paced: schedule ended at …; re-plan to send the rest"
// Conditions that wait for a person (release, acknowledgement, resume, re-plan) defer to the next 15-minute
// interval boundary: the deferred-topic scheduler re-decides then and expires stale events.
//
// Paced counting. The released count of a PACE campaign's interval is a Redis set of event ids
// (tact:cap:{tenant}:paced:<campaign>:<interval unix seconds>), reserved atomically in one Lua call (member
// already → admitted again, idempotent for a redelivered event; SCARD < batch → SADD; else full), so several
// tactd instances share one exact count. Order: the slot is reserved BEFORE the customer-level store step and
// given back (SREM) when the customer-level decision is not RELEASE. The other order (customer first) would
// consume the customer's frequency caps for a message the campaign then holds back; this order never does, and
// its one failure mode (tactd dies between reserve and give-back) leaves the interval one message short —
// the side that keeps the contact centre's promise. A VERDICT_RELEASE plan holds the target with the whole
// audience at once, so it is not counted per interval (only held until its first send).
//
// A redelivered event its gate now defers (the campaign was paused since) still gets its earlier final decision:
// the store step runs as a dry run for it, and a duplicate's earlier RELEASE/SUPPRESS wins over the gate's DEFER.
//
// Campaign state is read through a per-process cache (TTL `cache_ttl`, default 1 s), so the hot path does one
// Redis round-trip per gated event only for paced campaigns (the slot), plus one after release for the
// campaign's released count (a HyperLogLog, used for complaints per 1,000).
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/core/clock.h"
#include "daemon/core/event.h"
#include "daemon/policy/campaign_gates.h"
#include "daemon/store/capacity_store.h"
#include "tact/v1/capacity.pb.h"

namespace tact::campaign {

// The start of the 15-minute interval after the one holding `t` (intervals aligned to quarter hours, UTC).
absl::Time NextIntervalStart(absl::Time t);
absl::Time IntervalStart(absl::Time t);

// What the campaign's state allows at `now` (pure).
struct GateState {
  enum class Kind { kDefer, kRelease, kPaced };
  Kind kind = Kind::kDefer;
  absl::Time defer_until = absl::InfinitePast();  // kDefer
  std::string reason;                              // kDefer
  // kPaced: the batch of the interval holding `now`, and the start of the following batch (InfiniteFuture: none).
  absl::Time interval = absl::InfinitePast();
  int64_t batch = 0;
  absl::Time next_batch = absl::InfiniteFuture();
};
// `campaign` nullptr: not released.
GateState EvaluateGate(const policy::CampaignGate& gate, const v1::Campaign* campaign, std::string_view campaign_id,
                       absl::Time now);
std::string GateTime(absl::Time t);  // 2026-11-23T09:15:00Z
std::string LeadTime(absl::Duration d);  // "48h", "90m": as a planner writes min_notice

// What the gate says about one event.
struct GateAnswer {
  bool release = false;
  absl::Time defer_until = absl::InfinitePast();
  std::string reason;
  bool slot_reserved = false;  // paced: given back unless the event is released
  absl::Time interval = absl::InfinitePast();
};

// Enforces a policy's campaign gate on the decision path: the port the DecisionService asks (through
// decision::GateBatch). Thread-safety: implementations are called from any thread.
class GateEnforcer {
 public:
  virtual ~GateEnforcer() = default;
  // UNAVAILABLE when the store failed (the event fails closed like any store failure).
  virtual absl::StatusOr<GateAnswer> Admit(const policy::CampaignGate& gate, const Event& event, absl::Time now,
                                           bool dry_run) = 0;
  // After the customer-level decision of an admitted event (never for dry runs): released → counted in the
  // campaign's released figure; not released → its reserved slot is given back. Errors are logged.
  virtual void Settle(const Event& event, const GateAnswer& answer, bool released) = 0;
};

// GateEnforcer over the campaign repository (store::CapacityStore: Redis in tactd, in memory in tests).
class StoreGateEnforcer final : public GateEnforcer {
 public:
  StoreGateEnforcer(store::CapacityStore& store, const Clock& clock, absl::Duration cache_ttl = absl::Seconds(1))
      : store_(store), clock_(clock), cache_ttl_(cache_ttl) {}

  absl::StatusOr<GateAnswer> Admit(const policy::CampaignGate& gate, const Event& event, absl::Time now,
                                   bool dry_run) override;
  void Settle(const Event& event, const GateAnswer& answer, bool released) override;

 private:
  using Cached = std::shared_ptr<const std::optional<v1::Campaign>>;
  absl::StatusOr<Cached> Campaign(const std::string& tenant, const std::string& campaign_id);

  store::CapacityStore& store_;
  const Clock& clock_;
  const absl::Duration cache_ttl_;
  absl::Mutex mu_;
  struct Entry {
    Cached campaign;
    std::chrono::steady_clock::time_point fetched;
  };
  absl::flat_hash_map<std::pair<std::string, std::string>, Entry> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tact::campaign
