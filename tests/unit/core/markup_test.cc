#include "daemon/core/markup.h"

#include <gtest/gtest.h>

namespace tact {
namespace {

TEST(MarkupTest, EscapesEveryCharacterThatEndsTextOrAnAttribute) {
  EXPECT_EQ(EscapeMarkup("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(EscapeMarkup("plain — text"), "plain — text");
}

TEST(MarkupTest, CountsCodePointsNotBytes) {
  EXPECT_EQ(CodePoints(""), 0u);
  EXPECT_EQ(CodePoints("abc"), 3u);
  EXPECT_EQ(CodePoints("a — b"), 5u);  // the dash is 3 bytes
  EXPECT_EQ(CodePoints("×÷≈"), 3u);
}

}  // namespace
}  // namespace tact
