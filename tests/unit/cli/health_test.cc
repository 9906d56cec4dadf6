#include "daemon/cli/health.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

struct Asked {
  std::string host;
  int port = 0;
  std::string path;
};

HttpGet Answer(absl::StatusOr<HttpReply> reply, Asked* asked) {
  return [reply, asked](const std::string& host, int port, const std::string& path, int) {
    *asked = {host, port, path};
    return reply;
  };
}

TEST(HealthTest, ReadyIsZeroNotReadyIsOne) {
  Asked asked;
  Captured c;
  EXPECT_EQ(Health({.admin = "10.0.0.1:9464"}, Answer(HttpReply{200, "ok\n"}, &asked), c.io), kExitOk);
  EXPECT_EQ(c.out.str(), "ok\n");
  EXPECT_EQ(asked.host, "10.0.0.1");
  EXPECT_EQ(asked.port, 9464);
  EXPECT_EQ(asked.path, "/readyz");
  Captured n;
  EXPECT_EQ(Health({.live = true}, Answer(HttpReply{503, "redis: down\n"}, &asked), n.io), kExitFailed);
  EXPECT_EQ(asked.path, "/healthz");
  EXPECT_EQ(n.out.str(), "redis: down\n");
}

TEST(HealthTest, UnreachableOrBadAddressIsTwo) {
  Asked asked;
  Captured c;
  EXPECT_EQ(Health({.admin = "h:1"}, Answer(absl::UnavailableError("Connection"), &asked), c.io), kExitUsage);
  EXPECT_EQ(c.err.str(), "tactctl health: h:1/readyz: Connection\n");
  for (const char* bad : {"nope", "h:0", "h:70000", "h:x"}) {
    Captured b;
    EXPECT_EQ(Health({.admin = bad}, nullptr, b.io), kExitUsage) << bad;
    EXPECT_EQ(b.err.str(), absl::StrCat("tactctl health: --admin '", bad, "' must be host:port\n"));
  }
}

}  // namespace
}  // namespace tact::cli
