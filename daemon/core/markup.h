#pragma once

// Text for HTML and SVG documents. Pure.
#include <string>
#include <string_view>

namespace tact {

// `s` with & < > " ' as entities: safe as element text and as a quoted attribute value.
std::string EscapeMarkup(std::string_view s);

// The number of characters (UTF-8 code points) in `s`: what a text's drawn width is estimated from.
size_t CodePoints(std::string_view s);

}  // namespace tact
