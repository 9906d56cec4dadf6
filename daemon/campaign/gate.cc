#include "daemon/campaign/gate.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"

namespace tact::campaign {
namespace {

constexpr absl::Duration kInterval = absl::Minutes(15);
constexpr size_t kMaxCachedCampaigns = 10'000;

GateState Defer(absl::Time until, std::string reason) {
  GateState s;
  s.kind = GateState::Kind::kDefer;
  s.defer_until = until;
  s.reason = std::move(reason);
  return s;
}

}  // namespace

absl::Time IntervalStart(absl::Time t) { return absl::UnixEpoch() + absl::Floor(t - absl::UnixEpoch(), kInterval); }
absl::Time NextIntervalStart(absl::Time t) { return IntervalStart(t) + kInterval; }

// "48h", "90m": what a planner writes in min_notice.
std::string LeadTime(absl::Duration d) {
  if (d % absl::Hours(1) == absl::ZeroDuration()) return absl::StrCat(absl::IDivDuration(d, absl::Hours(1), &d), "h");
  return absl::StrCat(absl::IDivDuration(d, absl::Minutes(1), &d), "m");
}

std::string GateTime(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

GateState EvaluateGate(const policy::CampaignGate& gate, const v1::Campaign* campaign, std::string_view campaign_id,
                       absl::Time now) {
  const absl::Time recheck = NextIntervalStart(now);
  if (campaign == nullptr) {
    return Defer(recheck, absl::StrCat("campaign ", AsAbsl(campaign_id), " not released"));
  }
  if (campaign->state() == v1::CAMPAIGN_CANCELLED) {
    return Defer(recheck, absl::StrCat("campaign ", AsAbsl(campaign_id), " cancelled"));
  }
  if (campaign->state() == v1::CAMPAIGN_PAUSED) {
    return Defer(recheck, absl::StrCat("campaign ", AsAbsl(campaign_id), " paused: ", campaign->pause_reason()));
  }
  if (gate.require_acknowledgement && !campaign->acknowledged()) {
    return Defer(recheck, "waiting for contact-centre acknowledgement");
  }
  const v1::CampaignPlan& plan = campaign->plan();
  if (gate.min_notice > absl::ZeroDuration()) {
    const absl::Time first_allowed = TimeFromProto(campaign->released_at()) + gate.min_notice;
    if (now < first_allowed) {
      return Defer(first_allowed, absl::StrCat("notice lead time ", LeadTime(gate.min_notice),
                                               ": first send at ", GateTime(first_allowed)));
    }
  }
  if (plan.schedule_size() == 0) {
    return Defer(recheck, absl::StrCat("campaign ", AsAbsl(campaign_id), " has no send schedule"));
  }
  const absl::Time first_send = TimeFromProto(plan.schedule(0).start());
  if (now < first_send) {
    return Defer(first_send, absl::StrCat("campaign starts at ", GateTime(first_send)));
  }
  if (plan.verdict() != v1::VERDICT_PACE) {
    GateState s;
    s.kind = GateState::Kind::kRelease;
    return s;
  }
  const absl::Time interval = IntervalStart(now);
  for (int b = 0; b < plan.schedule_size(); ++b) {
    const absl::Time start = IntervalStart(TimeFromProto(plan.schedule(b).start()));
    if (start < interval) continue;
    if (start > interval) {
      return Defer(start, absl::StrCat("paced: no batch in this interval, next batch at ", GateTime(start)));
    }
    GateState s;
    s.kind = GateState::Kind::kPaced;
    s.interval = interval;
    s.batch = plan.schedule(b).messages();
    if (b + 1 < plan.schedule_size()) s.next_batch = IntervalStart(TimeFromProto(plan.schedule(b + 1).start()));
    return s;
  }
  const absl::Time last_end =
      IntervalStart(TimeFromProto(plan.schedule(plan.schedule_size() - 1).start())) + kInterval;
  return Defer(recheck, absl::StrCat("paced: schedule ended at ", GateTime(last_end), "; re-plan to send the rest"));
}

absl::StatusOr<StoreGateEnforcer::Cached> StoreGateEnforcer::Campaign(const std::string& tenant,
                                                                      const std::string& campaign_id) {
  const auto now = clock_.Monotonic();
  auto key = std::make_pair(tenant, campaign_id);
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && now - it->second.fetched < absl::ToChronoNanoseconds(cache_ttl_)) {
      return it->second.campaign;
    }
  }
  absl::StatusOr<std::optional<v1::Campaign>> c = store_.GetCampaign(tenant, campaign_id);
  if (!c.ok()) return c.status();
  Cached cached = std::make_shared<const std::optional<v1::Campaign>>(*std::move(c));
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kMaxCachedCampaigns) cache_.clear();
  cache_[std::move(key)] = Entry{cached, now};
  return cached;
}

absl::StatusOr<GateAnswer> StoreGateEnforcer::Admit(const policy::CampaignGate& gate, const Event& event,
                                                    absl::Time now, bool dry_run) {
  absl::StatusOr<Cached> campaign = Campaign(event.tenant, event.campaign_id);
  if (!campaign.ok()) return campaign.status();
  const std::optional<v1::Campaign>& c = **campaign;
  const GateState state = EvaluateGate(gate, c.has_value() ? &*c : nullptr, event.campaign_id, now);
  GateAnswer a;
  switch (state.kind) {
    case GateState::Kind::kDefer:
      a.defer_until = state.defer_until;
      a.reason = state.reason;
      return a;
    case GateState::Kind::kRelease:
      a.release = true;
      return a;
    case GateState::Kind::kPaced:
      break;
  }
  absl::StatusOr<store::SlotReservation> slot =
      store_.ReserveSlot(event.tenant, event.campaign_id, state.interval, event.event_id, state.batch, dry_run);
  if (!slot.ok()) return slot.status();
  if (slot->admitted) {
    a.release = true;
    a.slot_reserved = !dry_run;
    a.interval = state.interval;
    return a;
  }
  if (state.next_batch == absl::InfiniteFuture()) {
    a.defer_until = NextIntervalStart(now);
    a.reason = absl::StrCat("paced: interval batch of ", state.batch, " used; schedule ends with this interval, ",
                            "re-plan to send the rest");
  } else {
    a.defer_until = state.next_batch;
    a.reason = absl::StrCat("paced: interval batch of ", state.batch, " used, next batch at ",
                            GateTime(state.next_batch));
  }
  return a;
}

void StoreGateEnforcer::Settle(const Event& event, const GateAnswer& answer, bool released) {
  absl::Status s;
  if (released) {
    s = store_.CountReleased(event.tenant, event.campaign_id, event.event_id);
  } else if (answer.slot_reserved) {
    s = store_.ReturnSlot(event.tenant, event.campaign_id, answer.interval, event.event_id);
  }
  if (!s.ok()) {
    ops::Log(ops::LogLevel::kWarning, "campaign_gate.settle_failed",
             {{"campaign_id", event.campaign_id}, {"released", released ? "true" : "false"},
              {"error", std::string(s.message())}});
  }
}

}  // namespace tact::campaign
