#include "daemon/decision/policy_signature.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "daemon/core/sha256.h"
#include "daemon/core/status_macros.h"
#include "daemon/core/strings.h"
#include "daemon/decision/policy_files.h"

namespace tact::decision {
namespace {

namespace fs = std::filesystem;

// Larger files are refused rather than read whole (a policy file is at most policy::kMaxPolicyFileBytes).
constexpr size_t kMaxSignedFileBytes = 16 << 20;
constexpr size_t kMaxSignatureFileBytes = 64 << 10;
constexpr char kHowToSign[] = "tactctl policy sign; policies/README.md \"Signed policies\"";

absl::Status Problem(const std::string& path, const std::string& what) {
  return absl::FailedPreconditionError(absl::StrCat(path, ": ", what));
}

absl::StatusOr<std::string> ReadWhole(const std::string& path, size_t limit) {
  TACT_ASSIGN_OR_RETURN(std::string text, ReadFilePrefix(path, limit + 1));
  if (text.size() > limit) return Problem(path, absl::StrCat("larger than ", limit, " bytes"));
  return text;
}

absl::Status CheckName(const std::string& path, const std::string& name) {
  if (name.find_first_of("\n\\") != std::string::npos) {
    return Problem(path, "a newline or backslash in the name: rename it (the canonical digest lists names as "
                         "sha256sum prints them)");
  }
  return absl::OkStatus();
}

// Every non-hidden regular file under <dir>/tests (recursively), as "tests/<relative path>".
absl::Status AddTestFiles(const std::string& dir, std::vector<CanonicalFile>& files) {
  const std::string tests = PolicyTestsDir(dir);
  TACT_ASSIGN_OR_RETURN(const bool has_tests, OptionalDirectory(tests));
  if (!has_tests) return absl::OkStatus();
  std::error_code ec;
  fs::recursive_directory_iterator it(tests, ec);
  for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string path = p.string();
    if (p.filename().string().starts_with('.')) {  // editor lock files, ConfigMap bookkeeping
      it.disable_recursion_pending();
      continue;
    }
    std::error_code st_ec;
    const fs::file_status st = fs::status(p, st_ec);  // follows symlinks
    if (st_ec) return Problem(path, absl::StrCat("cannot be read: ", st_ec.message()));
    if (st.type() == fs::file_type::directory) {
      if (fs::is_symlink(fs::symlink_status(p, st_ec))) {
        return Problem(path, "a symbolic link to a directory: signed test files must be files in tests/");
      }
      continue;  // descended into by the iterator
    }
    if (st.type() != fs::file_type::regular) return Problem(path, "is not a regular file");
    std::string name = absl::StrCat("tests/", fs::relative(p, tests, st_ec).generic_string());
    TACT_RETURN_IF_ERROR(CheckName(path, name));
    TACT_ASSIGN_OR_RETURN(std::string text, ReadWhole(path, kMaxSignedFileBytes));
    files.push_back({std::move(name), std::move(text)});
  }
  if (ec) return Problem(tests, absl::StrCat("cannot be listed: ", ec.message()));
  return absl::OkStatus();
}

// The parser's digest (policy::Policy::digest, daemon/policy/parse.cc) of the top-level policy files of `files`.
std::string PolicyDigestOf(const std::vector<CanonicalFile>& files) {
  std::string input;
  for (const CanonicalFile& f : files) {
    if (f.name.find('/') != std::string::npos) continue;
    absl::StrAppend(&input, f.name, "\n", f.text.size(), "\n", f.text);
  }
  return Sha256Hex(input);
}

std::string SignaturePath(const std::string& dir) { return (fs::path(dir) / kPolicySignatureFile).string(); }

struct SignatureLine {
  int line = 0;
  std::string key_id;
  std::string signature;  // raw bytes
  std::string text;       // the line as written
};

// The signature lines of the SIGNATURE file at `path` (comments and blank lines skipped); none, with `exists`
// false, when there is no such file. FAILED_PRECONDITION "<path>:<line>: expected ..." for a malformed line.
absl::StatusOr<std::vector<SignatureLine>> ReadSignatureFile(const std::string& path, bool& exists) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(path, ec);
  exists = st.type() != fs::file_type::not_found;
  if (!exists) return std::vector<SignatureLine>{};
  TACT_ASSIGN_OR_RETURN(const std::string text, ReadWhole(path, kMaxSignatureFileBytes));
  std::vector<SignatureLine> lines;
  int n = 0;
  for (absl::string_view raw : absl::StrSplit(AsAbsl(text), '\n')) {
    ++n;
    const absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    const std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    SignatureLine s{.line = n, .text = std::string(line)};
    if (f.size() != 3 || f[0] != "ed25519" || f[1].size() != 16 || !absl::Base64Unescape(f[2], &s.signature) ||
        s.signature.size() != 64) {
      return Problem(absl::StrCat(path, ":", n),
                     "expected 'ed25519 <key id: 16 hex digits> <base64 of the 64-byte signature>'");
    }
    s.key_id = std::string(f[1]);
    lines.push_back(std::move(s));
  }
  return lines;
}

absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = (fs::path(path).parent_path() / ".SIGNATURE.tmp").string();
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return Problem(tmp, "cannot be written");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Problem(path, absl::StrCat("cannot be written: ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<CanonicalFile>> ReadCanonicalFiles(const std::string& dir) {
  TACT_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListYamlFiles(dir));
  std::vector<CanonicalFile> files;
  for (const std::string& path : paths) {
    std::string name = fs::path(path).filename().string();
    TACT_RETURN_IF_ERROR(CheckName(path, name));
    TACT_ASSIGN_OR_RETURN(std::string text, ReadWhole(path, kMaxSignedFileBytes));
    files.push_back({std::move(name), std::move(text)});
  }
  TACT_RETURN_IF_ERROR(AddTestFiles(dir, files));
  std::sort(files.begin(), files.end(),
            [](const CanonicalFile& a, const CanonicalFile& b) { return a.name < b.name; });
  return files;
}

std::string CanonicalManifest(const std::vector<CanonicalFile>& files) {
  std::string manifest;
  for (const CanonicalFile& f : files) absl::StrAppend(&manifest, Sha256Hex(f.text), "  ", f.name, "\n");
  return manifest;
}

std::string CanonicalDigest(const std::vector<CanonicalFile>& files) { return Sha256Hex(CanonicalManifest(files)); }

absl::StatusOr<std::string> PolicyCanonicalDigest(const std::string& dir) {
  TACT_ASSIGN_OR_RETURN(const std::vector<CanonicalFile> files, ReadCanonicalFiles(dir));
  return CanonicalDigest(files);
}

std::string SignedMessage(const std::string& canonical_digest) {
  return absl::StrCat("tact-policy-v1 sha256:", canonical_digest);
}

absl::StatusOr<std::vector<Ed25519PublicKey>> LoadTrustedKeys(const std::string& path) {
  std::error_code dir_ec;
  const bool is_dir = fs::is_directory(path, dir_ec);  // else read as a file (which names what is wrong)
  std::vector<std::string> files;
  if (!is_dir) {
    files.push_back(path);
  } else {
    std::error_code ec;
    fs::directory_iterator it(path, ec);
    for (const fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.starts_with('.') && it->path().extension() == ".pem") files.push_back(it->path().string());
    }
    if (ec) return Problem(path, absl::StrCat("cannot be listed: ", ec.message()));
    if (files.empty()) return Problem(path, "no public key files (*.pem) in this directory");
    std::sort(files.begin(), files.end());
  }
  std::vector<Ed25519PublicKey> keys;
  for (const std::string& file : files) {
    TACT_ASSIGN_OR_RETURN(const std::string pem, ReadWhole(file, kMaxSignatureFileBytes));
    absl::StatusOr<std::vector<Ed25519PublicKey>> parsed = ParseEd25519PublicKeys(pem, file);
    if (!parsed.ok()) return absl::FailedPreconditionError(parsed.status().message());
    for (Ed25519PublicKey& k : *parsed) keys.push_back(std::move(k));
  }
  return keys;
}

absl::StatusOr<SignatureCheck> VerifyPolicySignature(const std::string& dir,
                                                     const std::vector<Ed25519PublicKey>& trusted) {
  const std::string path = SignaturePath(dir);
  bool exists = false;
  TACT_ASSIGN_OR_RETURN(const std::vector<SignatureLine> lines, ReadSignatureFile(path, exists));
  if (!exists) {
    return Problem(path, absl::StrCat("missing: only a signed policy set is activated when policies.trusted_keys "
                                      "is set (", kHowToSign, ")"));
  }
  if (lines.empty()) return Problem(path, absl::StrCat("no signature lines (", kHowToSign, ")"));
  TACT_ASSIGN_OR_RETURN(const std::vector<CanonicalFile> files, ReadCanonicalFiles(dir));
  SignatureCheck check{.canonical_digest = CanonicalDigest(files), .policy_digest = PolicyDigestOf(files)};
  const std::string message = SignedMessage(check.canonical_digest);
  std::vector<std::string> reasons;
  for (const SignatureLine& s : lines) {
    const auto key = std::find_if(trusted.begin(), trusted.end(),
                                  [&](const Ed25519PublicKey& k) { return k.id == s.key_id; });
    const std::string at = absl::StrCat(path, ":", s.line, ": ");
    if (key == trusted.end()) {
      reasons.push_back(absl::StrCat(at, "signed by ", s.key_id, ", which is not in policies.trusted_keys"));
    } else if (!Ed25519Verify(key->raw, message, s.signature)) {
      reasons.push_back(absl::StrCat(at, "signature by key ", s.key_id,
                                     " does not verify: the files changed after signing (canonical digest now ",
                                     check.canonical_digest.substr(0, 16), ") or the signature is damaged"));
    } else {
      check.key_id = key->id;
      check.key_source = key->source;
      return check;
    }
  }
  return absl::FailedPreconditionError(absl::StrJoin(reasons, "; "));
}

absl::StatusOr<SignatureCheck> SignPolicyDir(const std::string& dir, const std::string& private_pem,
                                             const std::string& key_source) {
  absl::StatusOr<Ed25519PublicKey> pub = Ed25519PublicKeyOf(private_pem, key_source);
  if (!pub.ok()) return absl::FailedPreconditionError(pub.status().message());
  TACT_ASSIGN_OR_RETURN(const std::vector<CanonicalFile> files, ReadCanonicalFiles(dir));
  SignatureCheck check{.canonical_digest = CanonicalDigest(files),
                       .policy_digest = PolicyDigestOf(files),
                       .key_id = pub->id,
                       .key_source = key_source};
  TACT_ASSIGN_OR_RETURN(const std::string sig, Ed25519Sign(private_pem, key_source,
                                                           SignedMessage(check.canonical_digest)));
  const std::string path = SignaturePath(dir);
  bool exists = false;
  TACT_ASSIGN_OR_RETURN(const std::vector<SignatureLine> lines, ReadSignatureFile(path, exists));
  std::string text;
  for (const SignatureLine& s : lines) {
    if (s.key_id != pub->id) absl::StrAppend(&text, s.text, "\n");  // another signer's line stays
  }
  absl::StrAppend(&text, "ed25519 ", pub->id, " ", absl::Base64Escape(sig), "\n");
  TACT_RETURN_IF_ERROR(WriteAtomically(path, text));
  return check;
}

}  // namespace tact::decision
