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

// The plain run is scanned eight bytes at a time: every byte that needs escaping (and the plain ones next to them in
// value: space, DEL) at every offset of strings longer than a word, alone and after another one.
TEST(JsonStringTest, EveryByteIsEscapedAtEveryOffsetOfALongString) {
  std::vector<std::string> specials = {"\"", "\\", " ", "!", "#", "[", "]", "\x7f", "\xc3\xa9", "\xff"};
  for (int c = 0; c < 0x20; ++c) specials.push_back(std::string(1, static_cast<char>(c)));
  for (const std::string& special : specials) {
    for (size_t at = 0; at < 19; ++at) {
      for (const size_t length : {size_t{8}, size_t{19}}) {
        if (at >= length) continue;
        std::string s(length, 'a');
        s.replace(at, 1, special);
        if (at + 9 < s.size()) s.replace(at + 9, 1, special);  // a second one in a later word
        std::string ours;
        AppendJsonString(s, &ours);
        std::string library;
        try {
          library = nlohmann::json(s).dump();
        } catch (const nlohmann::json::exception&) {  // not UTF-8 (\xff): replaced by U+FFFD
          library = nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
        EXPECT_EQ(ours, library) << "byte " << static_cast<int>(static_cast<unsigned char>(special[0])) << " at " << at
                                 << " of " << length;
      }
    }
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
