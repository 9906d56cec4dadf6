#pragma once

#include <gtest/gtest.h>
#include <hiredis/read.h>

#include <memory>
#include <string_view>

#include "daemon/store/redis_connection.h"

namespace tact::testing {

// A reply parsed by hiredis' reader from Redis' wire text ("*1\r\n:0\r\n"); a failed parse is reported.
inline store::RedisReplyPtr ReplyFromWire(std::string_view wire) {
  std::unique_ptr<redisReader, void (*)(redisReader*)> reader(redisReaderCreate(), redisReaderFree);
  redisReaderFeed(reader.get(), wire.data(), wire.size());
  void* raw = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader.get(), &raw), REDIS_OK);
  EXPECT_NE(raw, nullptr);
  return store::RedisReplyPtr(static_cast<redisReply*>(raw));
}

}  // namespace tact::testing
