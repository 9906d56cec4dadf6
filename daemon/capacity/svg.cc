#include "daemon/capacity/svg.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/core/markup.h"
#include "daemon/core/strings.h"

namespace tact::capacity {
namespace {

constexpr double kWidth = 1200;
constexpr double kMargin = 12;
constexpr double kRight = 40;  // room for half of the last x label
constexpr double kTitleSize = 14;
constexpr double kTitleLine = 20;  // baseline to baseline
constexpr double kLabelSize = 12;
constexpr double kTickSize = 11;
constexpr double kLoadHeight = 280;
constexpr double kSlHeight = 120;
constexpr int kMaxTitleLines = 6;

double TextWidth(std::string_view s, double size) { return static_cast<double>(CodePoints(s)) * kSvgCharEm * size; }

// The first `n` code points of `s`.
std::string_view PrefixChars(std::string_view s, size_t n) {
  size_t i = 0;
  for (size_t seen = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == n) break;
  }
  return s.substr(0, i);
}

// Words of `text` in lines of at most `max_chars` characters; a longer word is cut.
std::vector<std::string> Wrap(std::string_view text, size_t max_chars) {
  std::vector<std::string> lines(1);
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t space = text.find(' ', pos);
    std::string_view word = text.substr(pos, space == std::string_view::npos ? std::string_view::npos : space - pos);
    pos = space == std::string_view::npos ? text.size() : space + 1;
    while (!word.empty()) {
      std::string& line = lines.back();
      const size_t have = CodePoints(line);
      const size_t need = CodePoints(word) + (have > 0 ? 1 : 0);
      if (have + need <= max_chars) {
        absl::StrAppend(&line, have > 0 ? " " : "", AsAbsl(word));
        break;
      }
      if (have > 0) {
        lines.emplace_back();
        continue;
      }
      const std::string_view head = PrefixChars(word, max_chars);
      line = std::string(head);
      word.remove_prefix(head.size());
      lines.emplace_back();
    }
  }
  if (lines.back().empty() && lines.size() > 1) lines.pop_back();
  return lines;
}

void AppendText(std::string& svg, double x, double y, double size, std::string_view anchor, std::string_view text,
                std::string_view fill = "black") {
  absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" text-anchor=\"%s\" fill=\"%s\">%s</text>\n",
                        x, y, size, AsAbsl(anchor), AsAbsl(fill), EscapeMarkup(text));
}

double NiceStep(double max, int ticks) {
  const double raw = max / ticks;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

std::string TickLabel(double v, double step) {
  return step >= 1 ? absl::StrFormat("%.0f", v) : absl::StrFormat("%g", v);
}

std::string Title(const CampaignPlan& plan) {
  return absl::StrCat(plan.campaign_id.empty() ? "campaign" : plan.campaign_id, ": ",
                      AsAbsl(VerdictName(plan.verdict)), " — ", plan.reason);
}

// Where everything goes, top to bottom: title lines, the load panel's label and plot, the batch ticks, the
// service-level panel's label and plot, the x tick labels, the x axis label, the legend rows.
struct Chart {
  explicit Chart(const CampaignPlan& plan) {
    title = Wrap(Title(plan), static_cast<size_t>((kWidth - 2 * kMargin) / (kSvgCharEm * kTitleSize)));
    if (title.size() > kMaxTitleLines) {
      title.resize(kMaxTitleLines);
      title.back() = absl::StrCat(AsAbsl(PrefixChars(title.back(), CodePoints(title.back()) - 1)), "…");
    }
    double max_calls = 0;
    for (const IntervalRow& r : plan.rows) {
      max_calls = std::max({max_calls, r.baseline_calls + r.committed_calls + r.campaign_calls, r.capacity_calls});
    }
    calls_step = NiceStep(std::max(max_calls * 1.05, 1.0), 5);
    calls_max = std::ceil(std::max(max_calls * 1.05, 1.0) / calls_step) * calls_step;
    left = std::max(56.0, TextWidth(TickLabel(calls_max, calls_step), kTickSize) + 14);
    step = (kWidth - left - kRight) / static_cast<double>(std::max<size_t>(plan.rows.size(), 1));
    const double title_bottom = kMargin + kTitleLine * static_cast<double>(title.size());
    load_label_y = title_bottom + 10 + kLabelSize;
    load_top = load_label_y + 10;
    sl_label_y = load_top + kLoadHeight + 12 + kLabelSize + 4;
    sl_top = sl_label_y + 10;
    x_labels_y = sl_top + kSlHeight + 10 + kTickSize;  // clear of the lowest y label
    x_title_y = x_labels_y + 8 + kLabelSize;
    legend_top = x_title_y + 14;
  }
  double x(size_t i) const { return left + step * static_cast<double>(i); }
  double right() const { return kWidth - kRight; }
  double y_calls(double c) const { return load_top + kLoadHeight * (1 - c / calls_max); }
  double y_sl(double sl) const { return sl_top + kSlHeight * (1 - std::clamp(sl, 0.0, 1.0)); }
  double load_bottom() const { return load_top + kLoadHeight; }
  double sl_bottom() const { return sl_top + kSlHeight; }

  std::vector<std::string> title;
  double calls_step = 1;
  double calls_max = 1;
  double left = 56;
  double step = 1;
  double load_label_y = 0, load_top = 0, sl_label_y = 0, sl_top = 0, x_labels_y = 0, x_title_y = 0, legend_top = 0;
};

// Failing intervals (shaded), then the stacked load bars with a tick under each batch.
void AppendBars(const CampaignPlan& plan, const Chart& ch, std::string& svg) {
  for (size_t i = 0; i < plan.rows.size(); ++i) {
    if (plan.rows[i].breaks) {
      absl::StrAppendFormat(&svg, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#fdd\"/>\n",
                            ch.x(i), ch.load_top, ch.step, ch.sl_bottom() - ch.load_top);
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
      absl::StrAppendFormat(&svg, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#333\"/>",
                            ch.x(i) + ch.step / 2, ch.load_bottom(), ch.x(i) + ch.step / 2, ch.load_bottom() + 8);
    }
    absl::StrAppend(&svg, "\n");
  }
}

// Capacity (target) step line, service level line and the target level.
void AppendLines(const CampaignPlan& plan, const Chart& ch, std::string& svg) {
  if (plan.rows.empty()) return;
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
  absl::StrAppend(&svg, "<path d=\"", cap, "\" fill=\"none\" stroke=\"#06c\" stroke-width=\"1.5\"/>\n");
  absl::StrAppend(&svg, "<path d=\"", sl, "\" fill=\"none\" stroke=\"#090\" stroke-width=\"1.5\"/>\n");
  const double target = plan.rows.front().target_service_level;
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" stroke=\"#c00\" "
                        "stroke-dasharray=\"6 4\"/>\n",
                        ch.left, ch.y_sl(target), ch.right(), ch.y_sl(target));
}

// The plot frames (class "plot": no text may fall inside them), y ticks with their labels and the panel labels.
void AppendYAxes(const Chart& ch, std::string& svg) {
  for (const double top : {ch.load_top, ch.sl_top}) {
    absl::StrAppendFormat(&svg,
                          "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                          "stroke=\"#888\"/>\n",
                          ch.left, top, ch.right() - ch.left, top == ch.load_top ? kLoadHeight : kSlHeight);
  }
  auto tick = [&](double y, const std::string& label) {
    absl::StrAppendFormat(&svg, "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" stroke=\"#888\"/>", ch.left - 4,
                          y, ch.left, y);
    AppendText(svg, ch.left - 6, y + kTickSize * 0.35, kTickSize, "end", label);
  };
  for (double v = 0; v <= ch.calls_max + ch.calls_step / 2; v += ch.calls_step) {
    tick(ch.y_calls(v), TickLabel(v, ch.calls_step));
  }
  for (const double sl : {0.0, 0.5, 1.0}) tick(ch.y_sl(sl), absl::StrFormat("%.0f%%", 100 * sl));
  AppendText(svg, ch.left, ch.load_label_y, kLabelSize, "start", "Offered calls per 15-minute interval");
  AppendText(svg, ch.left, ch.sl_label_y, kLabelSize, "start",
             "Predicted service level (share of calls answered within the threshold)");
}

// Time ticks: the shortest step whose labels do not touch, labelled "Mon 23 Nov" at midnight and "HH:MM" otherwise;
// a label that would still touch the one before it is left out.
void AppendXAxis(const CampaignPlan& plan, const Chart& ch, std::string& svg) {
  if (plan.rows.empty()) return;
  const double row_minutes =
      plan.rows.size() > 1 ? absl::ToDoubleMinutes(plan.rows[1].start - plan.rows[0].start) : 15;
  const double widest = TextWidth("Mon 23 Nov", kTickSize) + 12;
  int64_t step_minutes = 60;
  for (const int64_t m : {60, 120, 180, 360, 720, 1440, 2880, 10080, 40320}) {
    step_minutes = m;
    if (static_cast<double>(m) / row_minutes * ch.step >= widest) break;
  }
  double last_right = -1e9;
  for (size_t i = 0; i < plan.rows.size(); ++i) {
    const absl::CivilMinute c = absl::ToCivilMinute(plan.rows[i].start, absl::UTCTimeZone());
    const int64_t minute_of_day = c.hour() * 60 + c.minute();
    const int64_t day = absl::CivilDay(c) - absl::CivilDay(1970, 1, 1);
    const bool on_step = step_minutes <= 1440 ? minute_of_day % step_minutes == 0
                                              : minute_of_day == 0 && day % (step_minutes / 1440) == 0;
    if (!on_step) continue;
    const std::string label = minute_of_day == 0 ? absl::FormatTime("%a %d %b", plan.rows[i].start, absl::UTCTimeZone())
                                                 : absl::StrFormat("%02d:%02d", c.hour(), c.minute());
    const double x = ch.x(i);
    const double half = TextWidth(label, kTickSize) / 2;
    absl::StrAppendFormat(&svg, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#ddd\"/>", x,
                          ch.load_top, x, ch.sl_bottom() + 4);
    if (x - half < last_right + 6) continue;
    AppendText(svg, x, ch.x_labels_y, kTickSize, "middle", label);
    last_right = x + half;
  }
  absl::StrAppend(&svg, "\n");
  AppendText(svg, (ch.left + ch.right()) / 2, ch.x_title_y, kLabelSize, "middle", "Interval start (UTC)");
}

// The legend, in rows under the x axis; returns the bottom of the last row.
double AppendLegend(const CampaignPlan& plan, const Chart& ch, std::string& svg) {
  enum class Mark { kBox, kLine, kDashed, kTick };
  struct Item {
    Mark mark;
    std::string_view color;
    std::string text;
  };
  const double target = plan.rows.empty() ? 0 : plan.rows.front().target_service_level;
  std::vector<Item> items = {
      {Mark::kBox, "#bbb", "baseline + released campaigns"},
      {Mark::kBox, "#f90", "this campaign"},
      {Mark::kLine, "#06c", "capacity holding the target"},
      {Mark::kLine, "#090", "predicted service level"},
      {Mark::kDashed, "#c00", absl::StrFormat("service-level target %.0f%%", 100 * target)},
      {Mark::kTick, "#333", "a batch is sent (ticks under the load)"},
  };
  if (!plan.failing.empty()) {
    items.push_back({Mark::kBox, "#fdd", "this campaign makes the interval miss its target"});
  }
  double x = ch.left;
  double y = ch.legend_top;
  for (const Item& item : items) {
    const double w = 18 + TextWidth(item.text, kLabelSize) + 18;
    if (x > ch.left && x + w > kWidth - kMargin) {
      x = ch.left;
      y += 20;
    }
    switch (item.mark) {  // in the 12×12 box at (x, y)
      case Mark::kBox:
        absl::StrAppendFormat(&svg, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, y,
                              AsAbsl(item.color));
        break;
      case Mark::kLine:
      case Mark::kDashed:
        absl::StrAppendFormat(&svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" %s/>", x,
                              y + 6, x + 12, y + 6, AsAbsl(item.color),
                              item.mark == Mark::kDashed ? "stroke-dasharray=\"4 2\"" : "stroke-width=\"2\"");
        break;
      case Mark::kTick:
        absl::StrAppendFormat(&svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>",
                              x + 6, y, x + 6, y + 12, AsAbsl(item.color));
        break;
    }
    AppendText(svg, x + 18, y + kLabelSize * 0.85, kLabelSize, "start", item.text);
    x += w;
  }
  return y + 16;
}

}  // namespace

std::string PlanSvg(const CampaignPlan& plan) {
  const Chart chart(plan);
  std::string body;
  for (size_t i = 0; i < chart.title.size(); ++i) {
    AppendText(body, kMargin, kMargin + kTitleSize + kTitleLine * static_cast<double>(i), kTitleSize, "start",
               chart.title[i]);
  }
  AppendBars(plan, chart, body);
  AppendLines(plan, chart, body);
  AppendYAxes(chart, body);
  AppendXAxis(plan, chart, body);
  const double height = std::ceil(AppendLegend(plan, chart, body) + kMargin);
  return absl::StrCat(
      absl::StrFormat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                      "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
                      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                      kWidth, height, kWidth, height),
      body, "</svg>\n");
}

}  // namespace tact::capacity
