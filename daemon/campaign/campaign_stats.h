#pragma once

// The campaign desk's metrics (daemon/ops/metrics.h). Label values: kind = a notice's kind, a closed set the desk
// sets (PROPOSED, RELEASED, ACKNOWLEDGED, PAUSED, RESUMED, CANCELLED); never a tenant or campaign id (the log events
// campaign.paused etc. name those). A campaign's state changes only through a notice, so notices by kind are its
// state transitions: kind="PAUSED" counts the pauses the contact centre's feedback caused.
#include <string_view>

#include "daemon/ops/metrics.h"

namespace tact::campaign {

// Every kind of notice the desk publishes. CampaignDesk::set_stats creates their series at 0, so the first PAUSED
// after a start is an increase Prometheus sees (a series born at 1 has no increase) and a fresh /metrics lists it.
inline constexpr std::string_view kNoticeKinds[] = {"PROPOSED", "RELEASED", "ACKNOWLEDGED", "PAUSED", "RESUMED", "CANCELLED"};

#define TACT_CAMPAIGN_STATS(COUNTER, GAUGE, HISTOGRAM) \
  COUNTER(campaign_notices_total, "Campaign notices published, by kind (PAUSED: a campaign paused by feedback)", (kind))
TACT_STATS_STRUCT(CampaignStats, TACT_CAMPAIGN_STATS);

}  // namespace tact::campaign
