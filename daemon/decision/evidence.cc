#include "daemon/decision/evidence.h"

#include "daemon/core/proto_time.h"

namespace tact::decision {
namespace {

bool Known(absl::Time t) { return t != absl::InfinitePast() && t != absl::InfiniteFuture(); }

void SignalEvidence(const policy::SignalCheck& s, const policy::SignalResult& r, v1::SignalEvidence* e) {
  e->set_rule_id(std::string(s.rule_id));
  if (!r.field.empty()) {  // the field that matched, as the store reported it
    e->set_kind(std::string(SignalKindOfField(r.field)));
    e->set_ref(std::string(SignalRefOfField(r.field)));
  } else if (!s.fields.empty()) {
    e->set_kind(std::string(SignalKindOfField(s.fields.front())));
  }
  if (Known(r.at)) *e->mutable_at() = TimeToProto(r.at);
  e->set_condition(std::string(s.condition));
  if (Known(s.since)) *e->mutable_since() = TimeToProto(s.since);
  if (Known(r.until)) *e->mutable_holds_until() = TimeToProto(r.until);
}

void WindowEvidence(const policy::LimitCheck& l, const policy::LimitUsage& u, absl::Time now,
                    v1::WindowEvidence* e) {
  e->set_rule_id(std::string(l.rule_id));
  e->set_used(u.used);
  e->set_limit(l.count);
  e->set_window(std::string(l.window_text));
  if (l.kind == policy::WindowKind::kRolling) {
    *e->mutable_rolling_from() = TimeToProto(now - l.window);
    if (Known(u.frees_at)) *e->mutable_frees_at() = TimeToProto(u.frees_at);
    return;
  }
  // "c:<rule>[:<scope value>]:<period>": the period label is the last part (a date, "w<monday>" or a month).
  const size_t colon = l.counter.rfind(':');
  if (colon != std::string_view::npos) e->set_period(std::string(l.counter.substr(colon + 1)));
  if (Known(l.period_end)) {
    *e->mutable_period_end() = TimeToProto(l.period_end);
    *e->mutable_frees_at() = TimeToProto(l.period_end);
  }
}

void QuietEvidence(const policy::Plan& plan, const policy::QuietHold& q, absl::Time now,
                   v1::QuietHoursEvidence* e) {
  e->set_rule_id(std::string(q.rule_id));
  e->set_window(std::string(q.text));  // a decoded plan's text already ends with the zone
  const std::string_view zone = q.zone.empty() ? plan.timezone : q.zone;
  e->set_zone(std::string(zone));
  absl::TimeZone tz;
  if (!zone.empty() && absl::LoadTimeZone(std::string(zone), &tz)) {  // cached by absl after the first load
    e->set_local_time(absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", now, tz));
  }
  if (Known(q.until)) *e->mutable_until() = TimeToProto(q.until);
}

}  // namespace

std::string_view SignalKindOfField(std::string_view field) {
  const size_t end = field.find_first_of(":*");
  return end == std::string_view::npos ? field : field.substr(0, end);
}

std::string_view SignalRefOfField(std::string_view field) {
  // policy::ToSignalWrite names them "complaint:<ref>" and "callback:<ref>"; the ref may hold ':' itself.
  for (std::string_view kind : {std::string_view("complaint:"), std::string_view("callback:")}) {
    if (field.starts_with(kind)) return field.substr(kind.size());
  }
  return {};
}

void BuildEvidence(const policy::Plan& plan, const policy::StoreOutcome& outcome, const policy::Verdicts& v,
                   absl::Time now, v1::Evidence* out) {
  const size_t i = v.decided_index;
  switch (v.decided_by) {
    case policy::DecidedBy::kSignal:
      if (i < plan.signals.size() && i < outcome.signals.size()) {
        SignalEvidence(plan.signals[i], outcome.signals[i], out->mutable_signal());
      }
      break;
    case policy::DecidedBy::kLimit:
      if (i < plan.limits.size() && i < outcome.usage.size()) {
        WindowEvidence(plan.limits[i], outcome.usage[i], now, out->mutable_window());
      }
      break;
    case policy::DecidedBy::kQuiet:
      if (i < plan.quiet.size()) QuietEvidence(plan, plan.quiet[i], now, out->mutable_quiet_hours());
      break;
    case policy::DecidedBy::kNone: break;
  }
}

}  // namespace tact::decision
