// check.lua's reply as RedisCounterStore reads it (redis_check_call.h), from Redis' wire text.
#include "daemon/store/redis_check_call.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tact::store {
namespace {

RedisReplyPtr Reply(std::string_view wire) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
  redisReaderFeed(reader.get(), wire.data(), wire.size());
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
  EXPECT_NE(raw, nullptr);
  return RedisReplyPtr(static_cast<redisReply*>(raw));
}

// A customer without signal fields: the script sends -2 for the spec's two signal checks and no pair for them.
TEST(RedisCheckCallTest, ANegativeSignalCountIsThatManyChecksNotHolding) {
  const RedisReplyPtr r = Reply("*1\r\n*5\r\n:0\r\n:1\r\n:-2\r\n:3\r\n:1700000000000\r\n");
  absl::StatusOr<std::vector<CheckResult>> got = ParseCallReply(*r, 1);
  ASSERT_TRUE(got.ok()) << got.status();
  const StoreOutcome& o = got->front().outcome;
  EXPECT_TRUE(o.reserved);
  ASSERT_EQ(o.signals.size(), 2u);
  for (const SignalResult& s : o.signals) {
    EXPECT_FALSE(s.hit);
    EXPECT_EQ(s.until, absl::InfiniteFuture());
  }
  ASSERT_EQ(o.usage.size(), 1u);
  EXPECT_EQ(o.usage[0].used, 3);
  EXPECT_EQ(o.usage[0].frees_at, absl::FromUnixMillis(1700000000000));
}

TEST(RedisCheckCallTest, SignalPairsAreReadWhenSent) {
  const RedisReplyPtr r = Reply("*1\r\n*7\r\n:0\r\n:0\r\n:1\r\n:1\r\n:-1\r\n:0\r\n:0\r\n");
  absl::StatusOr<std::vector<CheckResult>> got = ParseCallReply(*r, 1);
  ASSERT_TRUE(got.ok()) << got.status();
  const StoreOutcome& o = got->front().outcome;
  EXPECT_FALSE(o.reserved);
  ASSERT_EQ(o.signals.size(), 1u);
  EXPECT_TRUE(o.signals[0].hit);
  EXPECT_EQ(o.signals[0].until, absl::InfiniteFuture());
  ASSERT_EQ(o.usage.size(), 1u);
  EXPECT_EQ(o.usage[0].frees_at, absl::InfinitePast());
  // A pair short: malformed.
  EXPECT_FALSE(ParseCallReply(*Reply("*1\r\n*4\r\n:0\r\n:0\r\n:1\r\n:1\r\n"), 1).ok());
}

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The checks of one call that carry the same decision marker (a campaign's, mostly) send it once: every byte of
// an argument costs Redis' Lua.
TEST(RedisCheckCallTest, ADecisionMarkerTheChecksShareIsSentOnce) {
  std::vector<CustomerCheck> checks;
  for (const char* marker : {"marker-of-campaign-a", "marker-of-campaign-a", "marker-of-campaign-b"}) {
    checks.push_back({.tenant = "t", .customer_id = absl::StrCat("c", checks.size()),
                      .event_id = absl::StrCat("e", checks.size()), .now = absl::FromUnixSeconds(1),
                      .marker = marker});
  }
  const std::string wire = BuildCall("sha", checks, absl::Hours(1), KeySchema(), false).wire;
  EXPECT_EQ(Count(wire, "marker-of-campaign-a"), 1u);
  EXPECT_EQ(Count(wire, "marker-of-campaign-b"), 1u);
}

}  // namespace
}  // namespace tact::store
