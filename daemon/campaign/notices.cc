#include "daemon/campaign/notices.h"

#include <cmath>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/campaign/gate.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"

namespace tact::campaign {
namespace {

constexpr double kMinChange = 0.05;  // contacts: smaller differences are rounding, not news

std::string VerdictText(v1::CampaignVerdict v) {
  switch (v) {
    case v1::VERDICT_RELEASE: return "RELEASE";
    case v1::VERDICT_PACE: return "PACE";
    case v1::VERDICT_REJECT: return "REJECT";
    default: return "none";
  }
}

// First and last batch of a notice's schedule ("none" without one).
std::string SendText(const v1::CampaignNotice& n, bool first) {
  if (n.schedule_size() == 0) return "none";
  return GateTime(TimeFromProto(first ? n.schedule(0).start() : n.schedule(n.schedule_size() - 1).start()));
}

std::map<absl::Time, double> PredictedByInterval(const v1::CampaignNotice& n) {
  std::map<absl::Time, double> out;
  for (const v1::PredictedContacts& p : n.predicted()) out[TimeFromProto(p.start())] += p.calls();
  return out;
}

void DiffPredicted(const v1::CampaignNotice& prev, const v1::CampaignNotice& next, v1::NoticeChange* change) {
  std::map<absl::Time, std::pair<double, double>> both;
  for (const auto& [t, calls] : PredictedByInterval(prev)) both[t].first = calls;
  for (const auto& [t, calls] : PredictedByInterval(next)) both[t].second = calls;
  for (const auto& [t, calls] : both) {
    if (std::abs(calls.second - calls.first) < kMinChange) continue;
    v1::PredictedContactsChange* c = change->add_predicted();
    *c->mutable_start() = TimeToProto(t);
    c->set_previous_calls(calls.first);
    c->set_calls(calls.second);
  }
}

}  // namespace

bool CarriesPlan(const v1::CampaignNotice& n) {
  const std::string& kind = n.kind();
  return kind == "PROPOSED" || kind == "RELEASED" || kind == "CANCELLED" || kind == "PLANNED" ||
         (kind == "ACKNOWLEDGED" && n.schedule_size() > 0);
}

std::optional<v1::CampaignNotice> LastPlanNotice(std::span<const v1::CampaignNotice> notices,
                                                 std::string_view campaign_id) {
  for (auto it = notices.rbegin(); it != notices.rend(); ++it) {
    if (it->campaign_id() == campaign_id && CarriesPlan(*it)) return *it;
  }
  return std::nullopt;
}

v1::CampaignNotice PlanNotice(const v1::CampaignSpec& spec, const capacity::CampaignPlan& plan,
                              const v1::CampaignPlan& proto, std::string_view kind) {
  v1::CampaignNotice n;
  n.set_tenant(spec.tenant());
  n.set_campaign_id(spec.campaign_id());
  n.set_kind(std::string(kind));
  *n.mutable_promise() = spec.promise();
  n.set_verdict(proto.verdict());
  n.set_reason(proto.reason());
  *n.mutable_schedule() = proto.schedule();
  for (const capacity::IntervalRow& r : plan.rows) {
    if (r.campaign_calls < 0.005) continue;
    v1::PredictedContacts* pc = n.add_predicted();
    *pc->mutable_start() = TimeToProto(r.start);
    pc->set_calls(r.campaign_calls);
  }
  n.set_predicted_contacts(plan.predicted_contacts);
  n.set_audience(plan.audience);
  return n;
}

v1::NoticeChange DiffNotice(const std::optional<v1::CampaignNotice>& previous, const v1::CampaignNotice& next) {
  v1::NoticeChange change;
  if (!previous.has_value()) {
    change.add_summary("first notice of this campaign");
    return change;
  }
  const v1::CampaignNotice& prev = *previous;
  change.set_since_kind(prev.kind());
  *change.mutable_since_at() = prev.at();
  change.set_previous_verdict(prev.verdict());
  change.set_previous_audience(prev.audience());
  change.set_previous_predicted_contacts(prev.predicted_contacts());
  change.set_previous_batches(prev.schedule_size());
  if (prev.schedule_size() > 0) {
    *change.mutable_previous_first_send() = prev.schedule(0).start();
    *change.mutable_previous_last_send() = prev.schedule(prev.schedule_size() - 1).start();
  }
  DiffPredicted(prev, next, &change);
  auto line = [&change](std::string_view what, const std::string& from, const std::string& to) {
    if (from != to) change.add_summary(absl::StrCat(AsAbsl(what), " ", from, " -> ", to));
  };
  line("verdict", VerdictText(prev.verdict()), VerdictText(next.verdict()));
  line("audience", absl::StrCat(prev.audience()), absl::StrCat(next.audience()));
  line("first send", SendText(prev, true), SendText(next, true));
  line("last send", SendText(prev, false), SendText(next, false));
  line("batches", absl::StrCat(prev.schedule_size()), absl::StrCat(next.schedule_size()));
  if (std::abs(next.predicted_contacts() - prev.predicted_contacts()) >= kMinChange) {
    line("predicted contacts", absl::StrFormat("%.1f", prev.predicted_contacts()),
         absl::StrFormat("%.1f", next.predicted_contacts()));
  }
  if (change.predicted_size() > 0) {
    change.add_summary(absl::StrCat("predicted contacts changed in ", change.predicted_size(), " interval(s)"));
  }
  if (change.summary_size() == 0) {
    change.add_summary(absl::StrCat("no change since the ", prev.kind(), " notice of ",
                                    GateTime(TimeFromProto(prev.at()))));
  }
  return change;
}

}  // namespace tact::campaign
