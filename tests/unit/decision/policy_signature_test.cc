// Signed policy sets: the canonical digest (what it covers, that it does not depend on where the directory is),
// sign/verify round trips and every refusal reason (missing, tampered, wrong key, untrusted key).
#include "daemon/decision/policy_signature.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "daemon/core/sha256.h"
#include "daemon/decision/policy_files.h"
#include "tests/unit/cli/cli_test_helpers.h"

namespace tact::decision {
namespace {

using cli::testing::ScratchDir;
using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(version: "s.1"
rules:
  - id: promo-daily
    description: one a day
    match: { message_class: PROMOTION }
    limit: { count: 1, window: 1d }
)";
constexpr char kTest[] = R"(tests:
  - name: one promotion is released
    steps:
      - at: 2026-11-20T09:00:00Z
        send: { channel: EMAIL, class: PROMOTION }
        expect: RELEASE
)";

Ed25519PemPair NewKey() {
  absl::StatusOr<Ed25519PemPair> k = GenerateEd25519KeyPair();
  EXPECT_TRUE(k.ok()) << k.status();
  return k.value_or(Ed25519PemPair{});
}

std::vector<Ed25519PublicKey> Keys(const Ed25519PemPair& k) {
  return ParseEd25519PublicKeys(k.public_pem, "pub.pem").value_or(std::vector<Ed25519PublicKey>{});
}

// A policy set in <scratch>/<name>: one policy file and one test file.
std::string MakeSet(const ScratchDir& scratch, const std::string& name) {
  scratch.Write(name + "/care.yaml", kPolicy);
  scratch.Write(name + "/tests/t.yaml", kTest);
  return scratch.path() + "/" + name;
}

TEST(CanonicalDigestTest, IsTheSha256OfASha256sumManifestSortedByPath) {
  ScratchDir scratch;
  const std::string dir = MakeSet(scratch, "p");
  scratch.Write("p/a.yml", "version: x\n");
  scratch.Write("p/tests/data/state.json", "{}");
  scratch.Write("p/README.md", "not a policy file");
  scratch.Write("p/.care.yaml.swp", "editor");
  scratch.Write("p/tests/.hidden", "editor");
  const std::string manifest = absl::StrCat(Sha256Hex("version: x\n"), "  a.yml\n", Sha256Hex(kPolicy),
                                            "  care.yaml\n", Sha256Hex("{}"), "  tests/data/state.json\n",
                                            Sha256Hex(kTest), "  tests/t.yaml\n");
  absl::StatusOr<std::vector<CanonicalFile>> files = ReadCanonicalFiles(dir);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(CanonicalManifest(*files), manifest);
  EXPECT_EQ(*PolicyCanonicalDigest(dir), Sha256Hex(manifest));
  EXPECT_EQ(SignedMessage("ab"), "tact-policy-v1 sha256:ab");
}

TEST(CanonicalDigestTest, StableAcrossPathsChangesWithAnyPolicyOrTestFileIgnoresTheSignature) {
  ScratchDir a;
  ScratchDir b;
  const std::string here = MakeSet(a, "one");
  const std::string there = MakeSet(b, "deeper/two");
  const std::string digest = *PolicyCanonicalDigest(here);
  EXPECT_EQ(*PolicyCanonicalDigest(there), digest);

  a.Write("one/SIGNATURE", "ed25519 0123456789abcdef AAAA\n");
  EXPECT_EQ(*PolicyCanonicalDigest(here), digest);

  b.Write("deeper/two/tests/t.yaml", absl::StrCat(kTest, "# a comment is a change\n"));
  EXPECT_NE(*PolicyCanonicalDigest(there), digest);
  b.Write("deeper/two/tests/t.yaml", kTest);
  EXPECT_EQ(*PolicyCanonicalDigest(there), digest);
  b.Write("deeper/two/care.yaml", absl::StrCat(kPolicy, "\n"));
  EXPECT_NE(*PolicyCanonicalDigest(there), digest);
  b.Write("deeper/two/care.yaml", kPolicy);
  b.Write("deeper/two/extra.yaml", "");  // a new (empty) policy file is a change too
  EXPECT_NE(*PolicyCanonicalDigest(there), digest);
}

TEST(PolicySignatureTest, SignThenVerifyRoundTrip) {
  ScratchDir scratch;
  const std::string dir = MakeSet(scratch, "p");
  const Ed25519PemPair key = NewKey();
  absl::StatusOr<SignatureCheck> made = SignPolicyDir(dir, key.private_pem, "signer.pem");
  ASSERT_TRUE(made.ok()) << made.status();
  const std::vector<Ed25519PublicKey> trusted = Keys(key);
  ASSERT_EQ(trusted.size(), 1u);
  EXPECT_EQ(made->key_id, trusted[0].id);
  EXPECT_EQ(made->key_id, Sha256Hex(trusted[0].raw).substr(0, 16));

  absl::StatusOr<SignatureCheck> ok = VerifyPolicySignature(dir, trusted);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->key_id, made->key_id);
  EXPECT_EQ(ok->canonical_digest, *PolicyCanonicalDigest(dir));
  EXPECT_EQ(ok->policy_digest, LoadPolicyDir(dir)->digest);  // the parser's formula, for the reloader's check

  // The line is "ed25519 <id> <base64>" over exactly SignedMessage(digest).
  const std::string line = cli::ReadText(dir + "/SIGNATURE").value_or("");
  ASSERT_EQ(line.substr(0, 25), absl::StrCat("ed25519 ", made->key_id, " "));
  std::string sig;
  ASSERT_TRUE(absl::Base64Unescape(line.substr(25, line.size() - 26), &sig));
  EXPECT_TRUE(Ed25519Verify(trusted[0].raw, SignedMessage(ok->canonical_digest), sig));

  // A second signer adds a line; re-signing by the first replaces its own.
  const Ed25519PemPair second = NewKey();
  ASSERT_TRUE(SignPolicyDir(dir, second.private_pem, "second.pem").ok());
  ASSERT_TRUE(SignPolicyDir(dir, key.private_pem, "signer.pem").ok());
  const std::string two = cli::ReadText(dir + "/SIGNATURE").value_or("");
  EXPECT_EQ(std::count(two.begin(), two.end(), '\n'), 2) << two;
  EXPECT_TRUE(VerifyPolicySignature(dir, Keys(second)).ok());
  EXPECT_TRUE(VerifyPolicySignature(dir, trusted).ok());
}

TEST(PolicySignatureTest, MissingSignatureIsRefused) {
  ScratchDir scratch;
  const std::string dir = MakeSet(scratch, "p");
  absl::StatusOr<SignatureCheck> s = VerifyPolicySignature(dir, Keys(NewKey()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.status().message()),
              ::testing::StartsWith(dir + "/SIGNATURE: missing: only a signed policy set is activated"));
  scratch.Write("p/SIGNATURE", "# nobody signed\n");
  EXPECT_THAT(std::string(VerifyPolicySignature(dir, Keys(NewKey())).status().message()),
              ::testing::StartsWith(dir + "/SIGNATURE: no signature lines"));
  scratch.Write("p/SIGNATURE", "ed25519 nothex\n");
  EXPECT_THAT(std::string(VerifyPolicySignature(dir, Keys(NewKey())).status().message()),
              ::testing::StartsWith(dir + "/SIGNATURE:1: expected 'ed25519 <key id"));
}

TEST(PolicySignatureTest, TamperedPolicyOrTestFileDoesNotVerify) {
  for (const std::string file : {"care.yaml", "tests/t.yaml"}) {
    SCOPED_TRACE(file);
    ScratchDir scratch;
    const std::string dir = MakeSet(scratch, "p");
    const Ed25519PemPair key = NewKey();
    const SignatureCheck made = *SignPolicyDir(dir, key.private_pem, "signer.pem");
    scratch.Write("p/" + file, "# changed after signing\n");
    absl::StatusOr<SignatureCheck> s = VerifyPolicySignature(dir, Keys(key));
    ASSERT_FALSE(s.ok());
    EXPECT_THAT(std::string(s.status().message()),
                HasSubstr(absl::StrCat(dir, "/SIGNATURE:1: signature by key ", made.key_id,
                                       " does not verify: the files changed after signing")));
  }
}

TEST(PolicySignatureTest, WrongKeyAndUntrustedKeyAreRefused) {
  ScratchDir scratch;
  const std::string dir = MakeSet(scratch, "p");
  const Ed25519PemPair trusted = NewKey();
  const Ed25519PemPair other = NewKey();
  const SignatureCheck by_other = *SignPolicyDir(dir, other.private_pem, "other.pem");
  absl::StatusOr<SignatureCheck> s = VerifyPolicySignature(dir, Keys(trusted));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.status().message()),
            absl::StrCat(dir, "/SIGNATURE:1: signed by ", by_other.key_id, ", which is not in policies.trusted_keys"));

  // The other key's signature put under the trusted key's id: does not verify.
  const std::string id = Keys(trusted)[0].id;
  const std::string line = cli::ReadText(dir + "/SIGNATURE").value_or("");
  scratch.Write("p/SIGNATURE", absl::StrCat("ed25519 ", id, line.substr(24)));
  s = VerifyPolicySignature(dir, Keys(trusted));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(absl::StrCat("signature by key ", id, " does not verify")));
}

TEST(TrustedKeysTest, AFileOfKeysOrADirectoryOfPemFiles) {
  ScratchDir scratch;
  const Ed25519PemPair a = NewKey();
  const Ed25519PemPair b = NewKey();
  const std::string both = scratch.Write("both.pem", a.public_pem + b.public_pem);
  absl::StatusOr<std::vector<Ed25519PublicKey>> keys = LoadTrustedKeys(both);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1].id, Keys(b)[0].id);

  scratch.Write("dir/a.pem", a.public_pem);
  scratch.Write("dir/b.pem", b.public_pem);
  scratch.Write("dir/README", "not a key");
  keys = LoadTrustedKeys(scratch.path() + "/dir");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 2u);

  const std::string priv = scratch.Write("private.pem", a.private_pem);
  EXPECT_EQ(std::string(LoadTrustedKeys(priv).status().message()),
            priv + ": no PEM public key (-----BEGIN PUBLIC KEY-----) in it");
  EXPECT_EQ(std::string(LoadTrustedKeys(scratch.path() + "/none.pem").status().message()),
            scratch.path() + "/none.pem: cannot read: No such file or directory");
}

}  // namespace
}  // namespace tact::decision
