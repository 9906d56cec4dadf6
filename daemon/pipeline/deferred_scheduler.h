#pragma once

#include <deque>
#include <map>
#include <optional>
#include <vector>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/core/clock.h"
#include "daemon/core/customer_hash.h"
#include "daemon/core/event.h"
#include "daemon/ops/metrics.h"
#include "daemon/pipeline/input_worker.h"
#include "daemon/pipeline/output_router.h"
#include "daemon/pipeline/pipeline_stats.h"
#include "tact/v1/decision.pb.h"

namespace tact::pipeline {

// Headers of the deferred-delivery contract (docs/operations.md "Deferred delivery"):
// on tact.deferred (written by the pipeline with every DEFER):
inline constexpr char kDeferUntilHeader[] = "tact-defer-until";  // RFC 3339 UTC: when to decide again
inline constexpr char kDecidedAtHeader[] = "tact-decided-at";    // RFC 3339 UTC: when it was deferred
// on an event the scheduler re-injects into tact.outbound (passed through to its next output):
inline constexpr char kDeferralsHeader[] = "tact-deferrals";                // times deferred so far (1, 2, …)
inline constexpr char kFirstDeferredAtHeader[] = "tact-first-deferred-at";  // RFC 3339 UTC

// RFC 3339 in UTC with the fraction only when there is one ("2026-11-24T08:00:00Z").
std::string FormatHeaderTime(absl::Time t);
// RFC 3339 (any offset); false when not a time.
bool ParseHeaderTime(std::string_view text, absl::Time* out);

// The staleness limit per message class: how long after it was created (else first deferred) a deferred event
// may still go out (config deferred.max_age, parsed by ops::ParseClassDurations).
using MaxAges = std::map<MessageClass, absl::Duration>;
MaxAges DefaultMaxAges();  // PROMOTION 24h, PROACTIVE_SERVICE 48h, SERVICE 72h, TRANSACTIONAL 72h

// The pipeline's DEFER output: tact-defer-until (when the decision has a due time) and tact-decided-at.
void AddDeferralHeaders(HeaderList& headers, const v1::Decision& decision, absl::Time decided_at);

// When is a deferred event acted on, and how. Pure.
struct DeferredTiming {
  absl::Time due;          // decide again (re-inject) at this time…
  absl::Time stale_at;     // …unless it is stale by then: EXPIRED at this time
  absl::Time first_deferred;
  int deferrals = 1;       // this deferral included
  absl::Time act_at() const { return std::min(due, stale_at); }
};

// One record read from tact.deferred, decoded.
struct DeferredRecord {
  TopicPartition tp;
  int64_t offset = 0;
  std::string key;
  std::string value;
  HeaderList headers;
  Event event;
  DeferredTiming timing;
};

// Which held deferral acts when. Pure; not thread-safe (the scheduler thread only).
// Ordered by act_at(). Deduplication by event_id: an older deferral of an event whose newer deferral is also held
// is superseded (so is every copy but the last of equal ones); a deferral no newer than one already acted on
// (remembered for the last `remember` events) is refused by Add().
class DeferredQueue {
 public:
  explicit DeferredQueue(size_t remember) : remember_(remember) {}
  // False when a deferral of this event with at least this count was already acted on: nothing is held.
  bool Add(std::unique_ptr<DeferredRecord> record);
  struct Due {
    std::unique_ptr<DeferredRecord> record;
    bool superseded = false;  // drop it: another deferral of the same event acts
  };
  // Removes and returns the earliest record whose act_at() ≤ now; nullopt when none is due.
  std::optional<Due> PopDue(absl::Time now);
  // Drops what is held for these partitions (revoked: their next owner reads the records again).
  void RemovePartitions(const std::vector<TopicPartition>& partitions);
  size_t size() const { return held_.size(); }
  std::optional<absl::Time> next_at() const {
    return held_.empty() ? std::nullopt : std::optional<absl::Time>(held_.begin()->first);
  }

 private:
  void Release(const DeferredRecord& record);
  void RememberActed(const std::string& event_id, int deferrals);

  const size_t remember_;
  std::multimap<absl::Time, std::unique_ptr<DeferredRecord>> held_;
  // event_id → (highest deferral count held, records held).
  absl::flat_hash_map<std::string, std::pair<int, int>> latest_;
  // Recently acted on: event_id → deferral count, oldest first in acted_order_.
  absl::flat_hash_map<std::string, int> acted_;
  std::deque<std::string> acted_order_;
};

// Label values: class = a message class name; outcome ∈ {reinjected, expired, superseded, dead_letter};
// what ∈ {consume, produce, delivery, client, too_large}.
#define TACT_DEFERRED_STATS(COUNTER, GAUGE, HISTOGRAM)                                                          \
  COUNTER(deferred_outcomes_total, "Deferred events acted on when due, by outcome and class", (outcome, class)) \
  COUNTER(deferred_kafka_errors_total, "Kafka errors of the deferred scheduler (retried)", (what))              \
  GAUGE(deferred_next_due_seconds, "Seconds until the earliest held deferred event is due (0 when none)", ())   \
  GAUGE(deferred_paused, "1 while tact.deferred is paused because deferred.max_held events are held", ())     \
  HISTOGRAM(deferred_due_lag_seconds, "How late a deferred event was acted on after it fell due", ())
TACT_STATS_STRUCT(DeferredStats, TACT_DEFERRED_STATS);

struct DeferredSchedulerOptions {
  InputWorkerOptions kafka;  // topic: tact.deferred; group: "<kafka.group_id>-deferred"
  std::string outbound_topic = "tact.outbound";
  std::string decisions_topic = "tact.decisions";
  std::string suppressed_topic = "tact.suppressed";
  std::string dlq_topic = "tact.dlq";
  MaxAges max_age = DefaultMaxAges();
  absl::Duration default_max_age = absl::Hours(24);  // a class without a limit
  size_t max_held = 100000;                           // pause tact.deferred when this many are held
  absl::Duration retry_interval = absl::Minutes(15);  // a DEFER without a due time is decided again after this
  absl::Duration min_delay = absl::Seconds(1);        // never decided again sooner than this after the deferral
  DeferredStats* stats = nullptr;                     // borrowed; nullptr = a private registry
  PipelineStats* pipeline_stats = nullptr;            // borrowed: its deferred_backlog gauge; may be nullptr
};

DeferredTiming TimeDeferred(const HeaderList& headers, absl::Time created_at, MessageClass message_class,
                            absl::Time now, const DeferredSchedulerOptions& options);

// Consumes tact.deferred in its own group and holds each deferred event until it is due (in memory, ordered by
// due time; at most max_held, beyond that the topic is paused). When due — Clock::Now() is checked on every
// 100 ms tick, so a test clock that jumps hours acts at once — the event is either
//  * re-injected into tact.outbound (original bytes and headers without the tact-decision/-rule/-policy-version/
//    -defer-until/-decided-at headers, plus tact-deferrals and tact-first-deferred-at, keyed as before), so the
//    one decision path decides it again: RELEASE when the quiet hours ended or the window freed up, DEFER again
//    otherwise (DEFER is not final in the store; an event already decided finally gets its earlier decision); or
//  * past its class's staleness limit (measured from created_at, else from the first deferral): ended as EXPIRED —
//    a decision record on tact.decisions and the event on tact.suppressed with tact-decision: EXPIRED.
// A record's offset is stored only after its outputs are acknowledged, in order per partition: nothing held is
// committed, so a restart (or a rebalance) reads the held records again. An older deferral of an event that a
// newer one of the same event supersedes, or a copy of one already acted on, is dropped instead of acted on.
// Thread-safety: as InputWorker (Run() on its own thread; RequestStop() from any thread).
class DeferredScheduler final : public InputWorker {
 public:
  static absl::StatusOr<std::unique_ptr<DeferredScheduler>> Create(DeferredSchedulerOptions options,
                                                                    const Clock& clock, const CustomerHasher& hasher);

 private:
  DeferredScheduler(DeferredSchedulerOptions options, const Clock& clock, const CustomerHasher& hasher);
  void OnMessage(RdKafka::Message& message) override;
  void OnTick() override;
  void OnRevoked(const std::vector<TopicPartition>& partitions) override;
  void OnKafkaError(std::string_view what) override;
  void Act(std::unique_ptr<DeferredRecord> record, absl::Time now);
  void UpdateGauges(absl::Time now);

  const DeferredSchedulerOptions sched_options_;
  std::unique_ptr<prometheus::Registry> own_registry_;
  std::unique_ptr<DeferredStats> own_stats_;
  DeferredStats& stats_;
  const Clock& clock_;
  const CustomerHasher& hasher_;
  const OutputRouter router_;  // EXPIRED: its outputs as the pipeline routes a decision
  DeferredQueue queue_;
};

}  // namespace tact::pipeline
