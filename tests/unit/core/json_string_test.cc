#include "daemon/core/json_string.h"

#include <gtest/gtest.h>

#include "nlohmann/json.hpp"

namespace tact {
namespace {

TEST(JsonStringTest, StringsAreEscapedExactlyAsAJsonLibraryWould) {
  for (const std::string& s : {std::string("plain"), std::string("quote \" back \\ slash /"),
                              std::string("tab\tnl\ncr\rbs\bff\f"), std::string("\x01\x1f\x7f", 3),
                              std::string("nul \0 inside", 12), std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                              std::string()}) {
    std::string ours;
    AppendJsonString(s, &ours);
    EXPECT_EQ(ours, nlohmann::json(s).dump()) << s;
    EXPECT_EQ(nlohmann::json::parse(ours).get<std::string>(), s);
  }
}

TEST(JsonStringTest, WithoutReplacementAByteThatIsNotUtf8StopsTheString) {
  std::string out;
  EXPECT_FALSE(AppendJsonString("ok \xff tail", &out, /*replace_invalid=*/false));
  EXPECT_EQ(out, "\"ok ");
  out.clear();
  EXPECT_TRUE(AppendJsonString("caf\xc3\xa9", &out, /*replace_invalid=*/false));
  EXPECT_EQ(out, "\"caf\xc3\xa9\"");
}

TEST(JsonStringTest, Utf8SequenceLengthAtAnOffset) {
  const std::string s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x82";
  EXPECT_EQ(Utf8SequenceLength(s, 0), 0u);  // ASCII is not a multi-byte sequence
  EXPECT_EQ(Utf8SequenceLength(s, 1), 2u);
  EXPECT_EQ(Utf8SequenceLength(s, 3), 3u);
  EXPECT_EQ(Utf8SequenceLength(s, 6), 4u);
  EXPECT_EQ(Utf8SequenceLength(s, 10), 0u);  // truncated at the end
}

}  // namespace
}  // namespace tact
