#pragma once

// The campaign release gate (DESIGN.md "Contact-centre capacity model"). Pure: staffing, committed load and a
// campaign in; a plan out. No I/O, no clock — the caller says when the campaign starts.
//
// Per 15-minute interval: offered calls = baseline forecast + contacts of already-released campaigns + this
// campaign's contacts, where a batch of m messages sent in interval k adds m × deliverability × contact_rate ×
// curve[i−k] contacts to interval i. Contacts predicted for an interval with nobody on the phones (the centre is
// closed) are carried to the first hour it is open again (spread evenly over the next four staffed
// intervals): those customers call when it opens.
// Each staffed interval can take at most capacity = MaxCalls(agents on the phones, AHT, target) calls
// (HoldsTarget: SL and ASA by Erlang C, abandonment by Erlang A when a patience is given). An interval that
// already misses its target without this campaign may receive at most kToleranceCalls of its contacts.
//
// Verdict: RELEASE when sending the whole audience in the first interval (or as fast as `max_batch` allows)
// keeps every interval within capacity; PACE when a paced schedule sends it all before `send_by`; REJECT
// otherwise, with the failing intervals of the fastest schedule and the extra agents that would let it pass.
// The paced schedule is greedy earliest-first: each interval sends the largest batch that keeps every later
// interval within capacity given the batches before it, and only where the batch's whole response curve falls
// inside the staffing horizon (staff the horizon at least 72 h past the last send for the default curves).
// It never breaks the target in the model (by construction, and tested), and it front-loads as much as
// capacity allows; it is a heuristic, not an LP optimum. A RELEASE's contacts past the horizon are reported
// as unchecked.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/capacity/erlang.h"
#include "daemon/core/event.h"

namespace tact::capacity {

inline constexpr absl::Duration kIntervalLength = absl::Minutes(15);
inline constexpr double kIntervalSeconds = 900;
// Contacts a campaign may add to an interval that misses its target without it (less than one call).
inline constexpr double kToleranceCalls = 0.5;
// Longest staffing horizon and response curve accepted (31 days of 15-minute intervals).
inline constexpr size_t kMaxIntervals = 31 * 96;
// A response curve's shares must sum to 1 within this (they are not normalised: a curve summing to 0.5 would
// silently halve the predicted contacts).
inline constexpr double kCurveSumTolerance = 1e-3;
// Planning buffer: a plan fills intervals only up to the target tightened by this margin (PlanningTarget).
inline constexpr double kDefaultTargetMargin = 0.05;
inline constexpr double kMaxTargetMargin = 0.5;
// The smallest batch a paced schedule sends by default (the audience's last remainder excepted): 100 messages,
// or 1% of an audience under 10,000 (so a small campaign on a small desk can still be paced).
inline constexpr int64_t kDefaultMinBatch = 100;
inline constexpr int64_t kMinBatchAuto = -1;
// At most this many further "X% in T s" targets per interval.
inline constexpr size_t kMaxServiceLevels = 8;

struct StaffingInterval {
  absl::Time start;
  int agents = 0;             // scheduled agents
  double shrinkage = 0;       // share of scheduled time not on the phones, [0, 0.95]
  double aht_s = 0;           // average handle time
  double baseline_calls = 0;  // forecast contacts without campaigns
  Target target;              // service level target (and optional ASA / abandonment limits)
  double patience_s = 0;      // mean customer patience; 0 = not modelled (no abandonment figures)
};

// The target a plan fills to (the planning buffer): every service-level target raised by `margin` (80% → 85%
// with 0.05; at most 99.5%), and the ASA, abandonment and occupancy limits lowered by the share `margin`
// (30 s → 28.5 s). Rows report both: `meets_target` against the target, `meets_planning_target` against this.
Target PlanningTarget(const Target& target, double margin);

// Consecutive 15-minute intervals, aligned to quarter hours (UTC).
struct Staffing {
  std::vector<StaffingInterval> intervals;
};

// INVALID_ARGUMENT naming the interval and field: `where(i, field)`, by default "intervals[i].field".
absl::Status ValidateStaffing(const Staffing& staffing,
                              const std::function<std::string(size_t, std::string_view)>& where = nullptr);

// Share of a batch's eventual contacts that arrive in the k-th 15-minute interval after its send (k=0: the
// send's own interval). Shares are finite, in [0, 1], and sum to 1 within kCurveSumTolerance (ValidateCurve).
struct ResponseCurve {
  std::vector<double> shares;
};

// A curve given as consecutive segments, each spreading `share` evenly over its intervals: {15m, 0.08},
// {1h, 0.22} means 8% in the first interval and 22% over the next three. `until` must be multiples of 15 min.
struct CurveSegment {
  absl::Duration until;
  double share = 0;
};
absl::StatusOr<ResponseCurve> CurveFromSegments(std::span<const CurveSegment> segments);
// "15m:0.08,1h:0.22,4h:0.30,24h:0.30,72h:0.10" → segments (durations as absl::ParseDuration reads them).
absl::StatusOr<ResponseCurve> ParseCurve(std::string_view text);
absl::Status ValidateCurve(const ResponseCurve& curve);

// The documented conservative default per channel. Conservative twice over: it assumes every expected contact
// arrives (nothing lost to decay) and it is front-loaded, so the peak interval is as high as it plausibly gets.
//   EMAIL:          8% in the first 15 min, 22% in the rest of the first hour, 30% in hours 1–4,
//                   30% in hours 4–24, 10% in hours 24–72 (60% within 4 h, 90% within a day).
//   SMS, PUSH, IN_APP: 25% / 35% / 25% / 12% / 3% over the same segments (read within minutes).
ResponseCurve DefaultResponseCurve(Channel channel);
std::string DefaultCurveText(Channel channel);

struct CampaignSpec {
  std::string id;
  int64_t audience = 0;
  Channel channel = v1::EMAIL;
  double deliverability = 0.98;  // share of messages delivered
  double contact_rate = 0.02;    // share of delivered recipients who contact the centre
  absl::Time start;              // earliest send; its interval is the first one
  absl::Time send_by = absl::InfiniteFuture();  // last send must start before this; default: end of staffing
  ResponseCurve curve;           // empty: DefaultResponseCurve(channel)
  int64_t max_batch = 0;         // sending platform limit per interval; 0 = none
  // Planning buffer in [0, kMaxTargetMargin]: intervals are filled to PlanningTarget(target, margin).
  double target_margin = kDefaultTargetMargin;
  // A paced batch is at least this many messages (or all that is left); 0 or 1 = any size; kMinBatchAuto =
  // the default (kDefaultMinBatch, or 1% of a smaller audience). Capped by max_batch.
  int64_t min_batch = kMinBatchAuto;
  // Handle time of this campaign's contacts (s); 0 = the interval's AHT. Mixed with the interval's other
  // contacts by their offered work: AHT = (baseline work + campaign work) / (baseline + campaign contacts).
  double contact_aht_s = 0;
};

// Contacts per interval already committed by released campaigns (raw, before closed-interval carry-over).
struct CommittedLoad {
  absl::Time start;
  std::vector<double> calls;
  double aht_s = 0;  // handle time of these contacts; 0 = the interval's AHT
};

struct Batch {
  absl::Time start;
  int64_t messages = 0;
};

struct IntervalRow {
  absl::Time start;
  int agents_scheduled = 0;
  int agents_on_phone = 0;
  double baseline_calls = 0;   // after carry-over from closed intervals
  double committed_calls = 0;  // released campaigns, after carry-over
  double campaign_calls = 0;   // this campaign, after carry-over
  int64_t sends = 0;           // this campaign's batch in this interval
  double capacity_calls = 0;   // most calls that hold the target
  double target_service_level = 0;  // the interval's SL target (for display)
  Metrics metrics;             // for the total load, by ModelFor (Erlang A when the interval has a patience)
  bool meets_target = true;    // the total load holds the target
  bool failing_before = false; // misses the planning target without this campaign
  bool breaks = false;         // this campaign makes it miss (or adds > tolerance to one already missing)
  // On the phones, to hold the planning target with the total load (set when !meets_planning_target).
  int agents_needed = 0;
  int extra_agents_scheduled = 0;  // scheduled agents to add (after shrinkage), when !meets_planning_target
  double planning_service_level = 0;  // the service level the plan fills to (target + margin)
  bool meets_planning_target = true;  // the total load holds PlanningTarget(target, margin)
  double aht_s = 0;                   // the interval's handle time for the total load (mixed with the campaign's)
};

enum class Verdict { kRelease, kPace, kReject };
std::string_view VerdictName(Verdict v);

struct CampaignPlan {
  std::string campaign_id;
  Verdict verdict = Verdict::kReject;
  std::string reason;
  // Every staffing interval from the campaign's first interval to the end of the horizon.
  std::vector<IntervalRow> rows;
  // RELEASE/PACE: the schedule to send. REJECT: the fastest schedule, the one whose failures are reported.
  std::vector<Batch> schedule;
  absl::Time first_send = absl::InfinitePast();
  absl::Time last_send = absl::InfinitePast();
  int64_t audience = 0;
  int64_t sendable = 0;            // REJECT: how many the paced schedule could send before send_by
  double predicted_contacts = 0;   // within the staffing horizon
  double unchecked_contacts = 0;   // predicted past the staffing horizon (not checked)
  std::vector<size_t> failing;     // indices into rows where `breaks`
  int extra_agents_scheduled = 0;  // the most any failing interval needs
  int intervals_failing_before = 0;
  // The campaign's contacts per interval from rows[0].start, raw (before carry-over): what ReleaseCampaign
  // commits for later plans.
  CommittedLoad load;
  // The queueing model of the rows: "erlang_a" (every open interval has a patience), "erlang_c" (none has),
  // "erlang_a+erlang_c" (some have). The same rule as tactctl erlang (ModelFor).
  std::string model;
  double target_margin = 0;  // as planned
  int64_t min_batch = 0;     // as planned (after the max_batch cap)
  // How it was planned, one sentence each (model, planning buffer, minimum batch, handle time, start).
  std::vector<std::string> notes;
};

// The campaign's figures and window against the staffing; INVALID_ARGUMENT naming the CampaignSpec field.
absl::Status ValidateCampaign(const Staffing& staffing, const CampaignSpec& campaign);
// The smallest paced batch `campaign` gets: min_batch (or its default), capped by max_batch.
int64_t EffectiveMinBatch(const CampaignSpec& campaign);

absl::StatusOr<CampaignPlan> PlanCampaign(const Staffing& staffing, std::span<const CommittedLoad> committed,
                                          const CampaignSpec& campaign);

}  // namespace tact::capacity
