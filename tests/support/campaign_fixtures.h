#pragma once

// A small contact centre and a campaign it can only pace, shared by the campaign gate's integration test
// (tests/integration/capacity_gate_test.cc) and the gRPC component tests (tests/component/).
#include <string>

#include "absl/time/time.h"
#include "daemon/campaign/records.h"
#include "daemon/capacity/plan.h"
#include "daemon/core/proto_time.h"
#include "tact/v1/capacity.pb.h"

namespace tact::testing {

// The campaign starts on a Monday at 10:00 UTC.
// A campaign gate for acme's promotions: released only within an acknowledged plan, paused above 1.5x the predicted
// contacts (from 5 contacts on). Its rule id on decisions: campaign-gate:promotions.
inline constexpr char kPromotionGateYaml[] = R"(campaign_gates:
  - id: promotions
    description: promotions with a campaign are released only within their capacity plan
    match: { tenant: acme, message_class: PROMOTION }
    require_acknowledgement: true
    pause_when: { contacts_over_plan: 1.5, min_contacts: 5 }
)";

inline const absl::Time kCampaignStart = absl::FromCivil(absl::CivilMinute(2027, 1, 4, 10, 0), absl::UTCTimeZone());

// Four days of a small, always-open desk for tenant acme: 2 agents, 60 s handle time, no baseline. A campaign
// whose every recipient calls within the send's own interval can only be paced, a few messages per interval.
inline v1::PutStaffingRequest SmallDesk() {
  v1::PutStaffingRequest req;
  req.set_tenant("acme");
  const absl::Time day = absl::FromCivil(absl::CivilDay(2027, 1, 4), absl::UTCTimeZone());
  for (int i = 0; i < 4 * 96; ++i) {
    capacity::StaffingInterval si;
    si.start = day + i * capacity::kIntervalLength;
    si.agents = 2;
    si.aht_s = 60;
    si.target.service_level = 0.8;
    si.target.threshold_s = 20;
    *req.add_intervals() = campaign::StaffingIntervalToProto(si);
  }
  return req;
}

// An EMAIL campaign of acme from kCampaignStart whose every recipient calls in the send's own interval.
inline v1::CampaignSpec CallbackSpec(const std::string& id, int64_t audience) {
  v1::CampaignSpec c;
  c.set_tenant("acme");
  c.set_campaign_id(id);
  c.set_audience(audience);
  c.set_channel(v1::EMAIL);
  c.set_deliverability(1.0);
  c.set_contact_rate(1.0);
  c.add_response_curve(1.0);
  *c.mutable_start() = TimeToProto(kCampaignStart);
  c.mutable_promise()->set_offer("a free callback for every recipient");
  return c;
}

}  // namespace tact::testing
