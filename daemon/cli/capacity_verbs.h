#pragma once

// tactctl erlang / plan: the contact-centre capacity calculator and the campaign release gate, offline (plan
// may read the tenant's already-released campaigns from a file or from Redis, so they count against this one).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/capacity/plan.h"
#include "daemon/cli/cli.h"
#include "daemon/core/event.h"
#include "nlohmann/json.hpp"
#include "tact/v1/capacity.pb.h"

namespace tact::cli {

struct ErlangArgs {
  double calls = 0, interval_s = 900, aht_s = 0;  // offered calls in an interval of interval_s; handle time
  int agents = 0;
  double threshold_s = 20, patience_s = 0;  // service-level threshold; mean patience (0: Erlang C)
  double target_sl = 0.8, shrinkage = 0;
  bool json = false;
  // Further targets for agents needed; every one must hold (as in a staffing interval).
  std::vector<std::string> service_levels;  // "90/90": 90% in 90 s
  double max_asa_s = 0, max_abandon = 0, max_occupancy = 0;
};
// Exit 0, or 2 with "tactctl: --flag: must be ..." for a value out of range.
int Erlang(const ErlangArgs& args, const Streams& io);

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
  double margin = capacity::kDefaultTargetMargin;  // planning buffer (CampaignSpec::target_margin)
  int64_t min_batch = capacity::kMinBatchAuto;  // -1: 100, or 1% of a smaller audience
  double contact_aht_s = 0;  // handle time of the campaign's contacts; 0 = the staffing's
  // The campaign gate's notice rules (plan_notice.h): a policy directory, the campaign's message class, and when
  // the release would happen (RFC 3339; empty: now). `start` may be "earliest".
  std::string policy;
  std::string message_class;
  std::string release_at;
};

// "90/90" (90% in 90 s; "90%/90s" too) → a service-level point; errors name `flag`.
absl::StatusOr<capacity::ServiceLevelPoint> ParseServiceLevelFlag(const std::string& flag, const std::string& text);

// The tenant's released campaigns from tactd's Redis at `address` (host:port).
using ReleasedCampaignsReader =
    std::function<absl::StatusOr<std::vector<v1::Campaign>>(const std::string& address, const std::string& tenant)>;
absl::StatusOr<std::vector<v1::Campaign>> ReadReleasedFromRedis(const std::string& address,
                                                                const std::string& tenant);

// Exit 0 for RELEASE or PACE, 1 for REJECT, 2 for bad input ("tactctl: --flag: ...").
int Plan(const PlanArgs& args, const ReleasedCampaignsReader& redis, const Streams& io);

std::optional<Channel> ParseChannel(std::string name);  // email, sms, push, in_app (any case)
// One Campaign object, a list of them, or {"campaigns": [...]} (GetCampaign's JSON). Errors name `path`.
absl::StatusOr<std::vector<v1::Campaign>> ParseReleased(const std::string& path, const std::string& text);
// Released campaigns' committed load, except the one being (re-)planned (`id`).
std::vector<capacity::CommittedLoad> Committed(const std::vector<v1::Campaign>& released, const std::string& id);
nlohmann::json PlanJson(const capacity::CampaignPlan& plan);
void PrintPlanTable(const capacity::CampaignPlan& plan, bool all, std::ostream& out);

}  // namespace tact::cli
