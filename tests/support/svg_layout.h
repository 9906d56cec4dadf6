#pragma once

// Checks an SVG's text layout without rendering it: each <text> element's box is estimated from its x, y,
// font-size (the element's, else the root's, else 16), text-anchor and a conservative width per character
// (`char_em` × font size per code point, entities counted as one character); the box spans from y − font size
// (ascent) to y + 0.3 × font size (descent). Problems: two text boxes that intersect, a text box that
// intersects a <rect class="plot"> (the drawing's plot areas), a text box that leaves the canvas (the root's
// width × height). Header-only: the unit tests and the integration tests both use it.
#include <algorithm>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tact::testing {

struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool Intersects(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
  bool Inside(const Box& o) const { return x0 >= o.x0 && x1 <= o.x1 && y0 >= o.y0 && y1 <= o.y1; }
};

struct SvgText {
  std::string text;  // with entities decoded
  double font_size = 0;
  Box box;
};

struct SvgLayout {
  double width = 0;
  double height = 0;
  std::vector<SvgText> texts;
  std::vector<Box> plots;
};

namespace svg_internal {

inline std::optional<double> Attr(const std::string& tag, const std::string& name) {
  const std::regex re("\\s" + name + "=\"([^\"]*)\"");
  std::smatch m;
  double v = 0;
  if (!std::regex_search(tag, m, re) || !absl::SimpleAtod(m[1].str(), &v)) return std::nullopt;
  return v;
}

inline std::string StrAttr(const std::string& tag, const std::string& name) {
  const std::regex re("\\s" + name + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(tag, m, re) ? m[1].str() : "";
}

inline size_t Chars(const std::string& s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;
    if (c == '&') {
      const size_t semi = s.find(';', i);
      if (semi != std::string::npos && semi - i <= 8) i = semi;
    }
    ++n;
  }
  return n;
}

inline std::string Decode(std::string s) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}}) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  }
  return s;
}

}  // namespace svg_internal

inline SvgLayout ParseSvgLayout(const std::string& svg, double char_em) {
  using svg_internal::Attr;
  SvgLayout out;
  std::smatch root;
  const std::regex root_re("<svg[^>]*>");
  double root_size = 16;
  if (std::regex_search(svg, root, root_re)) {
    out.width = Attr(root[0].str(), "width").value_or(0);
    out.height = Attr(root[0].str(), "height").value_or(0);
    root_size = Attr(root[0].str(), "font-size").value_or(16);
  }
  const std::regex text_re("<text([^>]*)>([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), text_re); it != std::sregex_iterator(); ++it) {
    const std::string tag = " " + (*it)[1].str();
    const std::string raw = (*it)[2].str();
    const double size = Attr(tag, "font-size").value_or(root_size);
    const double x = Attr(tag, "x").value_or(0);
    const double y = Attr(tag, "y").value_or(0);
    const double w = static_cast<double>(svg_internal::Chars(raw)) * char_em * size;
    const std::string anchor = svg_internal::StrAttr(tag, "text-anchor");
    const double x0 = anchor == "middle" ? x - w / 2 : anchor == "end" ? x - w : x;
    out.texts.push_back({svg_internal::Decode(raw), size, Box{x0, y - size, x0 + w, y + 0.3 * size}});
  }
  const std::regex rect_re("<rect([^>]*)>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), rect_re); it != std::sregex_iterator(); ++it) {
    const std::string tag = " " + (*it)[1].str();
    if (svg_internal::StrAttr(tag, "class") != "plot") continue;
    const double x = Attr(tag, "x").value_or(0);
    const double y = Attr(tag, "y").value_or(0);
    out.plots.push_back(Box{x, y, x + Attr(tag, "width").value_or(0), y + Attr(tag, "height").value_or(0)});
  }
  return out;
}

// Every layout problem, one line each ("overlap: 'a' and 'b'", "in plot: 'a'", "off canvas: 'a'").
inline std::vector<std::string> SvgLayoutProblems(const std::string& svg, double char_em) {
  const SvgLayout l = ParseSvgLayout(svg, char_em);
  std::vector<std::string> problems;
  const Box canvas{0, 0, l.width, l.height};
  for (size_t i = 0; i < l.texts.size(); ++i) {
    const SvgText& t = l.texts[i];
    if (!t.box.Inside(canvas)) problems.push_back(absl::StrCat("off canvas: '", t.text, "'"));
    for (const Box& p : l.plots) {
      if (t.box.Intersects(p)) problems.push_back(absl::StrCat("in plot: '", t.text, "'"));
    }
    for (size_t j = i + 1; j < l.texts.size(); ++j) {
      if (t.box.Intersects(l.texts[j].box)) {
        problems.push_back(absl::StrCat("overlap: '", t.text, "' and '", l.texts[j].text, "'"));
      }
    }
  }
  return problems;
}

}  // namespace tact::testing
