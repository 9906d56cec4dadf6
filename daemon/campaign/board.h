#pragma once

// The campaign board: a read-only web page on tactd's admin port (docs/operations.md "Campaign board").
//   GET /campaigns                        a form asking for the tenant
//   GET /campaigns?tenant=acme            the tenant's campaigns: state, schedule, predicted vs observed contacts
//                                         so far, acknowledgement, the reason of the last pause, each plan's chart
//   GET /campaigns/<id>.svg?tenant=acme   one released campaign's plan chart (capacity::PlanSvg)
// Everything comes from the campaign repository (store::CapacityStore): the released campaigns (their plans and
// states), the notices (campaigns only proposed so far, the last pause's reason) and the feedback counts. Plain
// HTML with inline SVG, no script; every string from the repository is escaped. The repository holds no
// customer ids, and the board shows none.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/capacity/plan.h"
#include "daemon/core/clock.h"
#include "daemon/ops/admin_server.h"
#include "daemon/store/capacity_store.h"
#include "tact/v1/capacity.pb.h"

namespace tact::campaign {

// A campaign's state on the board (pure), from its record (nullptr: not released) and the kind of the last
// notice about it:
//   proposed      not released; planned (a PLANNED or PROPOSED notice)
//   noticed       released, the RELEASED notice sent, the contact centre has not acknowledged it
//   acknowledged  acknowledged, before its first send
//   released      a RELEASE plan from its first send on
//   paced         a PACE plan from its first send on
//   paused        paused by the contact centre's feedback
// Any other state of the record, or a last notice of another kind without a record, is shown by its lower-case
// name ("cancelled").
std::string BoardState(const v1::Campaign* campaign, std::string_view last_notice_kind, absl::Time now);

// The chart's view of a stored plan (the fields capacity::PlanSvg draws). Pure.
capacity::CampaignPlan ChartPlan(const v1::CampaignPlan& plan);

// "a%20b+c" → "a b c"; false on a malformed escape.
bool DecodeQueryValue(std::string_view in, std::string& out);

// Serves the board's pages (ops::AdminServer::AddPages). Thread-safety: any thread; blocks on the repository.
class CampaignBoard {
 public:
  CampaignBoard(store::CapacityStore& store, const Clock& clock) : store_(store), clock_(clock) {}

  // `path` is "/campaigns" or under it; `query` as received (percent-encoded). 400 for a missing or bad tenant
  // or id, 404 for an unknown campaign or path, 503 when the repository cannot be read.
  ops::AdminPage Serve(std::string_view path, std::string_view query);

  // What the board shows of one campaign.
  struct Entry {
    std::string id;
    std::optional<v1::Campaign> record;  // released (or paused, ...); absent: only proposed
    std::string last_kind;               // of the last notice about it
    std::string pause_reason;            // of the last PAUSED notice
    absl::Time paused_at = absl::InfinitePast();
    double noticed_contacts = 0;         // the last plan notice's predicted contacts
    store::CampaignCounts counts;        // feedback (released campaigns)
  };

 private:
  absl::StatusOr<std::map<std::string, Entry>> Load(const std::string& tenant);
  ops::AdminPage Board(const std::string& tenant);
  ops::AdminPage Chart(const std::string& tenant, const std::string& campaign_id);

  store::CapacityStore& store_;
  const Clock& clock_;
};

}  // namespace tact::campaign
