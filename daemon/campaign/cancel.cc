// CampaignDesk::Cancel and the load a cancelled campaign keeps (docs/campaigns.md "Cancelling a release").
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "daemon/campaign/desk.h"
#include "daemon/campaign/gate.h"
#include "daemon/campaign/notices.h"
#include "daemon/campaign/records.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"

namespace tact::campaign {
namespace {

constexpr size_t kMaxCancelReason = 500;
// The released count is a HyperLogLog (about ±1%): a cancelled campaign keeps the load of 2% more messages than
// it counted, so the capacity it gives back is never capacity its sent messages still use.
constexpr double kReleasedCountMargin = 1.02;

// Its last batch's interval has ended and nothing is left to send (a RELEASE plan sends past its schedule's
// intervals until the audience is out, so it is finished only once the count reaches what it could send).
bool Finished(const v1::Campaign& c, int64_t released, absl::Time now) {
  const v1::CampaignPlan& plan = c.plan();
  if (plan.schedule_size() == 0) return false;
  const absl::Time end = NextIntervalStart(TimeFromProto(plan.schedule(plan.schedule_size() - 1).start()));
  if (now < end) return false;
  return plan.verdict() == v1::VERDICT_PACE || released >= plan.sendable();
}

}  // namespace

std::vector<double> SentLoad(const v1::Campaign& c, int64_t released) {
  std::vector<double> out(static_cast<size_t>(c.committed_calls_size()), 0);
  absl::StatusOr<capacity::CampaignSpec> spec = CampaignFromProto(c.spec(), "");
  if (!spec.ok()) return {c.committed_calls().begin(), c.committed_calls().end()};  // keep it all
  const capacity::ResponseCurve curve =
      spec->curve.shares.empty() ? capacity::DefaultResponseCurve(spec->channel) : spec->curve;
  const double per_message = spec->deliverability * spec->contact_rate;
  const absl::Time origin = TimeFromProto(c.committed_start());
  int64_t left = released;
  for (const v1::Batch& b : c.plan().schedule()) {
    if (left <= 0) break;
    const int64_t sent = std::min(left, b.messages());
    left -= sent;
    const int64_t k = (IntervalStart(TimeFromProto(b.start())) - origin) / capacity::kIntervalLength;
    for (size_t d = 0; d < curve.shares.size(); ++d) {
      const int64_t i = k + static_cast<int64_t>(d);
      if (i < 0 || i >= static_cast<int64_t>(out.size())) continue;
      out[static_cast<size_t>(i)] += static_cast<double>(sent) * per_message * curve.shares[d];
    }
  }
  return out;
}

absl::StatusOr<v1::Campaign> CampaignDesk::Cancel(std::string_view tenant, std::string_view campaign_id,
                                                  const std::string& cancelled_by, const std::string& reason) {
  TACT_RETURN_IF_ERROR(CheckTenantId("tenant", tenant));
  TACT_RETURN_IF_ERROR(ValidId(std::string(campaign_id), "campaign_id"));
  TACT_RETURN_IF_ERROR(ValidId(cancelled_by, "cancelled_by"));
  if (reason.size() > kMaxCancelReason) {
    return absl::InvalidArgumentError(absl::StrCat("reason: longer than ", kMaxCancelReason, " bytes"));
  }
  TACT_ASSIGN_OR_RETURN(std::optional<v1::Campaign> found, store_.GetCampaign(tenant, campaign_id));
  if (!found.has_value()) {
    return absl::NotFoundError(absl::StrCat("campaign_id: no released campaign '", AsAbsl(campaign_id),
                                            "' for tenant '", AsAbsl(tenant), "'"));
  }
  v1::Campaign c = *std::move(found);
  if (c.state() == v1::CAMPAIGN_CANCELLED) {
    if (c.cancelled_by() == cancelled_by && c.cancel_reason() == reason) return c;  // the same call again
    return absl::FailedPreconditionError(absl::StrCat("campaign_id: campaign '", AsAbsl(campaign_id),
                                                      "' already cancelled at ",
                                                      GateTime(TimeFromProto(c.cancelled_at())), " by ",
                                                      c.cancelled_by()));
  }
  const absl::Time now = clock_.Now();
  TACT_ASSIGN_OR_RETURN(v1::CampaignFigures figures, Figures(c, now));
  if (Finished(c, figures.released(), now)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "campaign_id: campaign '", AsAbsl(campaign_id), "' finished: its last batch was at ",
        GateTime(TimeFromProto(c.plan().schedule(c.plan().schedule_size() - 1).start())), "; nothing to cancel"));
  }
  const int64_t kept = std::min<int64_t>(
      c.plan().sendable(),
      static_cast<int64_t>(std::ceil(kReleasedCountMargin * static_cast<double>(figures.released()))));
  const std::vector<double> load = SentLoad(c, kept);
  *c.mutable_committed_calls() = {load.begin(), load.end()};
  c.set_state(v1::CAMPAIGN_CANCELLED);
  *c.mutable_cancelled_at() = TimeToProto(now);
  c.set_cancelled_by(cancelled_by);
  c.set_cancel_reason(reason);
  *c.mutable_figures() = figures;
  TACT_RETURN_IF_ERROR(store_.PutCampaign(c, /*create=*/false));
  ops::Log(ops::LogLevel::kInfo, "campaign.cancelled",
           {{"tenant", std::string(tenant)}, {"campaign_id", std::string(campaign_id)},
            {"released", absl::StrCat(figures.released())}});

  v1::CampaignNotice n;
  n.set_tenant(std::string(tenant));
  n.set_campaign_id(std::string(campaign_id));
  n.set_kind("CANCELLED");
  *n.mutable_promise() = c.spec().promise();
  n.set_verdict(c.plan().verdict());
  n.set_reason(reason.empty() ? absl::StrCat("cancelled by ", cancelled_by) : reason);
  n.set_cancelled_by(cancelled_by);
  n.set_audience(c.spec().audience());
  *n.mutable_figures() = figures;
  // No more sends; the contacts still expected are those of the messages already out.
  double total = 0;
  const absl::Time origin = TimeFromProto(c.committed_start());
  for (size_t i = 0; i < load.size(); ++i) {
    if (load[i] < 0.005) continue;
    v1::PredictedContacts* pc = n.add_predicted();
    *pc->mutable_start() = TimeToProto(origin + static_cast<int64_t>(i) * capacity::kIntervalLength);
    pc->set_calls(load[i]);
    total += load[i];
  }
  n.set_predicted_contacts(total);
  TACT_RETURN_IF_ERROR(NotifyChange(std::move(n)));
  return c;
}

}  // namespace tact::campaign
