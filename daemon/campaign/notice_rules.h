#pragma once

// Planning and release under the campaign gate's notice rules (docs/campaigns.md "Notice and acknowledgement").
// The gate (gate.h) holds a gated campaign's messages until `min_notice` after its RELEASED notice and, with
// `require_acknowledgement`, until the contact centre acknowledges. A plan whose sends fall before that can never
// send as planned, so planning applies the rules first: a caller who asks for the earliest start gets the start
// moved to the first instant the gate allows; any other start inside the notice period makes the plan a REJECT
// whose reason names the earliest feasible start. Pure (the caller says when the release would happen).
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "daemon/capacity/plan.h"
#include "daemon/core/event.h"
#include "daemon/policy/policy.h"
#include "tact/v1/capacity.pb.h"

namespace tact::campaign {

struct NoticeRules {
  std::string gate_id;  // empty: no gate applies (no rules)
  absl::Duration min_notice = absl::ZeroDuration();
  bool require_acknowledgement = false;
};
// The rules of the gate the decision path applies to the campaign's messages (policy::FindCampaignGate) for its
// `message_class`; unset (UNSPECIFIED): the strictest of the gates any class would get (the longest min_notice,
// acknowledgement if any requires it; gate_id: the one with the longest notice). `policy` may be null.
NoticeRules NoticeRulesFor(const policy::Policy* policy, std::string_view tenant, Channel channel,
                           MessageClass message_class);

struct StartCheck {
  absl::Time earliest = absl::InfinitePast();  // release_at + min_notice (whole seconds, rounded up)
  absl::Time requested = absl::InfinitePast(); // the caller's start (InfinitePast: unset)
  bool shifted = false;    // start_earliest moved the start to `earliest`
  bool too_early = false;  // the start's interval begins before `earliest`'s: the plan must be a REJECT
};
// Applies the notice rule to `campaign->start` for a release at `release_at`. `start_earliest`: the start
// becomes max(start, earliest) (an unset start is InfinitePast). Otherwise, when a gate applies, a start whose
// 15-minute interval begins before the interval holding `earliest` is flagged too early (the gate releases within
// an interval from `earliest` on, so the interval holding it is still usable); without a gate nothing is.
StartCheck ApplyNoticeRule(const NoticeRules& rules, absl::Time release_at, bool start_earliest,
                           capacity::CampaignSpec* campaign);
// A too-early plan becomes a REJECT: "notice lead time 48h (campaign gate promotions): ..., the earliest feasible
// start for a release now is <t>". `how_to_shift` says how the caller asks for it ("set start_earliest").
void RejectTooEarly(const NoticeRules& rules, const StartCheck& check, std::string_view how_to_shift,
                    capacity::CampaignPlan* plan);
// The rules as the plan reports them (earliest_start, notice_gate, min_notice_seconds, waits_for_acknowledgement).
void NoticeRulesToProto(const NoticeRules& rules, const StartCheck& check, v1::CampaignPlan* plan);

}  // namespace tact::campaign
