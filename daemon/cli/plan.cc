// tactctl plan: a campaign checked against contact-centre staffing (RELEASE, PACE or REJECT).
#include <fstream>
#include <ostream>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/capacity/staffing_csv.h"
#include "daemon/capacity/svg.h"
#include "daemon/cli/capacity_verbs.h"
#include "daemon/cli/plan_notice.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/strings.h"
#include "daemon/store/redis_capacity_store.h"

namespace tact::cli {
namespace {

using nlohmann::json;

json Number(std::optional<double> v) { return v.has_value() ? json(*v) : json(nullptr); }

json RowJson(const capacity::IntervalRow& r) {
  return {{"start", Rfc3339Z(r.start)},
          {"agents_scheduled", r.agents_scheduled},
          {"agents_on_phone", r.agents_on_phone},
          {"baseline_calls", r.baseline_calls},
          {"released_calls", r.committed_calls},
          {"campaign_calls", r.campaign_calls},
          {"sends", r.sends},
          {"capacity_calls", r.capacity_calls},
          {"offered_erlangs", r.metrics.offered_erlangs},
          {"model", std::string(capacity::ModelName(r.metrics.model))},
          {"stable", r.metrics.stable},
          {"p_wait", r.metrics.p_wait},
          {"service_level", r.metrics.service_level},
          {"target_service_level", r.target_service_level},
          {"asa_seconds", Number(r.metrics.asa_s)},
          {"occupancy", r.metrics.occupancy},
          {"abandon_rate", r.metrics.abandon_rate},
          {"meets_target", r.meets_target},
          {"failing_before", r.failing_before},
          {"breaks", r.breaks},
          {"agents_needed", r.agents_needed},
          {"extra_agents_scheduled", r.extra_agents_scheduled},
          {"planning_service_level", r.planning_service_level},
          {"meets_planning_target", r.meets_planning_target},
          {"aht_seconds", r.aht_s}};
}

// An error of bad input: "--flag: what" (exit 2).
absl::Status Usage(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

absl::StatusOr<capacity::CampaignSpec> SpecFromArgs(const PlanArgs& a) {
  capacity::CampaignSpec spec{.id = a.id, .audience = a.audience, .deliverability = a.deliverability,
                              .contact_rate = a.contact_rate, .max_batch = a.max_batch,
                              .target_margin = a.margin, .min_batch = a.min_batch,
                              .contact_aht_s = a.contact_aht_s};
  std::optional<Channel> channel = ParseChannel(a.channel);
  if (!channel) return Usage("--channel: must be email, sms, push or in_app");
  spec.channel = *channel;
  std::string err;
  if (StartsEarliest(a)) {
    spec.start = absl::InfinitePast();  // ApplyPlanNotice moves it
  } else if (!absl::ParseTime(absl::RFC3339_full, a.start, &spec.start, &err)) {
    return Usage(absl::StrCat("--start: '", a.start, "' is not an RFC 3339 time (e.g. 2026-11-23T09:00:00Z)"));
  }
  if (!a.send_by.empty() && !absl::ParseTime(absl::RFC3339_full, a.send_by, &spec.send_by, &err)) {
    return Usage(absl::StrCat("--send-by: '", a.send_by, "' is not an RFC 3339 time"));
  }
  if (!a.curve.empty()) {
    absl::StatusOr<capacity::ResponseCurve> curve = capacity::ParseCurve(a.curve);
    if (!curve.ok()) return Usage(absl::StrCat("--curve: ", curve.status().message()));
    spec.curve = *std::move(curve);
  }
  return spec;
}

// --released and --redis together.
absl::StatusOr<std::vector<v1::Campaign>> Released(const PlanArgs& a, const ReleasedCampaignsReader& redis) {
  std::vector<v1::Campaign> released;
  if (!a.released.empty()) {
    absl::StatusOr<std::string> text = ReadText(a.released);
    if (!text.ok()) return Usage(absl::StrCat("--released: ", text.status().message()));
    absl::StatusOr<std::vector<v1::Campaign>> r = ParseReleased(a.released, *text);
    if (!r.ok()) return Usage(absl::StrCat("--released: ", r.status().message()));
    released = *std::move(r);
  }
  if (!a.redis.empty()) {
    if (a.tenant.empty()) return Usage("--tenant: required with --redis");
    absl::StatusOr<std::vector<v1::Campaign>> r = redis(a.redis, a.tenant);
    if (!r.ok()) return Usage(absl::StrCat("--redis: ", r.status().message()));
    released.insert(released.end(), r->begin(), r->end());
  }
  return released;
}

// PlanCampaign names CampaignSpec fields; the CLI user typed flags: "margin: ..." → "--margin: ...".
std::string PlanErrorWithFlag(absl::string_view message) {
  static constexpr std::pair<std::string_view, std::string_view> kFlags[] = {
      {"target_margin", "--margin"},      {"min_batch", "--min-batch"},       {"max_batch", "--max-batch"},
      {"contact_aht_seconds", "--contact-aht-s"}, {"deliverability", "--deliverability"},
      {"contact_rate", "--contact-rate"}, {"audience", "--audience"},         {"send_by", "--send-by"},
      {"start", "--start"}};
  for (const auto& [field, flag] : kFlags) {
    if (absl::StartsWith(message, absl::StrCat(AsAbsl(field), ":"))) {
      return absl::StrCat(AsAbsl(flag), message.substr(field.size()));
    }
  }
  return std::string(message);
}

absl::StatusOr<capacity::CampaignPlan> PlanFromArgs(const PlanArgs& a, const ReleasedCampaignsReader& redis,
                                                    PlanNotice* notice) {
  absl::StatusOr<std::string> csv = ReadText(a.staffing);
  if (!csv.ok()) return Usage(std::string(csv.status().message()));
  absl::StatusOr<capacity::Staffing> staffing = capacity::ParseStaffingCsv(a.staffing, *csv);
  if (!staffing.ok()) return Usage(std::string(staffing.status().message()));
  absl::StatusOr<capacity::CampaignSpec> spec = SpecFromArgs(a);
  if (!spec.ok()) return spec.status();
  absl::StatusOr<PlanNotice> applied = ApplyPlanNotice(a, absl::Now(), &*spec);
  if (!applied.ok()) return applied.status();
  *notice = *std::move(applied);
  absl::StatusOr<std::vector<v1::Campaign>> released = Released(a, redis);
  if (!released.ok()) return released.status();
  absl::StatusOr<capacity::CampaignPlan> plan =
      capacity::PlanCampaign(*staffing, Committed(*released, a.id), *spec);
  if (!plan.ok()) return Usage(PlanErrorWithFlag(plan.status().message()));
  FinishPlanNotice(*notice, &*plan);
  if (!a.svg.empty()) {
    std::ofstream out(a.svg);
    out << capacity::PlanSvg(*plan);
    if (!out) return Usage(absl::StrCat("--svg: ", a.svg, ": cannot write"));
  }
  return plan;
}

}  // namespace

std::optional<Channel> ParseChannel(std::string name) {
  absl::AsciiStrToLower(&name);
  if (name == "email") return v1::EMAIL;
  if (name == "sms") return v1::SMS;
  if (name == "push") return v1::PUSH;
  if (name == "in_app" || name == "in-app") return v1::IN_APP;
  return std::nullopt;
}

json PlanJson(const capacity::CampaignPlan& p) {
  json schedule = json::array();
  for (const capacity::Batch& b : p.schedule) {
    schedule.push_back({{"start", Rfc3339Z(b.start)}, {"messages", b.messages}});
  }
  json rows = json::array();
  json failing = json::array();
  for (const capacity::IntervalRow& r : p.rows) {
    rows.push_back(RowJson(r));
    if (r.breaks) failing.push_back(Rfc3339Z(r.start));
  }
  const bool sends = !p.schedule.empty();
  return {{"campaign_id", p.campaign_id},
          {"verdict", std::string(capacity::VerdictName(p.verdict))},
          {"reason", p.reason},
          {"audience", p.audience},
          {"sendable", p.sendable},
          {"first_send", sends ? json(Rfc3339Z(p.first_send)) : json(nullptr)},
          {"last_send", sends ? json(Rfc3339Z(p.last_send)) : json(nullptr)},
          {"predicted_contacts", p.predicted_contacts},
          {"unchecked_contacts", p.unchecked_contacts},
          {"intervals_failing_before", p.intervals_failing_before},
          {"extra_agents_scheduled", p.extra_agents_scheduled},
          {"failing_intervals", failing},
          {"model", p.model},
          {"target_margin", p.target_margin},
          {"min_batch", p.min_batch},
          {"notes", p.notes},
          {"schedule", schedule},
          {"intervals", rows}};
}

void PrintPlanTable(const capacity::CampaignPlan& p, bool all, std::ostream& out) {
  out << absl::StrFormat("%-20s %6s %6s %8s %8s %8s %8s %8s %7s %8s %7s  %s\n", "INTERVAL", "AGENTS", "ONLINE",
                         "BASELINE", "RELEASED", "CAMPAIGN", "CAPACITY", "SENDS", "SL", "ASA", "ABANDON", "");
  size_t hidden = 0;
  for (const capacity::IntervalRow& r : p.rows) {
    if (!all && r.sends == 0 && r.campaign_calls < 0.05 && !r.breaks) {
      ++hidden;
      continue;
    }
    const std::string asa = r.metrics.asa_s ? absl::StrFormat("%.1fs", *r.metrics.asa_s) : "unbnd";
    const char* flag = r.breaks           ? "FAIL"
                       : r.failing_before ? "already failing"
                       : r.agents_on_phone == 0 ? "closed"
                                                : "";
    out << absl::StrFormat("%-20s %6d %6d %8.1f %8.1f %8.1f %8.1f %8d %6.1f%% %8s %6.1f%%  %s\n",
                           Rfc3339Z(r.start), r.agents_scheduled, r.agents_on_phone, r.baseline_calls,
                           r.committed_calls, r.campaign_calls, r.capacity_calls, r.sends,
                           100 * r.metrics.service_level, asa, 100 * r.metrics.abandon_rate, flag);
  }
  if (hidden > 0) {
    out << absl::StrFormat("(%d interval(s) without campaign sends or contacts hidden; --all shows them)\n", hidden);
  }
  out << "\nverdict: " << capacity::VerdictName(p.verdict) << "\n" << p.reason << "\n";
  for (const std::string& note : p.notes) out << note << "\n";
  out << absl::StrFormat("predicted contacts: %.1f (%.1f past the staffing horizon, unchecked)\n",
                         p.predicted_contacts, p.unchecked_contacts);
  if (!p.schedule.empty() && p.verdict != capacity::Verdict::kReject) {
    out << absl::StrFormat("schedule: %d batch(es), first %s, last %s\n", p.schedule.size(),
                           Rfc3339Z(p.first_send), Rfc3339Z(p.last_send));
  }
}

absl::StatusOr<std::vector<v1::Campaign>> ParseReleased(const std::string& path, const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": not valid JSON"));
  if (j.is_object() && j.contains("campaigns")) j = j["campaigns"];
  if (j.is_object()) j = json::array({j});
  if (!j.is_array()) return absl::InvalidArgumentError(absl::StrCat(path, ": expected a campaign or a list"));
  std::vector<v1::Campaign> out;
  for (size_t i = 0; i < j.size(); ++i) {
    v1::Campaign c;
    const auto st = google::protobuf::util::JsonStringToMessage(j[i].dump(), &c);
    if (!st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": campaign [", i, "]: ", st.message().as_string()));
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<capacity::CommittedLoad> Committed(const std::vector<v1::Campaign>& released, const std::string& id) {
  std::vector<capacity::CommittedLoad> out;
  for (const v1::Campaign& c : released) {
    if (c.spec().campaign_id() == id || c.committed_calls_size() == 0) continue;
    out.push_back({TimeFromProto(c.committed_start()), {c.committed_calls().begin(), c.committed_calls().end()},
                   c.spec().contact_aht_seconds()});
  }
  return out;
}

absl::StatusOr<std::vector<v1::Campaign>> ReadReleasedFromRedis(const std::string& address,
                                                                const std::string& tenant) {
  store::RedisSettings settings;
  if (absl::Status st = store::ParseRedisAddress(address, &settings); !st.ok()) return st;
  store::RedisCapacityStore redis(settings);
  return redis.ListCampaigns(tenant);
}

int Plan(const PlanArgs& args, const ReleasedCampaignsReader& redis, const Streams& io) {
  PlanNotice notice;
  const absl::StatusOr<capacity::CampaignPlan> plan = PlanFromArgs(args, redis, &notice);
  if (!plan.ok()) {
    io.err << "tactctl: " << plan.status().message() << "\n";
    return kExitUsage;
  }
  if (args.json) {
    json j = PlanJson(*plan);
    j["notice"] = PlanNoticeJson(notice);
    io.out << j.dump(2) << "\n";
  } else {
    PrintPlanTable(*plan, args.all, io.out);
    io.out << PlanNoticeLine(notice);
  }
  return plan->verdict == capacity::Verdict::kReject ? kExitFailed : kExitOk;
}

}  // namespace tact::cli
