// tactctl erlang / plan: the contact-centre capacity calculator and the campaign release gate, offline (plan
// may read the tenant's already-released campaigns from a file or from Redis, so they count against this one).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "daemon/capacity/erlang.h"
#include "daemon/capacity/plan.h"
#include "daemon/capacity/staffing_csv.h"
#include "daemon/capacity/svg.h"
#include "daemon/core/proto_time.h"
#include "daemon/store/redis_capacity_store.h"
#include "daemon/tactctl/commands.h"

namespace tact::cli {
namespace {

using nlohmann::json;

std::string Rfc3339(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

json Number(std::optional<double> v) { return v.has_value() ? json(*v) : json(nullptr); }

int Usage(const std::string& message) {
  std::fprintf(stderr, "tactctl: %s\n", message.c_str());
  return kExitUsage;
}

// ---- erlang ----------------------------------------------------------------------------------------------
struct ErlangArgs {
  double calls = 0;
  double interval_s = 900;
  double aht_s = 0;
  int agents = 0;
  double threshold_s = 20;
  double patience_s = 0;
  double target_sl = 0.8;
  double shrinkage = 0;
  bool json = false;
};

int Erlang(const ErlangArgs& a) {
  if (!(a.calls >= 0)) return Usage("--calls: must be >= 0");
  if (!(a.interval_s > 0)) return Usage("--interval-s: must be > 0");
  if (!(a.aht_s > 0 && a.aht_s <= 86400)) return Usage("--aht-s: must be in (0, 86400]");
  if (a.agents < 0 || a.agents > 100000) return Usage("--agents: must be in [0, 100000]");
  if (!(a.threshold_s >= 0)) return Usage("--threshold-s: must be >= 0");
  if (!(a.patience_s >= 0 && a.patience_s <= 86400)) return Usage("--patience-s: must be in (0, 86400]");
  if (!(a.target_sl > 0 && a.target_sl < 1)) return Usage("--target-sl: must be in (0, 1)");
  if (!(a.shrinkage >= 0 && a.shrinkage <= 0.95)) return Usage("--shrinkage: must be in [0, 0.95]");
  const capacity::Workload w{.calls = a.calls, .interval_s = a.interval_s, .aht_s = a.aht_s,
                             .patience_s = a.patience_s};
  const capacity::Target target{.service_level = a.target_sl, .threshold_s = a.threshold_s};
  const capacity::Metrics m = capacity::Evaluate(w, a.agents, a.threshold_s);
  const int needed = capacity::AgentsNeeded(w, target);
  if (a.json) {
    const json out = {{"p_wait", m.p_wait},
                      {"service_level", m.service_level},
                      {"asa_seconds", Number(m.asa_s)},
                      {"occupancy", m.occupancy},
                      {"abandon_rate", m.abandon_rate},
                      {"agents_needed", needed}};
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  std::printf("offered load    %.3f Erlangs (%g calls × %g s AHT / %g s), %d agents\n", m.offered_erlangs, a.calls,
              a.aht_s, a.interval_s, a.agents);
  std::printf("model           %s\n", m.model == capacity::Model::kErlangA
                                          ? absl::StrFormat("Erlang A (mean patience %g s)", a.patience_s).c_str()
                                          : "Erlang C (no abandonment; give --patience-s for Erlang A)");
  if (!m.stable) {
    std::printf("UNSTABLE        %d agents <= %.3f Erlangs: the queue grows without bound\n", a.agents,
                m.offered_erlangs);
  }
  std::printf("P(wait)         %.4f\n", m.p_wait);
  std::printf("service level   %.2f%% answered within %g s\n", 100 * m.service_level, a.threshold_s);
  std::printf("ASA             %s\n", m.asa_s ? absl::StrFormat("%.2f s", *m.asa_s).c_str() : "unbounded");
  std::printf("occupancy       %.2f%%\n", 100 * m.occupancy);
  std::printf("abandonment     %s\n",
              m.model == capacity::Model::kErlangA ? absl::StrFormat("%.2f%%", 100 * m.abandon_rate).c_str() : "-");
  if (needed < 0) {
    std::printf("agents needed   none up to 100000 reach %.0f%% in %g s\n", 100 * a.target_sl, a.threshold_s);
  } else {
    std::printf("agents needed   %d on the phones for %.0f%% in %g s", needed, 100 * a.target_sl, a.threshold_s);
    if (a.shrinkage > 0) {
      std::printf(" = %d scheduled at %.0f%% shrinkage", capacity::ScheduledAgents(needed, a.shrinkage),
                  100 * a.shrinkage);
    }
    std::printf("\n");
  }
  return kExitOk;
}

// ---- plan ------------------------------------------------------------------------------------------------
struct PlanArgs {
  std::string staffing;
  int64_t audience = 0;
  std::string channel = "email";
  std::string start;
  std::string send_by;
  double deliverability = 0.98;
  double contact_rate = 0.02;
  std::string curve;
  int64_t max_batch = 0;
  std::string id = "campaign";
  std::string svg;
  bool json = false;
  bool all = false;
  std::string released;  // file: campaigns as Campaigns.GetCampaign returns them (proto3 JSON)
  std::string redis;     // host:port: the tenant's released campaigns from tactd's Redis
  std::string tenant;
};

std::optional<Channel> ParseChannel(std::string name) {
  absl::AsciiStrToLower(&name);
  if (name == "email") return v1::EMAIL;
  if (name == "sms") return v1::SMS;
  if (name == "push") return v1::PUSH;
  if (name == "in_app" || name == "in-app") return v1::IN_APP;
  return std::nullopt;
}

json RowJson(const capacity::IntervalRow& r) {
  return {{"start", Rfc3339(r.start)},
          {"agents_scheduled", r.agents_scheduled},
          {"agents_on_phone", r.agents_on_phone},
          {"baseline_calls", r.baseline_calls},
          {"released_calls", r.committed_calls},
          {"campaign_calls", r.campaign_calls},
          {"sends", r.sends},
          {"capacity_calls", r.capacity_calls},
          {"offered_erlangs", r.metrics.offered_erlangs},
          {"model", r.metrics.model == capacity::Model::kErlangA ? "erlang_a" : "erlang_c"},
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
          {"extra_agents_scheduled", r.extra_agents_scheduled}};
}

json PlanJson(const capacity::CampaignPlan& p) {
  json schedule = json::array();
  for (const capacity::Batch& b : p.schedule) {
    schedule.push_back({{"start", Rfc3339(b.start)}, {"messages", b.messages}});
  }
  json rows = json::array();
  json failing = json::array();
  for (const capacity::IntervalRow& r : p.rows) {
    rows.push_back(RowJson(r));
    if (r.breaks) failing.push_back(Rfc3339(r.start));
  }
  const bool sends = !p.schedule.empty();
  return {{"campaign_id", p.campaign_id},
          {"verdict", std::string(capacity::VerdictName(p.verdict))},
          {"reason", p.reason},
          {"audience", p.audience},
          {"sendable", p.sendable},
          {"first_send", sends ? json(Rfc3339(p.first_send)) : json(nullptr)},
          {"last_send", sends ? json(Rfc3339(p.last_send)) : json(nullptr)},
          {"predicted_contacts", p.predicted_contacts},
          {"unchecked_contacts", p.unchecked_contacts},
          {"intervals_failing_before", p.intervals_failing_before},
          {"extra_agents_scheduled", p.extra_agents_scheduled},
          {"failing_intervals", failing},
          {"schedule", schedule},
          {"intervals", rows}};
}

void PrintPlanTable(const capacity::CampaignPlan& p, bool all) {
  std::printf("%-20s %6s %6s %8s %8s %8s %8s %8s %7s %8s %7s  %s\n", "INTERVAL", "AGENTS", "ONLINE", "BASELINE",
              "RELEASED", "CAMPAIGN", "CAPACITY", "SENDS", "SL", "ASA", "ABANDON", "");
  size_t hidden = 0;
  for (const capacity::IntervalRow& r : p.rows) {
    if (!all && r.sends == 0 && r.campaign_calls < 0.05 && !r.breaks) {
      ++hidden;
      continue;
    }
    const std::string asa = r.metrics.asa_s ? absl::StrFormat("%.1fs", *r.metrics.asa_s) : "unbnd";
    const char* flag = r.breaks ? "FAIL" : r.failing_before ? "already failing" : r.agents_on_phone == 0 ? "closed" : "";
    std::printf("%-20s %6d %6d %8.1f %8.1f %8.1f %8.1f %8lld %6.1f%% %8s %6.1f%%  %s\n", Rfc3339(r.start).c_str(),
                r.agents_scheduled, r.agents_on_phone, r.baseline_calls, r.committed_calls, r.campaign_calls,
                r.capacity_calls, static_cast<long long>(r.sends), 100 * r.metrics.service_level, asa.c_str(),
                100 * r.metrics.abandon_rate, flag);
  }
  if (hidden > 0) {
    std::printf("(%zu interval(s) without campaign sends or contacts hidden; --all shows them)\n", hidden);
  }
  std::printf("\nverdict: %s\n%s\n", std::string(capacity::VerdictName(p.verdict)).c_str(), p.reason.c_str());
  std::printf("predicted contacts: %.1f (%.1f past the staffing horizon, unchecked)\n", p.predicted_contacts,
              p.unchecked_contacts);
  if (!p.schedule.empty() && p.verdict != capacity::Verdict::kReject) {
    std::printf("schedule: %zu batch(es), first %s, last %s\n", p.schedule.size(), Rfc3339(p.first_send).c_str(),
                Rfc3339(p.last_send).c_str());
  }
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The JSON file: one Campaign object, a list of them, or {"campaigns": [...]} (GetCampaign's JSON, as
// `grpcurl ... tact.v1.Campaigns/GetCampaign` prints it).
absl::StatusOr<std::vector<v1::Campaign>> ReadReleased(const std::string& path, const std::string& text) {
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

// Released campaigns' committed load, except the one being (re-)planned.
std::vector<capacity::CommittedLoad> Committed(const std::vector<v1::Campaign>& released, const std::string& id) {
  std::vector<capacity::CommittedLoad> out;
  for (const v1::Campaign& c : released) {
    if (c.spec().campaign_id() == id || c.committed_calls_size() == 0) continue;
    out.push_back({TimeFromProto(c.committed_start()), {c.committed_calls().begin(), c.committed_calls().end()}});
  }
  return out;
}

int Plan(const PlanArgs& a) {
  absl::StatusOr<std::string> csv = ReadText(a.staffing);
  if (!csv.ok()) return Usage(std::string(csv.status().message()));
  absl::StatusOr<capacity::Staffing> staffing = capacity::ParseStaffingCsv(a.staffing, *csv);
  if (!staffing.ok()) return Usage(std::string(staffing.status().message()));
  capacity::CampaignSpec spec{.id = a.id, .audience = a.audience, .deliverability = a.deliverability,
                              .contact_rate = a.contact_rate, .max_batch = a.max_batch};
  std::optional<Channel> channel = ParseChannel(a.channel);
  if (!channel) return Usage("--channel: must be email, sms, push or in_app");
  spec.channel = *channel;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, a.start, &spec.start, &err)) {
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
  std::vector<v1::Campaign> released;
  if (!a.released.empty()) {
    absl::StatusOr<std::string> text = ReadText(a.released);
    if (!text.ok()) return Usage(absl::StrCat("--released: ", text.status().message()));
    absl::StatusOr<std::vector<v1::Campaign>> r = ReadReleased(a.released, *text);
    if (!r.ok()) return Usage(absl::StrCat("--released: ", r.status().message()));
    released = *std::move(r);
  }
  if (!a.redis.empty()) {
    if (a.tenant.empty()) return Usage("--tenant: required with --redis");
    store::RedisSettings settings;
    if (absl::Status st = store::ParseRedisAddress(a.redis, &settings); !st.ok()) {
      return Usage(absl::StrCat("--redis: ", st.message()));
    }
    store::RedisCapacityStore redis(settings);
    absl::StatusOr<std::vector<v1::Campaign>> r = redis.ListCampaigns(a.tenant);
    if (!r.ok()) return Usage(absl::StrCat("--redis: ", r.status().message()));
    released.insert(released.end(), r->begin(), r->end());
  }
  const std::vector<capacity::CommittedLoad> committed = Committed(released, a.id);
  absl::StatusOr<capacity::CampaignPlan> plan = capacity::PlanCampaign(*staffing, committed, spec);
  if (!plan.ok()) return Usage(std::string(plan.status().message()));
  if (!a.svg.empty()) {
    std::ofstream out(a.svg);
    out << capacity::PlanSvg(*plan);
    if (!out) return Usage(absl::StrCat("--svg: ", a.svg, ": cannot write"));
  }
  if (a.json) {
    std::printf("%s\n", PlanJson(*plan).dump(2).c_str());
  } else {
    PrintPlanTable(*plan, a.all);
  }
  return plan->verdict == capacity::Verdict::kReject ? kExitFailed : kExitOk;
}

}  // namespace

void AddCapacityCommands(CLI::App& app, RunFn& run) {
  auto e = std::make_shared<ErlangArgs>();
  CLI::App* erlang = app.add_subcommand(
      "erlang", "Erlang C/A calculator: P(wait), service level, ASA, occupancy, abandonment, agents needed");
  erlang->add_option("--calls", e->calls, "Offered calls in the interval")->required();
  erlang->add_option("--interval-s", e->interval_s, "Interval length in seconds")->capture_default_str();
  erlang->add_option("--aht-s", e->aht_s, "Average handle time in seconds")->required();
  erlang->add_option("--agents", e->agents, "Agents on the phones")->required();
  erlang->add_option("--threshold-s", e->threshold_s, "Service-level threshold in seconds")->capture_default_str();
  erlang->add_option("--patience-s", e->patience_s, "Mean customer patience in seconds (Erlang A)");
  erlang->add_option("--target-sl", e->target_sl, "Service-level target for agents needed")->capture_default_str();
  erlang->add_option("--shrinkage", e->shrinkage, "Shrinkage, to also print scheduled agents needed");
  erlang->add_flag("--json", e->json,
                   "Print JSON: p_wait, service_level, asa_seconds (null when unbounded), occupancy, abandon_rate, "
                   "agents_needed (-1 when unreachable)");
  erlang->callback([e, &run] { run = [e] { return Erlang(*e); }; });

  auto p = std::make_shared<PlanArgs>();
  CLI::App* plan = app.add_subcommand(
      "plan", "Check a campaign against contact-centre staffing: RELEASE, PACE (with a schedule) or REJECT (exit 1)");
  plan->add_option("--staffing", p->staffing, "Staffing CSV (see README: start,agents,shrinkage,aht_s,...)")
      ->required();
  plan->add_option("--audience", p->audience, "Recipients")->required();
  plan->add_option("--channel", p->channel, "email, sms, push or in_app")->capture_default_str();
  plan->add_option("--start", p->start, "Earliest send, RFC 3339")->required();
  plan->add_option("--send-by", p->send_by, "Last send must start before this (RFC 3339); default: staffing end");
  plan->add_option("--deliverability", p->deliverability, "Share delivered")->capture_default_str();
  plan->add_option("--contact-rate", p->contact_rate, "Share of delivered recipients who contact the centre")
      ->capture_default_str();
  plan->add_option("--curve", p->curve, "Response curve, e.g. 15m:0.08,1h:0.22,4h:0.30,24h:0.30,72h:0.10");
  plan->add_option("--max-batch", p->max_batch, "Sending platform limit per 15 minutes (0: none)");
  plan->add_option("--id", p->id, "Campaign id shown in the output")->capture_default_str();
  plan->add_option("--svg", p->svg, "Write an SVG of predicted load vs capacity and service level vs target");
  plan->add_flag("--json", p->json, "Print the plan as JSON");
  plan->add_flag("--all", p->all, "Print every interval, not only those the campaign touches");
  plan->add_option("--released", p->released,
                   "Already-released campaigns that count against this one: JSON as Campaigns.GetCampaign returns "
                   "them (one, a list, or {\"campaigns\": [...]})");
  plan->add_option("--redis", p->redis, "Read the tenant's released campaigns from tactd's Redis (host:port)");
  plan->add_option("--tenant", p->tenant, "Tenant whose released campaigns --redis reads");
  plan->callback([p, &run] { run = [p] { return Plan(*p); }; });
}

}  // namespace tact::cli
