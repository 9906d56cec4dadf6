#include "daemon/capacity/svg.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/core/strings.h"

namespace tact::capacity {
namespace {

constexpr double kWidth = 1200;
constexpr double kLeft = 60;
constexpr double kRight = 20;
constexpr double kLoadTop = 40;
constexpr double kLoadHeight = 300;
constexpr double kSlTop = 380;
constexpr double kSlHeight = 120;
constexpr double kHeight = 540;

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The drawing's scales: interval index → x, calls → y (load panel), service level → y (SL panel).
struct Chart {
  explicit Chart(const CampaignPlan& plan)
      : step((kWidth - kLeft - kRight) / static_cast<double>(std::max<size_t>(plan.rows.size(), 1))) {
    for (const IntervalRow& r : plan.rows) {
      max_calls = std::max({max_calls, r.baseline_calls + r.committed_calls + r.campaign_calls, r.capacity_calls});
    }
    max_calls *= 1.1;
  }
  double x(size_t i) const { return kLeft + step * static_cast<double>(i); }
  double y_calls(double c) const { return kLoadTop + kLoadHeight * (1 - c / max_calls); }
  double y_sl(double sl) const { return kSlTop + kSlHeight * (1 - std::clamp(sl, 0.0, 1.0)); }

  const double step;
  double max_calls = 1;
};

// Failing intervals (shaded), then the stacked load bars with a tick under each batch.
void AppendBars(const CampaignPlan& plan, const Chart& ch, std::string& svg) {
  for (size_t i = 0; i < plan.rows.size(); ++i) {
    if (plan.rows[i].breaks) {
      absl::StrAppendFormat(&svg, "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%.0f\" fill=\"#fdd\"/>\n",
                            ch.x(i), kLoadTop, ch.step, kSlTop + kSlHeight - kLoadTop);
    }
  }
  for (size_t i = 0; i < plan.rows.size(); ++i) {
    const IntervalRow& r = plan.rows[i];
    const double bg = r.baseline_calls + r.committed_calls;
    absl::StrAppendFormat(&svg, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#bbb\"/>",
                          ch.x(i), ch.y_calls(bg), ch.step, ch.y_calls(0) - ch.y_calls(bg));
    if (r.campaign_calls > 0) {
      absl::StrAppendFormat(&svg, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#f90\"/>",
                            ch.x(i), ch.y_calls(bg + r.campaign_calls), ch.step,
                            ch.y_calls(bg) - ch.y_calls(bg + r.campaign_calls));
    }
    if (r.sends > 0) {
      absl::StrAppendFormat(&svg, "<line x1=\"%.2f\" y1=\"%.0f\" x2=\"%.2f\" y2=\"%.0f\" stroke=\"#333\"/>",
                            ch.x(i) + ch.step / 2, kLoadTop + kLoadHeight, ch.x(i) + ch.step / 2,
                            kLoadTop + kLoadHeight + 8);
    }
    absl::StrAppend(&svg, "\n");
  }
}

// Capacity (target) step line, service level line and the target level.
void AppendLines(const CampaignPlan& plan, const Chart& ch, std::string& svg) {
  std::string cap = "M";
  std::string sl = "M";
  for (size_t i = 0; i < plan.rows.size(); ++i) {
    const IntervalRow& r = plan.rows[i];
    absl::StrAppendFormat(&cap, " %.2f %.2f L %.2f %.2f", ch.x(i), ch.y_calls(r.capacity_calls), ch.x(i) + ch.step,
                          ch.y_calls(r.capacity_calls));
    absl::StrAppendFormat(&sl, " %.2f %.2f L %.2f %.2f", ch.x(i), ch.y_sl(r.metrics.service_level),
                          ch.x(i) + ch.step, ch.y_sl(r.metrics.service_level));
    if (i + 1 < plan.rows.size()) {
      absl::StrAppend(&cap, " L");
      absl::StrAppend(&sl, " L");
    }
  }
  if (plan.rows.empty()) return;
  absl::StrAppend(&svg, "<path d=\"", cap, "\" fill=\"none\" stroke=\"#06c\" stroke-width=\"1.5\"/>\n");
  absl::StrAppend(&svg, "<path d=\"", sl, "\" fill=\"none\" stroke=\"#090\" stroke-width=\"1.5\"/>\n");
  const double target = plan.rows.front().target_service_level;
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.0f\" y1=\"%.2f\" x2=\"%.0f\" y2=\"%.2f\" stroke=\"#c00\" "
                        "stroke-dasharray=\"6 4\"/>\n",
                        kLeft, ch.y_sl(target), kWidth - kRight, ch.y_sl(target));
  absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.2f\" fill=\"#c00\">target %.0f%%</text>\n",
                        kWidth - kRight - 80, ch.y_sl(target) - 4, 100 * target);
}

// Axes, labels, day ticks.
void AppendAxes(const CampaignPlan& plan, const Chart& ch, std::string& svg) {
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n"
                        "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n"
                        "<text x=\"5\" y=\"%.0f\">%.0f calls</text><text x=\"5\" y=\"%.0f\">0</text>\n"
                        "<text x=\"5\" y=\"%.0f\">SL 100%%</text><text x=\"5\" y=\"%.0f\">0%%</text>\n",
                        kLeft, kLoadTop, kLeft, kSlTop + kSlHeight, kLeft, kLoadTop + kLoadHeight, kWidth - kRight,
                        kLoadTop + kLoadHeight, kLoadTop + 10, ch.max_calls, kLoadTop + kLoadHeight, kSlTop + 10,
                        kSlTop + kSlHeight);
  for (size_t i = 0; i < plan.rows.size(); ++i) {
    const absl::CivilSecond c = absl::ToCivilSecond(plan.rows[i].start, absl::UTCTimeZone());
    if (c.hour() == 0 && c.minute() == 0) {
      absl::StrAppendFormat(&svg,
                            "<line x1=\"%.2f\" y1=\"%.0f\" x2=\"%.2f\" y2=\"%.0f\" stroke=\"#ddd\"/>"
                            "<text x=\"%.2f\" y=\"%.0f\">%04d-%02d-%02d</text>\n",
                            ch.x(i), kLoadTop, ch.x(i), kSlTop + kSlHeight, ch.x(i) + 2, kHeight - 10, c.year(),
                            c.month(), c.day());
    }
  }
}

}  // namespace

std::string PlanSvg(const CampaignPlan& plan) {
  const Chart chart(plan);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      kWidth, kHeight);
  absl::StrAppend(&svg, "<text x=\"", kLeft, "\" y=\"20\" font-size=\"14\">",
                  Escape(absl::StrCat(plan.campaign_id.empty() ? "campaign" : plan.campaign_id, ": ",
                                      AsAbsl(VerdictName(plan.verdict)), " — ", plan.reason)),
                  "</text>\n");
  AppendBars(plan, chart, svg);
  AppendLines(plan, chart, svg);
  AppendAxes(plan, chart, svg);
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.0f\" y=\"%.0f\">grey: baseline + released campaigns · orange: this campaign · "
                        "blue: capacity holding the target · green: predicted service level · ticks: batches"
                        "</text>\n</svg>\n",
                        kLeft + 300, kHeight - 10);
  return svg;
}

}  // namespace tact::capacity
