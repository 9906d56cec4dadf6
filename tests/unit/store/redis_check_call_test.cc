// check.lua's reply as RedisCounterStore reads it (redis_check_call.h), from Redis' wire text.
#include "daemon/store/redis_check_call.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>

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

}  // namespace
}  // namespace tact::store
