// tactctl audit's CSV export and the one-line text of a record's evidence.
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/cli/audit.h"
#include "daemon/core/proto_time.h"
#include "daemon/decision/decision_steps.h"

namespace tact::cli {
namespace {

std::string Time(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", TimeFromProto(t), absl::UTCTimeZone());
}
std::string TimeIf(bool has, const google::protobuf::Timestamp& t) { return has ? Time(t) : ""; }
// To the second, for the table.
std::string Sec(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", TimeFromProto(t), absl::UTCTimeZone());
}

// The evidence columns: kind, rule, used, limit, window, from (rolling start, signal since), period, until
// (period end / frees at / holds until / quiet end), signal kind, signal ref, signal at, zone, local time.
std::vector<std::string> EvidenceColumns(const v1::Evidence& e) {
  if (e.has_signal()) {
    const v1::SignalEvidence& s = e.signal();
    return {"signal", s.rule_id(), "", "", s.condition(), TimeIf(s.has_since(), s.since()), "",
            TimeIf(s.has_holds_until(), s.holds_until()), s.kind(), s.ref(), TimeIf(s.has_at(), s.at()), "", ""};
  }
  if (e.has_window()) {
    const v1::WindowEvidence& w = e.window();
    return {"window", w.rule_id(), absl::StrCat(w.used()), absl::StrCat(w.limit()), w.window(),
            TimeIf(w.has_rolling_from(), w.rolling_from()), w.period(), TimeIf(w.has_frees_at(), w.frees_at()),
            "", "", "", "", ""};
  }
  if (e.has_quiet_hours()) {
    const v1::QuietHoursEvidence& q = e.quiet_hours();
    return {"quiet_hours", q.rule_id(), "", "", q.window(), "", "", TimeIf(q.has_until(), q.until()),
            "", "", "", q.zone(), q.local_time()};
  }
  return std::vector<std::string>(13);
}

}  // namespace

const char* const kAuditCsvColumns =
    "decided_at,event_id,tenant,customer_hash,customer_hash_key_id,channel,message_class,campaign_id,decision,"
    "rule_id,reason,policy_version,policy_digest,source,client,duplicate,degraded,evidence_kind,evidence_rule,"
    "used,limit,window,from,period,until,signal_kind,signal_ref,signal_at,zone,local_time";

std::string CsvField(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (const char c : v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void PrintAuditCsv(const std::vector<v1::DecisionRecord>& records, std::ostream& out) {
  out << kAuditCsvColumns << "\r\n";
  for (const v1::DecisionRecord& r : records) {
    const v1::Decision& d = r.decision();
    std::vector<std::string> row = {TimeIf(r.has_decided_at(), r.decided_at()),
                                    r.event_id(),
                                    r.tenant(),
                                    r.customer_hash(),
                                    r.customer_hash_key_id(),
                                    std::string(ChannelName(r.channel())),
                                    std::string(ClassName(r.message_class())),
                                    r.campaign_id(),
                                    std::string(decision::DecisionName(d.decision())),
                                    d.rule_id(),
                                    d.reason(),
                                    d.policy_version(),
                                    d.policy_digest(),
                                    r.source(),
                                    r.client(),
                                    d.duplicate() ? "true" : "false",
                                    d.degraded() ? "true" : "false"};
    for (std::string& e : EvidenceColumns(r.evidence())) row.push_back(std::move(e));
    out << absl::StrJoin(row, ",", [](std::string* o, const std::string& f) { o->append(CsvField(f)); })
        << "\r\n";
  }
}

std::string EvidenceText(const v1::DecisionRecord& r) {
  const v1::Evidence& e = r.evidence();
  if (e.has_signal()) {
    const v1::SignalEvidence& s = e.signal();
    std::string t = absl::StrCat(s.kind().empty() ? "signal" : s.kind(), " signal");
    if (!s.ref().empty()) absl::StrAppend(&t, " ", s.ref());
    if (s.has_at()) absl::StrAppend(&t, " at ", Sec(s.at()));
    if (s.has_since()) absl::StrAppend(&t, " since ", Sec(s.since()));
    if (s.has_holds_until()) absl::StrAppend(&t, ", holds until ", Sec(s.holds_until()));
    return t;
  }
  if (e.has_window()) {
    const v1::WindowEvidence& w = e.window();
    std::string t = absl::StrCat(w.used(), " of ", w.limit(), " used in ", w.window());
    if (w.has_rolling_from()) absl::StrAppend(&t, " since ", Sec(w.rolling_from()));
    if (!w.period().empty()) absl::StrAppend(&t, " ", w.period());
    if (w.has_frees_at()) absl::StrAppend(&t, ", frees at ", Sec(w.frees_at()));
    return t;
  }
  if (e.has_quiet_hours()) {
    const v1::QuietHoursEvidence& q = e.quiet_hours();
    return absl::StrCat(q.window(), ", ", q.local_time().empty() ? "?" : q.local_time(), " in ", q.zone());
  }
  return "";
}

}  // namespace tact::cli
