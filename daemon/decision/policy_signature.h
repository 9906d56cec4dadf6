#pragma once

// Signed policy sets (policies/README.md "Signed policies"). A policy directory's canonical digest covers every
// file that decides or gates a load: the policy files (*.yaml, *.yml directly in <dir>) and every file under
// <dir>/tests/ (the tests travel with the policy); hidden entries and <dir>/SIGNATURE are not part of it. The
// manifest is one line "<sha256 hex of the content>  <relative path>\n" per file, sorted by relative path
// (bytewise), exactly what `sha256sum` prints; the canonical digest is the sha256 hex of the manifest, so it does
// not depend on where the directory is. A signer signs the ASCII bytes SignedMessage(digest) with ed25519 and
// adds the line "ed25519 <key id> <base64 signature>" to <dir>/SIGNATURE (several signers: several lines).
// tactd, with policies.trusted_keys set, activates a set only with a valid signature by a trusted key.
// Thread-safety: plain functions over the file system, no shared state.
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/core/ed25519.h"

namespace tact::decision {

inline constexpr char kPolicySignatureFile[] = "SIGNATURE";

// One file of the canonical set: its path relative to the policy directory ('/'-separated) and its content.
struct CanonicalFile {
  std::string name;
  std::string text;
};

// The canonical set of `dir`, sorted by name. FAILED_PRECONDITION naming the path when an entry cannot be read,
// is not a regular file (or a symbolic link to one), or has a newline or backslash in its name (sha256sum would
// escape it, so an auditor could not recompute the digest).
absl::StatusOr<std::vector<CanonicalFile>> ReadCanonicalFiles(const std::string& dir);
// The manifest and its sha256 (pure).
std::string CanonicalManifest(const std::vector<CanonicalFile>& files);
std::string CanonicalDigest(const std::vector<CanonicalFile>& files);
// ReadCanonicalFiles + CanonicalDigest.
absl::StatusOr<std::string> PolicyCanonicalDigest(const std::string& dir);
// What is signed: "tact-policy-v1 sha256:<canonical digest>" (ASCII, no newline).
std::string SignedMessage(const std::string& canonical_digest);

// The public keys of policies.trusted_keys: a PEM file (one or more keys), or a directory whose *.pem files are
// read (hidden entries skipped). Read at every load, so a key added or removed counts from the next reload.
absl::StatusOr<std::vector<Ed25519PublicKey>> LoadTrustedKeys(const std::string& path);

struct SignatureCheck {
  std::string canonical_digest;
  std::string policy_digest;  // policy::Policy::digest of the signed policy files (the parser's formula)
  std::string key_id;         // the trusted key whose signature verified
  std::string key_source;     // the file it came from
};

// Whether <dir>/SIGNATURE has a valid signature by one of `trusted` over the directory's canonical digest.
// FAILED_PRECONDITION with the reason otherwise: "<dir>/SIGNATURE: missing ...", and per line
// "<dir>/SIGNATURE:<n>: signed by <id>, which is not in policies.trusted_keys" or
// "<dir>/SIGNATURE:<n>: signature by key <id> does not verify: the files changed after signing ...".
absl::StatusOr<SignatureCheck> VerifyPolicySignature(const std::string& dir,
                                                     const std::vector<Ed25519PublicKey>& trusted);

// Signs the canonical digest of `dir` with the PEM private key (read from `key_source`, for messages) and writes
// <dir>/SIGNATURE: the new line replaces an earlier one by the same key, other signers' lines are kept.
absl::StatusOr<SignatureCheck> SignPolicyDir(const std::string& dir, const std::string& private_pem,
                                             const std::string& key_source);

}  // namespace tact::decision
