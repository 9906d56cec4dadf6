#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/core/event.h"

namespace tact::policy {

// A customer signal from the contact centre (tact.signals, Signals.PutSignal). Stored per customer in the
// `…:sig` hash, one field per fact, each with the time it happened and when it stops counting.
enum class SignalKind {
  kCsat,               // a CSAT answer 1..5
  kComplaintOpened,    // ref = ticket id
  kComplaintClosed,    // ref = ticket id; removes the open complaint
  kEscalation,         // a case was escalated
  kCallbackRequested,  // ref = callback id
  kCallbackDone,       // ref = callback id; removes the pending callback
  kOptOut,             // channel = UNSPECIFIED for every channel
  kOptIn,              // removes an opt-out (same channel)
};

struct Signal {
  std::string tenant;
  std::string customer_id;
  SignalKind kind = SignalKind::kCsat;
  int csat = 0;                               // kCsat: 1..5
  std::string ref;                            // complaint / callback id
  Channel channel = v1::CHANNEL_UNSPECIFIED;  // opt-out / opt-in
  absl::Time at = absl::InfinitePast();       // when it happened
  absl::Time expires_at = absl::InfiniteFuture();  // when it stops counting (InfiniteFuture = never)
};

// CSAT answers and escalations without an explicit expiry stop counting after this long (no policy period may
// usefully look further back), so the customer's signal hash expires.
inline constexpr absl::Duration kDefaultTimedSignalLife = absl::Hours(24 * 366);

// How a signal changes the customer's `sig` hash: set `field` to "<at_ms>:<expires_ms>" (expires 0 = never), or
// delete it. Pure; decision::ToStoreSignal hands it to the store (store::SignalWrite).
struct SignalWrite {
  std::string field;
  bool remove = false;
  int64_t at_ms = 0;
  int64_t expires_ms = 0;  // 0 = never
};

// INVALID_ARGUMENT naming the field when the signal is incomplete (csat out of range, missing ref, no time).
absl::StatusOr<SignalWrite> ToSignalWrite(const Signal& s);

// "csat", "complaint_opened", … (the names used in policy tests and tactctl).
std::string_view SignalKindName(SignalKind k);
bool ParseSignalKind(std::string_view name, SignalKind* out);

}  // namespace tact::policy
