#pragma once

// The plan: what the pure engine (evaluate.h) asks the store to check for one event.
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "daemon/policy/policy.h"

namespace tact::policy {

// Vectors of a plan, an outcome and verdicts: a typical event fits inline, so deciding allocates (almost)
// nothing. Vector-like (push_back, size, [], range-for).
// Inline sizes fit a realistic policy's PROMOTION event (about 13 matched rules, 6 limits, 6 conditions).
template <typename T, size_t N>
using SmallVector = absl::InlinedVector<T, N>;
using RuleIds = SmallVector<std::string_view, 16>;

// ---- Plan: what the pure engine asks the store to do for one event -------------------------------------------
// Built for the hot path: the text a plan shows (rule ids, window and condition text, signal field lists, the
// zone name) is BORROWED from the Policy it was evaluated against, never copied per event. Keep that Policy
// alive (hold its shared_ptr) while the plan, or Verdicts decided from it, are in use. Only counter keys with a
// scope value or a period are the plan's own (one buffer in `storage`, shared by copies). A plan stored with a
// final decision is self-contained after decision::EncodePlan/DecodePlan (decision/marker.h: the
// decoded plan owns its text through `storage`), so it is replayed for a redelivered event after the policy
// changed.

// One counter the store must check, and increment when the event is released.
struct LimitCheck {
  std::string_view rule_id;
  // Key suffix inside the customer's hash tag: "r:<rule>[:<scope value>]" (rolling, sorted set of event ids)
  // or "c:<rule>[:<scope value>]:<period>" (calendar, a counter expiring at the period end). A plain
  // "r:<rule>" is the policy's text; longer keys share one buffer in Plan::storage.
  std::string_view counter;
  int64_t count = 0;
  WindowKind kind = WindowKind::kRolling;
  absl::Duration window;                        // rolling
  absl::Time period_end = absl::InfinitePast();  // calendar: the counter expires and frees up then
  std::string_view window_text;                 // "rolling 7d", "calendar day"
  OnExceed on_exceed = OnExceed::kSuppress;
  bool shadow = false;  // counted and reported, never decisive
};

// One suppress_if condition, in the store's generic form: the condition holds when the customer's signal hash
// has a live field (not expired at `now`) named in `fields` (a trailing '*' matches a prefix) that was set at
// or after `since`.
struct SignalCheck {
  std::string_view rule_id;
  std::string_view condition;  // for people: "CSAT 2 or lower within 30d"
  std::span<const std::string> fields;
  absl::Time since = absl::InfinitePast();
  absl::Duration hold = absl::ZeroDuration();  // >0: the condition stops holding at field time + hold
  bool shadow = false;
};

// Quiet hours that are in force now (computed purely from the time and the customer's zone).
struct QuietHold {
  std::string_view rule_id;
  absl::Time until;        // the end of the quiet period
  std::string_view text;   // "quiet hours 21:00-08:00" (a decoded plan: with the zone, and `zone` empty)
  OnExceed on_exceed = OnExceed::kDefer;
  bool shadow = false;
  std::string_view zone;   // "Europe/Berlin"

  // "quiet hours 21:00-08:00 Europe/Berlin"
  std::string Text() const;
};

struct Plan {
  RuleIds matched_rules;                // evaluation order
  SmallVector<SignalCheck, 8> signals;  // rule order
  SmallVector<LimitCheck, 8> limits;    // rule order
  SmallVector<QuietHold, 2> quiet;      // rule order; only rules whose quiet period is in force now
  std::string_view timezone;                    // the zone calendar windows and quiet hours used
  // Owns the text the views above point to when it is not the policy's: the counter keys; a decoded plan's text.
  std::shared_ptr<const void> storage;

  // The first enforcing quiet hold: the store must not reserve while it is in force.
  const QuietHold* DecisiveQuiet() const;
  bool NeedsStore() const { return !signals.empty() || !limits.empty(); }
};

}  // namespace tact::policy
