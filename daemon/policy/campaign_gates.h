#pragma once

// The `campaign_gates:` section of a policy file: which campaigns the contact-centre capacity gate holds to
// their released plan, the notice conditions before their first message, and when feedback from the contact
// centre pauses them. Parsed here (strict, errors name file:line:col like the rest of the policy); enforced by
// campaign::GateEnforcer on the decision path and by the campaign desk's feedback loop.
//
//   campaign_gates:
//     - id: promotions
//       match: { tenant: acme, channel: EMAIL, message_class: PROMOTION }   # any of them may be omitted
//       require_acknowledgement: true       # the contact centre must call Campaigns.AcknowledgeCampaign
//       min_notice: 48h                     # between the RELEASED notice and the first released message
//       pause_when:                         # feedback from the contact centre (signals naming the campaign)
//         contacts_over_plan: 1.5           # actual contacts > 1.5 × the plan's prediction up to now
//         complaints_per_1000: 3            # complaints per 1,000 released messages
//         min_contacts: 20                  # (default 20) no contacts verdict on fewer contacts than this
//         min_released: 500                 # (default 500) no complaints verdict on fewer releases than this
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "daemon/core/event.h"
#include "daemon/policy/policy.h"

namespace YAML {
class Node;
}

namespace tact::policy {

struct PauseWhen {
  double contacts_over_plan = 0;   // 0 = not checked
  double complaints_per_1000 = 0;  // 0 = not checked
  int64_t min_contacts = 20;
  int64_t min_released = 500;
};

struct CampaignGate {
  std::string id;
  std::string file;  // where it was defined
  int line = 0;
  int column = 0;
  Match match;  // tenants, channels, classes (compiled masks); campaigns and attributes unused
  bool require_acknowledgement = false;
  absl::Duration min_notice = absl::ZeroDuration();
  std::optional<PauseWhen> pause_when;

  std::string RuleId() const { return "campaign-gate:" + id; }  // rule_id of the decisions it makes
};

// Every gate of a policy set, files by name, gates in file order. The first gate that matches an event applies.
struct CampaignGates {
  std::vector<CampaignGate> gates;
};

// The gate for an event: nullptr when it has no campaign_id or no gate matches.
const CampaignGate* FindCampaignGate(const Policy& policy, const Event& event);
// The gate for a campaign's feedback: a signal names tenant and campaign but not the message class, so the
// first gate whose tenant and channel match (the campaign's channel; class ignored) applies.
const CampaignGate* FindFeedbackGate(const Policy& policy, std::string_view tenant, Channel channel);

// Parses one file's `campaign_gates:` list into `out`. `file_tenant` (the file's `tenant:`) restricts every
// gate to that tenant. Errors: INVALID_ARGUMENT "<path>:<line>:<col>: <message>".
// `budget` (may be null) is the file's list-entry budget (yaml_reader::ListBudget), shared with its rules.
namespace yaml_reader {
struct ListBudget;
}
absl::Status ParseCampaignGates(const YAML::Node& node, const std::string& path, const std::string& file_tenant,
                                std::vector<CampaignGate>* out, yaml_reader::ListBudget* budget = nullptr);

// Adds one file's gates to the policy set; gate ids are unique across the set.
absl::Status AddCampaignGates(std::vector<CampaignGate> gates, Policy* policy);

}  // namespace tact::policy
