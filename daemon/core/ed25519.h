#pragma once

// Ed25519 signatures through OpenSSL 3 (EVP_PKEY_ED25519, EVP_DigestSign/EVP_DigestVerify with no digest: the
// message is signed as is). Keys come as PEM (what `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout`
// write); a public key is kept as its 32 raw bytes. Used for signed policy sets (decision/policy_signature.h).
// Thread-safety: plain functions, no shared state.
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tact {

struct Ed25519PublicKey {
  std::string raw;     // the 32 bytes of the key
  std::string id;      // Ed25519KeyId(raw)
  std::string source;  // where it was read ("<file>"), for messages
};

// The key id: the first 16 hex digits of sha256 over the 32 raw public key bytes.
std::string Ed25519KeyId(std::string_view raw_public_key);

// Every PEM public key ("-----BEGIN PUBLIC KEY-----") in `pem`, in order. INVALID_ARGUMENT "<source>: ..." when
// there is none, a block cannot be parsed, or a key is not ed25519.
absl::StatusOr<std::vector<Ed25519PublicKey>> ParseEd25519PublicKeys(std::string_view pem, const std::string& source);

// The public key of a PEM private key (PKCS#8, "-----BEGIN PRIVATE KEY-----"). INVALID_ARGUMENT "<source>: ..."
// when it cannot be parsed or is not ed25519.
absl::StatusOr<Ed25519PublicKey> Ed25519PublicKeyOf(std::string_view private_pem, const std::string& source);

// The 64-byte signature of `message` by the PEM private key.
absl::StatusOr<std::string> Ed25519Sign(std::string_view private_pem, const std::string& source,
                                        std::string_view message);

// Whether `signature` is a valid signature of `message` by `raw_public_key`.
bool Ed25519Verify(std::string_view raw_public_key, std::string_view message, std::string_view signature);

// A fresh key pair as PEM (private PKCS#8, public SubjectPublicKeyInfo): for tests, which make their keys at run
// time rather than keep a private key in the repository.
struct Ed25519PemPair {
  std::string private_pem;
  std::string public_pem;
};
absl::StatusOr<Ed25519PemPair> GenerateEd25519KeyPair();

}  // namespace tact
