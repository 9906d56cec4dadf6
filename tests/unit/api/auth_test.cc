#include "daemon/api/auth.h"

#include <gtest/gtest.h>

#include "daemon/core/sha256.h"

namespace tact::api {
namespace {

const std::string kHash = Sha256Hex("secret-token");

TEST(ParseClientsTest, ValidFile) {
  auto clients = ParseClients("c.yaml", "clients:\n  - name: crm\n    token_sha256: " + kHash +
                                            "\n    tenants: [acme, beta]\n    rate_per_second: 10\n    burst: 20\n");
  ASSERT_TRUE(clients.ok()) << clients.status();
  ASSERT_EQ(clients->size(), 1u);
  EXPECT_TRUE((*clients)[0].MayActFor("beta"));
  EXPECT_FALSE((*clients)[0].MayActFor("gamma"));
}

TEST(ParseClientsTest, ErrorsNameFileLineAndWhat) {
  EXPECT_EQ(ParseClients("c.yaml", "clients:\n  - name: crm\n    token: abc\n").status().message(),
            "c.yaml:3:5: unknown key 'token' (expected one of: name, token_sha256, tenants, rate_per_second, burst)");
  EXPECT_EQ(ParseClients("c.yaml", "clients:\n  - name: crm\n    token_sha256: abc\n").status().message(),
            "c.yaml:3:19: token_sha256 must be 64 hex digits (sha256 of the token)");
  EXPECT_EQ(ParseClients("c.yaml", "clients:\n  - name: crm\n    tenants: [a]\n").status().message(),
            "c.yaml:2:5: a client needs name, token_sha256 and tenants");
  const std::string dup = "clients:\n  - {name: a, token_sha256: " + kHash + ", tenants: [x]}\n  - {name: b, token_sha256: " +
                          kHash + ", tenants: [x]}\n";
  EXPECT_EQ(ParseClients("c.yaml", dup).status().message(), "c.yaml:3:5: client 'b' reuses another client's token");
  EXPECT_EQ(ParseClients("c.yaml", "users: []\n").status().message(), "c.yaml:1:1: expected a 'clients' list");
  // A tenant outside the tenant charset (core/event.h) could never be called for; "acme:X" once named another
  // tenant's customers in Redis.
  EXPECT_EQ(ParseClients("c.yaml", "clients:\n  - name: crm\n    token_sha256: " + kHash +
                                       "\n    tenants: [acme, 'acme:X']\n").status().message(),
            "c.yaml:4:21: a tenant is \"*\" or 1..256 of letters, digits, '.', '_' and '-'");
}

TEST(AuthenticatorTest, BearerTokensAndTokenBucket) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  Authenticator auth({Client{.name = "crm", .token_sha256 = kHash, .tenants = {"*"}, .rate_per_second = 2, .burst = 2}},
                     clock);
  EXPECT_TRUE(absl::IsUnauthenticated(auth.Authenticate("").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(auth.Authenticate("Basic x").status()));
  EXPECT_TRUE(absl::IsUnauthenticated(auth.Authenticate("Bearer wrong").status()));
  absl::StatusOr<const Client*> c = auth.Authenticate("Bearer secret-token");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(auth.TakeQuota(**c).ok());
  EXPECT_TRUE(auth.TakeQuota(**c).ok());
  absl::Duration retry;
  absl::Status s = auth.TakeQuota(**c, 1, &retry);
  EXPECT_TRUE(absl::IsResourceExhausted(s));
  EXPECT_EQ(retry, absl::Milliseconds(500));
  clock.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(auth.TakeQuota(**c).ok());
}

}  // namespace
}  // namespace tact::api
