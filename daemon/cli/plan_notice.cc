#include "daemon/cli/plan_notice.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "daemon/campaign/gate.h"
#include "daemon/decision/policy_files.h"

namespace tact::cli {

bool StartsEarliest(const PlanArgs& args) { return absl::AsciiStrToLower(args.start) == "earliest"; }

namespace {

absl::StatusOr<MessageClass> ClassFromFlag(const std::string& text) {
  if (text.empty()) return v1::MESSAGE_CLASS_UNSPECIFIED;
  MessageClass c = v1::MESSAGE_CLASS_UNSPECIFIED;
  if (!v1::MessageClass_Parse(absl::AsciiStrToUpper(text), &c) || c == v1::MESSAGE_CLASS_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("--class: '", text, "' is not TRANSACTIONAL, SERVICE, PROACTIVE_SERVICE or PROMOTION"));
  }
  return c;
}

}  // namespace

absl::StatusOr<PlanNotice> ApplyPlanNotice(const PlanArgs& args, absl::Time now, capacity::CampaignSpec* spec) {
  absl::Time release_at = now;
  std::string err;
  if (!args.release_at.empty() && !absl::ParseTime(absl::RFC3339_full, args.release_at, &release_at, &err)) {
    return absl::InvalidArgumentError(absl::StrCat("--release-at: '", args.release_at, "' is not an RFC 3339 time"));
  }
  absl::StatusOr<MessageClass> message_class = ClassFromFlag(args.message_class);
  if (!message_class.ok()) return message_class.status();
  PlanNotice notice;
  if (!args.policy.empty()) {
    absl::StatusOr<policy::Policy> policy = decision::LoadPolicyDir(args.policy);
    if (!policy.ok()) return absl::InvalidArgumentError(absl::StrCat("--policy: ", policy.status().message()));
    notice.rules = campaign::NoticeRulesFor(&*policy, args.tenant, spec->channel, *message_class);
  }
  notice.check = campaign::ApplyNoticeRule(notice.rules, release_at, StartsEarliest(args), spec);
  return notice;
}

void FinishPlanNotice(const PlanNotice& notice, capacity::CampaignPlan* plan) {
  campaign::RejectTooEarly(notice.rules, notice.check, "use --start earliest", plan);
}

nlohmann::json PlanNoticeJson(const PlanNotice& n) {
  if (n.rules.gate_id.empty()) return nullptr;
  return {{"gate", n.rules.gate_id},
          {"min_notice_seconds", absl::ToInt64Seconds(n.rules.min_notice)},
          {"earliest_start", campaign::GateTime(n.check.earliest)},
          {"start_moved", n.check.shifted},
          {"waits_for_acknowledgement", n.rules.require_acknowledgement}};
}

std::string PlanNoticeLine(const PlanNotice& n) {
  if (n.rules.gate_id.empty()) return "";
  return absl::StrCat("notice: campaign gate ", n.rules.gate_id, ", ", campaign::LeadTime(n.rules.min_notice),
                      " lead time: earliest start ", campaign::GateTime(n.check.earliest),
                      n.check.shifted ? " (start moved to it)" : "",
                      n.rules.require_acknowledgement ? "; sends wait for the contact centre's acknowledgement" : "",
                      "\n");
}

}  // namespace tact::cli
