#include "daemon/campaign/board.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "daemon/campaign/gate.h"
#include "daemon/campaign/records.h"
#include "daemon/capacity/svg.h"
#include "daemon/core/event.h"
#include "daemon/core/markup.h"
#include "daemon/core/proto_time.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/ops/log.h"

namespace tact::campaign {
namespace {

constexpr std::string_view kPrefix = "/campaigns";

std::string Lower(std::string s) {
  absl::AsciiStrToLower(&s);
  return s;
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// VERDICT_PACE → PACE
std::string VerdictLabel(v1::CampaignVerdict v) {
  const std::string name = v1::CampaignVerdict_Name(v);
  return name.starts_with("VERDICT_") ? name.substr(8) : name;
}

std::string Time(absl::Time t) { return t == absl::InfinitePast() ? "" : GateTime(t); }

ops::AdminPage Page(int status, std::string_view title, std::string_view body) {
  ops::AdminPage page;
  page.status = status;
  page.body = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
      EscapeMarkup(title),
      "</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>\n"
      "body{font-family:sans-serif;margin:1.5em;color:#222}\n"
      "table{border-collapse:collapse;font-size:0.9em}\n"
      "th,td{border:1px solid #ccc;padding:0.3em 0.5em;text-align:left;vertical-align:top}\n"
      "td.n{text-align:right}\n"
      ".state{font-weight:bold}\n"
      "svg{max-width:100%;height:auto;border:1px solid #eee}\n"
      "section{margin-top:2em}\n"
      "</style></head>\n<body>\n",
      AsAbsl(body), "</body></html>\n");
  return page;
}

ops::AdminPage Error(int status, std::string_view message) {
  return Page(status, "Campaign board", absl::StrCat("<h1>Campaign board</h1>\n<p class=\"error\">",
                                                     EscapeMarkup(message), "</p>\n"));
}

// The value of `key` in a query string; nullopt when absent, "" with ok=false when malformed.
std::optional<std::string> QueryValue(std::string_view query, std::string_view key, bool& ok) {
  ok = true;
  for (const absl::string_view pair : absl::StrSplit(AsAbsl(query), '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != AsAbsl(key)) continue;
    std::string value;
    ok = DecodeQueryValue(eq == absl::string_view::npos ? "" : AsStd(pair.substr(eq + 1)), value);
    return value;
  }
  return std::nullopt;
}

ops::AdminPage TenantForm() {
  return Page(200, "Campaign board",
              "<h1>Campaign board</h1>\n"
              "<form method=\"get\" action=\"/campaigns\"><label>Tenant <input name=\"tenant\" required></label> "
              "<button type=\"submit\">Show campaigns</button></form>\n");
}

}  // namespace

std::string BoardState(const v1::Campaign* campaign, std::string_view last_notice_kind, absl::Time now) {
  if (campaign == nullptr) {
    if (last_notice_kind.empty() || last_notice_kind == "PLANNED" || last_notice_kind == "PROPOSED") return "proposed";
    return Lower(std::string(last_notice_kind));
  }
  if (campaign->state() == v1::CAMPAIGN_PAUSED) return "paused";
  if (campaign->state() != v1::CAMPAIGN_RELEASED) {
    std::string name = v1::CampaignState_Name(campaign->state());
    if (name.starts_with("CAMPAIGN_")) name = name.substr(9);
    return name.empty() ? "unknown" : Lower(name);
  }
  if (!campaign->acknowledged()) return "noticed";
  if (!campaign->plan().has_first_send() || now < TimeFromProto(campaign->plan().first_send())) return "acknowledged";
  return campaign->plan().verdict() == v1::VERDICT_PACE ? "paced" : "released";
}

capacity::CampaignPlan ChartPlan(const v1::CampaignPlan& plan) {
  capacity::CampaignPlan p;
  p.campaign_id = plan.campaign_id();
  p.verdict = plan.verdict() == v1::VERDICT_RELEASE ? capacity::Verdict::kRelease
              : plan.verdict() == v1::VERDICT_PACE  ? capacity::Verdict::kPace
                                                    : capacity::Verdict::kReject;
  p.reason = plan.reason();
  for (const v1::IntervalForecast& f : plan.intervals()) {
    capacity::IntervalRow r;
    r.start = TimeFromProto(f.start());
    r.baseline_calls = f.baseline_calls();
    r.committed_calls = f.released_calls();
    r.campaign_calls = f.campaign_calls();
    r.sends = f.sends();
    r.capacity_calls = f.capacity_calls();
    r.target_service_level = f.target_service_level();
    r.metrics.service_level = f.service_level();
    r.meets_target = f.meets_target();
    r.breaks = f.breaks();
    if (r.breaks) p.failing.push_back(p.rows.size());
    p.rows.push_back(r);
  }
  p.audience = plan.audience();
  p.predicted_contacts = plan.predicted_contacts();
  return p;
}

bool DecodeQueryValue(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] != '%') {
      out += in[i];
    } else {
      int value = 0;
      for (size_t k = 1; k <= 2; ++k) {
        const char c = i + k < in.size() ? in[i + k] : '\0';
        if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
        value = value * 16 + (absl::ascii_isdigit(static_cast<unsigned char>(c)) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10);
      }
      out += static_cast<char>(value);
      i += 2;
    }
  }
  return true;
}


ops::AdminPage CampaignBoard::Serve(std::string_view path, std::string_view query) {
  bool ok = true;
  const std::optional<std::string> tenant = QueryValue(query, "tenant", ok);
  if (!ok) return Error(400, "tenant: malformed percent-encoding");
  const std::string_view rest = path.substr(std::min(path.size(), kPrefix.size()));
  if (rest.empty() || rest == "/") {
    if (!tenant.has_value()) return TenantForm();
    if (absl::Status s = CheckTenantId("tenant", *tenant); !s.ok()) return Error(400, AsStd(s.message()));
    return Board(*tenant);
  }
  if (!rest.ends_with(".svg") || rest.find('/', 1) != std::string_view::npos) return Error(404, "no such page");
  std::string id;
  if (!DecodeQueryValue(rest.substr(1, rest.size() - 5), id)) return Error(400, "campaign id: malformed percent-encoding");
  if (!tenant.has_value()) return Error(400, "tenant: required");
  if (absl::Status s = CheckTenantId("tenant", *tenant); !s.ok()) return Error(400, AsStd(s.message()));
  if (absl::Status s = ValidId(id, "campaign id"); !s.ok()) return Error(400, AsStd(s.message()));
  return Chart(*tenant, id);
}

ops::AdminPage CampaignBoard::Chart(const std::string& tenant, const std::string& campaign_id) {
  absl::StatusOr<std::optional<v1::Campaign>> c = store_.GetCampaign(tenant, campaign_id);
  if (!c.ok()) {
    ops::Log(ops::LogLevel::kWarning, "board.store_failed", {{"error", std::string(c.status().message())}});
    return Error(503, "the campaign repository cannot be read now");
  }
  if (!c->has_value()) return Error(404, "no released campaign with this id");
  ops::AdminPage page;
  page.content_type = "image/svg+xml";
  page.body = capacity::PlanSvg(ChartPlan((*c)->plan()));
  return page;
}

namespace {

std::string Cell(std::string_view text, bool number = false) {
  return absl::StrCat(number ? "<td class=\"n\">" : "<td>", EscapeMarkup(text), "</td>");
}

// One campaign's row of the table, and its section with the chart (released campaigns only).
void AppendCampaign(const std::string& tenant, const CampaignBoard::Entry& e, absl::Time now, std::string& rows,
                    std::string& charts) {
  const v1::Campaign* c = e.record.has_value() ? &*e.record : nullptr;
  const std::string state = BoardState(c, e.last_kind, now);
  std::string predicted = absl::StrFormat("– (%.1f planned in all)", e.noticed_contacts);
  std::string observed, ratio, released, complaints, sends, ack = "no";
  std::string pause_reason = e.pause_reason;
  absl::Time paused_at = e.paused_at;
  if (c != nullptr) {
    const double by_now = PredictedContactsBy(c->plan(), now);
    predicted = absl::StrFormat("%.1f of %.1f", by_now, c->plan().predicted_contacts());
    observed = absl::StrCat(e.counts.contacts);
    ratio = by_now > 0 ? absl::StrFormat("%.2f×", static_cast<double>(e.counts.contacts) / by_now) : "–";
    released = absl::StrCat(e.counts.released);
    complaints = absl::StrCat(e.counts.complaints);
    if (c->plan().has_first_send()) {
      sends = absl::StrCat(c->plan().schedule_size(), " batch(es), ", Time(TimeFromProto(c->plan().first_send())),
                           " – ", Time(TimeFromProto(c->plan().last_send())));
    }
    if (c->acknowledged()) {
      ack = absl::StrCat("by ", c->acknowledged_by(), " at ", Time(TimeFromProto(c->acknowledged_at())));
    }
    if (c->state() == v1::CAMPAIGN_PAUSED && !c->pause_reason().empty()) {
      pause_reason = c->pause_reason();
      paused_at = TimeFromProto(c->paused_at());
    }
  }
  std::string pause = pause_reason.empty() ? "" : absl::StrCat(Time(paused_at), ": ", pause_reason);
  if (!pause.empty() && state != "paused") absl::StrAppend(&pause, " (since resumed)");
  absl::StrAppend(&rows, "<tr data-campaign=\"", EscapeMarkup(e.id), "\" data-state=\"", EscapeMarkup(state), "\">",
                  Cell(e.id), "<td class=\"state\">", EscapeMarkup(state), "</td>",
                  Cell(c == nullptr ? "" : VerdictLabel(c->plan().verdict())),
                  Cell(c == nullptr ? "" : absl::StrCat(c->plan().audience()), true), Cell(sends),
                  Cell(predicted, true), Cell(observed, true), Cell(ratio, true), Cell(released, true),
                  Cell(complaints, true), Cell(ack), Cell(pause), "</tr>\n");
  if (c == nullptr) return;
  absl::StrAppend(&charts, "<section><h2>", EscapeMarkup(e.id), " <small>(", EscapeMarkup(state), ")</small></h2>\n",
                  "<p>Offer: ", EscapeMarkup(c->spec().promise().offer()),
                  c->spec().promise().how_to_respond().empty() ? "" : ". How to respond: ",
                  EscapeMarkup(c->spec().promise().how_to_respond()), ". <a href=\"", AsAbsl(kPrefix), "/",
                  PercentEncode(e.id), ".svg?tenant=", PercentEncode(tenant), "\">Chart as SVG</a></p>\n",
                  capacity::PlanSvg(ChartPlan(c->plan())), "</section>\n");
}

}  // namespace

absl::StatusOr<std::map<std::string, CampaignBoard::Entry>> CampaignBoard::Load(const std::string& tenant) {
  TACT_ASSIGN_OR_RETURN(std::vector<v1::Campaign> records, store_.ListCampaigns(tenant));
  TACT_ASSIGN_OR_RETURN(std::vector<v1::CampaignNotice> notices, store_.ListNotices(tenant));
  std::map<std::string, Entry> entries;
  for (v1::Campaign& c : records) {
    Entry& e = entries[c.spec().campaign_id()];
    e.id = c.spec().campaign_id();
    TACT_ASSIGN_OR_RETURN(e.counts, store_.GetCounts(tenant, e.id));
    e.record = std::move(c);
  }
  for (const v1::CampaignNotice& n : notices) {  // oldest first: the last one wins
    Entry& e = entries[n.campaign_id()];
    e.id = n.campaign_id();
    e.last_kind = n.kind();
    if (n.kind() == "PAUSED") {
      e.pause_reason = n.reason();
      e.paused_at = TimeFromProto(n.at());
    }
    if (n.kind() == "PLANNED" || n.kind() == "PROPOSED" || n.kind() == "RELEASED") {
      e.noticed_contacts = n.predicted_contacts();
    }
  }
  return entries;
}

ops::AdminPage CampaignBoard::Board(const std::string& tenant) {
  const absl::Time now = clock_.Now();
  absl::StatusOr<std::map<std::string, Entry>> entries = Load(tenant);
  if (!entries.ok()) {
    ops::Log(ops::LogLevel::kWarning, "board.store_failed", {{"error", std::string(entries.status().message())}});
    return Error(503, "the campaign repository cannot be read now");
  }
  std::string rows;
  std::string charts;
  for (const auto& [id, e] : *entries) AppendCampaign(tenant, e, now, rows, charts);
  std::string body = absl::StrCat(
      "<h1>Campaigns of tenant ", EscapeMarkup(tenant), "</h1>\n<p>As of ", Time(now),
      ". Read-only. Contacts: what the plan predicts up to now (of its total) against the contacts the contact "
      "centre reported (signals naming the campaign).</p>\n");
  if (entries->empty()) {
    absl::StrAppend(&body, "<p id=\"empty\">No campaigns for this tenant.</p>\n");
  } else {
    absl::StrAppend(&body,
                    "<table id=\"campaigns\">\n<thead><tr><th>Campaign</th><th>State</th><th>Verdict</th>"
                    "<th>Audience</th><th>Sends</th><th>Predicted contacts so far</th><th>Observed contacts</th>"
                    "<th>Observed ÷ predicted</th><th>Released (≈)</th><th>Complaints</th><th>Acknowledged</th>"
                    "<th>Last pause</th></tr></thead>\n<tbody>\n",
                    rows, "</tbody></table>\n", charts);
  }
  return Page(200, absl::StrCat("Campaigns — ", tenant), body);
}

}  // namespace tact::campaign
