// tactctl policy sign / verify: exit codes and messages; sign refuses a set that fails its tests unless --force.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "daemon/cli/policy_verbs.h"
#include "daemon/core/ed25519.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kFailingTest[] = R"(tests:
  - name: a second promotion the same day is released
    steps:
      - at: 2026-11-20T09:00:00Z
        send: { channel: EMAIL, class: PROMOTION }
        expect: RELEASE
      - at: 2026-11-20T10:00:00Z
        send: { channel: EMAIL, class: PROMOTION }
        expect: RELEASE
)";

struct Keyed {
  ScratchDir dir;
  Ed25519PemPair pair = GenerateEd25519KeyPair().value_or(Ed25519PemPair{});
  std::string private_key = dir.Write("keys/signer.pem", pair.private_pem);
  std::string public_key = dir.Write("trusted/signer.pem", pair.public_pem);
  std::string policies = dir.Write("p/p.yaml", testing::kSmallPolicy).substr(0, dir.path().size() + 2);
};

TEST(PolicySignTest, SignThenVerify) {
  Keyed k;
  Captured unsigned_set;
  EXPECT_EQ(PolicyVerify({.dir = k.policies, .trusted_keys = k.public_key}, unsigned_set.io), kExitFailed);
  EXPECT_THAT(unsigned_set.err.str(), StartsWith(k.policies + "/SIGNATURE: missing"));

  Captured s;
  ASSERT_EQ(PolicySign({.dir = k.policies, .key = k.private_key}, s.io), kExitOk) << s.err.str();
  EXPECT_THAT(s.out.str(), StartsWith(k.policies + ": signed by key "));
  Captured v;
  EXPECT_EQ(PolicyVerify({.dir = k.policies, .trusted_keys = k.dir.path() + "/trusted"}, v.io), kExitOk)
      << v.err.str();
  EXPECT_THAT(v.out.str(), StartsWith(k.policies + ": ok, signed by trusted key "));

  k.dir.Write("p/p.yaml", absl::StrCat(testing::kSmallPolicy, "# edited\n"));
  Captured tampered;
  EXPECT_EQ(PolicyVerify({.dir = k.policies, .trusted_keys = k.public_key}, tampered.io), kExitFailed);
  EXPECT_THAT(tampered.err.str(), HasSubstr("does not verify: the files changed after signing"));

  Captured no_keys;
  EXPECT_EQ(PolicyVerify({.dir = k.policies, .trusted_keys = k.dir.path() + "/nope.pem"}, no_keys.io), kExitUsage);
}

TEST(PolicySignTest, RefusesASetWhoseTestsFailUnlessForced) {
  Keyed k;
  k.dir.Write("p/tests/t.yaml", kFailingTest);
  Captured refused;
  EXPECT_EQ(PolicySign({.dir = k.policies, .key = k.private_key}, refused.io), kExitFailed);
  EXPECT_THAT(refused.err.str(), HasSubstr("policy test 'a second promotion the same day is released' fails"));
  EXPECT_FALSE(ReadText(k.policies + "/SIGNATURE").ok());

  Captured forced;
  EXPECT_EQ(PolicySign({.dir = k.policies, .key = k.private_key, .force = true}, forced.io), kExitOk);
  EXPECT_TRUE(ReadText(k.policies + "/SIGNATURE").ok());

  Captured bad_key;
  EXPECT_EQ(PolicySign({.dir = k.policies, .key = k.public_key, .force = true}, bad_key.io), kExitUsage);
  EXPECT_THAT(bad_key.err.str(), HasSubstr("not a PEM private key"));
}

}  // namespace
}  // namespace tact::cli
