// suppress_if: a rule's customer-signal conditions (internal to the parser; declared in parse_rule.h).
#include <yaml-cpp/yaml.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/policy/parse_rule.h"

namespace tact::policy {
namespace {

using namespace yaml_reader;  // NOLINT: the YAML reading vocabulary shared by the parser's files

absl::StatusOr<SuppressIf> ReadSuppressIf(const YAML::Node& node, const Source& src, const std::string& where) {
  TACT_RETURN_IF_ERROR(CheckKeys(node,
                                 {"csat_at_most", "csat_within", "open_complaint", "escalation_within",
                                  "callback_pending", "opted_out"},
                                 src, where));
  SuppressIf s;
  if (node["csat_at_most"]) {
    TACT_ASSIGN_OR_RETURN(int64_t v, IntInRange(node["csat_at_most"], src, where + ".csat_at_most", 1, 5));
    s.csat_at_most = static_cast<int>(v);
    if (!node["csat_within"]) {
      return src.Error(node["csat_at_most"], where + ": 'csat_within' is required with csat_at_most (e.g. 30d)");
    }
  }
  if (node["csat_within"]) {
    if (!s.csat_at_most) {
      return src.Error(node["csat_within"], where + ": 'csat_within' needs 'csat_at_most' (e.g. 2)");
    }
    TACT_ASSIGN_OR_RETURN(s.csat_within, DurationValue(node["csat_within"], src, where + ".csat_within"));
  }
  if (node["open_complaint"]) {
    TACT_ASSIGN_OR_RETURN(s.open_complaint, Bool(node["open_complaint"], src, where + ".open_complaint"));
  }
  if (node["escalation_within"]) {
    TACT_ASSIGN_OR_RETURN(s.escalation_within,
                          DurationValue(node["escalation_within"], src, where + ".escalation_within"));
  }
  if (node["callback_pending"]) {
    TACT_ASSIGN_OR_RETURN(s.callback_pending, Bool(node["callback_pending"], src, where + ".callback_pending"));
  }
  if (node["opted_out"]) {
    TACT_ASSIGN_OR_RETURN(s.opted_out, Bool(node["opted_out"], src, where + ".opted_out"));
  }
  if (!s.csat_at_most && !s.open_complaint && !s.escalation_within && !s.callback_pending && !s.opted_out) {
    return src.Error(node, where + " has no condition that can hold, so the rule never applies "
                                   "(set at least one of csat_at_most, open_complaint, escalation_within, "
                                   "callback_pending, opted_out)");
  }
  return s;
}

// The store's generic form of each condition (see policy::SignalCheck), in a fixed order.
void CompileConditions(SuppressIf& s) {
  if (s.csat_at_most) {
    SuppressIf::Condition c{absl::StrCat("CSAT ", *s.csat_at_most, " or lower within ", ShortDuration(s.csat_within)),
                            {}, s.csat_within};
    for (int v = 1; v <= *s.csat_at_most; ++v) c.fields.push_back(absl::StrCat("csat:", v));
    s.conditions.push_back(std::move(c));
  }
  if (s.open_complaint) s.conditions.push_back({"open complaint", {"complaint:*"}});
  if (s.escalation_within) {
    s.conditions.push_back({absl::StrCat("escalation within ", ShortDuration(*s.escalation_within)), {"escalation"},
                            *s.escalation_within});
  }
  if (s.callback_pending) s.conditions.push_back({"callback pending", {"callback:*"}});
  if (s.opted_out) {
    SuppressIf::Condition c{"opted out", {"opt_out"}};
    for (int ch = 0; ch < v1::Channel_ARRAYSIZE; ++ch) {  // + "opt_out:<channel>" of the event's channel
      c.channel_fields.push_back(
          {"opt_out", absl::StrCat("opt_out:", AsAbsl(ChannelName(static_cast<Channel>(ch))))});
    }
    s.conditions.push_back(std::move(c));
  }
}

}  // namespace

absl::StatusOr<SuppressIf> ParseSuppressIf(const YAML::Node& node, const Source& src, const std::string& where) {
  TACT_ASSIGN_OR_RETURN(SuppressIf s, ReadSuppressIf(node, src, where));
  CompileConditions(s);
  return s;
}

}  // namespace tact::policy
