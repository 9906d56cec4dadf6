#pragma once

#include <gtest/gtest.h>
#include <hiredis/read.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"

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

// One command on `conn`; the reply as text: integers in decimal, nil as "nil", an array as its elements joined by
// `separator`, status, error and string replies as they are, "io error" when the connection failed.
inline std::string RedisText(redisContext* conn, const std::vector<std::string>& args,
                             std::string_view separator = " ") {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  store::RedisReplyPtr r(static_cast<redisReply*>(
      redisCommandArgv(conn, static_cast<int>(argv.size()), argv.data(), lens.data())));
  if (r == nullptr) return "io error";
  switch (r->type) {
    case REDIS_REPLY_INTEGER: return absl::StrCat(r->integer);
    case REDIS_REPLY_NIL: return "nil";
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (size_t i = 0; i < r->elements; ++i) {
        absl::StrAppend(&out, i == 0 ? "" : std::string(separator),
                        absl::string_view(r->element[i]->str, r->element[i]->len));
      }
      return out;
    }
    default: return std::string(r->str, r->len);
  }
}

}  // namespace tact::testing
