#include "daemon/campaign/notice_rules.h"

#include "absl/strings/str_cat.h"
#include "daemon/campaign/gate.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"
#include "daemon/policy/campaign_gates.h"

namespace tact::campaign {

NoticeRules NoticeRulesFor(const policy::Policy* policy, std::string_view tenant, Channel channel,
                           MessageClass message_class) {
  NoticeRules rules;
  if (policy == nullptr) return rules;
  Event probe;  // a message of the campaign, as the gate sees it
  probe.tenant = std::string(tenant);
  probe.channel = channel;
  probe.campaign_id = "campaign";
  for (int c = v1::MessageClass_MIN; c <= v1::MessageClass_MAX; ++c) {
    if (!v1::MessageClass_IsValid(c) || c == v1::MESSAGE_CLASS_UNSPECIFIED) continue;
    if (message_class != v1::MESSAGE_CLASS_UNSPECIFIED && c != message_class) continue;
    probe.message_class = static_cast<MessageClass>(c);
    const policy::CampaignGate* gate = policy::FindCampaignGate(*policy, probe);
    if (gate == nullptr) continue;
    if (rules.gate_id.empty() || gate->min_notice > rules.min_notice) {
      rules.gate_id = gate->id;
      rules.min_notice = gate->min_notice;
    }
    rules.require_acknowledgement = rules.require_acknowledgement || gate->require_acknowledgement;
  }
  return rules;
}

StartCheck ApplyNoticeRule(const NoticeRules& rules, absl::Time release_at, bool start_earliest,
                           capacity::CampaignSpec* campaign) {
  StartCheck check;
  check.requested = campaign->start;
  const absl::Time first_allowed = release_at + rules.min_notice;
  check.earliest = absl::UnixEpoch() + absl::Ceil(first_allowed - absl::UnixEpoch(), absl::Seconds(1));
  if (start_earliest) {
    if (campaign->start < check.earliest) {
      campaign->start = check.earliest;
      check.shifted = true;
    }
    return check;
  }
  // Without a gate nothing holds the campaign's messages: any start is the caller's (a what-if on past staffing).
  check.too_early = !rules.gate_id.empty() && IntervalStart(campaign->start) < IntervalStart(check.earliest);
  return check;
}

void RejectTooEarly(const NoticeRules& rules, const StartCheck& check, std::string_view how_to_shift,
                    capacity::CampaignPlan* plan) {
  if (!check.too_early) return;
  plan->verdict = capacity::Verdict::kReject;
  const std::string why =
      rules.min_notice > absl::ZeroDuration()
          ? absl::StrCat("notice lead time ", LeadTime(rules.min_notice), " (campaign gate ", rules.gate_id,
                         "): the gate sends nothing before ", GateTime(check.earliest),
                         " for a release now, so the requested start ", GateTime(check.requested),
                         " cannot hold")
          : absl::StrCat("the requested start ", GateTime(check.requested), " is in the past");
  plan->reason = absl::StrCat(why, "; the earliest feasible start is ", GateTime(check.earliest), " (",
                              AsAbsl(how_to_shift), " to plan from it)");
}

void NoticeRulesToProto(const NoticeRules& rules, const StartCheck& check, v1::CampaignPlan* plan) {
  *plan->mutable_earliest_start() = TimeToProto(check.earliest);
  plan->set_notice_gate(rules.gate_id);
  plan->set_min_notice_seconds(absl::ToInt64Seconds(rules.min_notice));
  plan->set_waits_for_acknowledgement(rules.require_acknowledgement);
}

}  // namespace tact::campaign
