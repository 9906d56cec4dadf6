#include "daemon/decision/policy_reloader.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/sha256.h"
#include "daemon/core/status_macros.h"
#include "daemon/decision/policy_test_runner.h"
#include "daemon/policy/parse.h"
#include "daemon/decision/policy_files.h"
#include "daemon/decision/policy_signature.h"

namespace tact::decision {

absl::StatusOr<std::string> PolicyDirContentDigest(const std::string& dir) {
  absl::StatusOr<std::vector<policy::PolicyFile>> files = ReadPolicyDir(dir);
  if (!files.ok()) return files.status();
  std::string input;
  for (const policy::PolicyFile& f : *files) absl::StrAppend(&input, f.path, "\n", f.text.size(), "\n", f.text);
  return Sha256Hex(input);
}

PolicyReloader::PolicyReloader(std::string dir, PolicyHolder& holder, const Clock& clock, PolicyTestGate gate,
                               PolicySignatureGate signatures, PolicyArchive* archive)
    : dir_(std::move(dir)),
      gate_(gate),
      signatures_(std::move(signatures)),
      holder_(holder),
      clock_(clock),
      archive_(archive) {}

namespace {

// What an attempt is compared by: the content digest, or the error when the directory cannot be read (a symlink
// loop, a dangling link, no permission), so that such a failure is counted and reported once, like a broken
// file, not on every poll, and retried when the error or the files change (or on SIGHUP).
// <dir>/SIGNATURE is part of it: a signature that lands after the files it signs is picked up by the next poll.
std::string AttemptKey(const std::string& dir) {
  absl::StatusOr<std::string> digest = PolicyDirContentDigest(dir);
  if (!digest.ok()) return absl::StrCat("error: ", digest.status().ToString());
  absl::StatusOr<std::string> signature = ReadFilePrefix(absl::StrCat(dir, "/", kPolicySignatureFile), 64 << 10);
  return absl::StrCat(*digest, " ", Sha256Hex(signature.value_or("")));
}

}  // namespace

absl::Status PolicyReloader::Reload() {
  const std::string attempt = AttemptKey(dir_);
  absl::MutexLock lock(&mu_);
  return LoadLocked(attempt);
}

absl::StatusOr<bool> PolicyReloader::PollForChange() {
  const std::string attempt = AttemptKey(dir_);
  absl::MutexLock lock(&mu_);
  if (attempt == attempted_digest_) return false;
  absl::Status s = LoadLocked(attempt);
  if (!s.ok()) return s;
  return true;
}

absl::Status PolicyReloader::LoadLocked(const std::string& content_digest) {
  attempted_digest_ = content_digest;
  PolicyLoadAttempt attempt{.at = clock_.Now()};
  absl::Status status;
  std::vector<policy::PolicyFile> files;  // for the archive
  absl::StatusOr<policy::Policy> p = LoadPolicyDir(dir_, &files);
  if (!p.ok()) {
    status = p.status();
    // The attempt key is "<content digest> <sha256 of SIGNATURE>" (AttemptKey): the record gets the digest.
    if (!content_digest.starts_with("error: ")) attempt.digest = content_digest.substr(0, content_digest.find(' '));
    CompleteProvenanceFromGit(dir_, attempt.provenance);  // the commit that brought the broken file
  } else {
    CompleteProvenanceFromGit(dir_, p->provenance);
    auto next = std::make_shared<const policy::Policy>(*std::move(p));
    attempt.version = next->version;
    attempt.digest = next->digest;
    attempt.provenance = next->provenance;
    const std::shared_ptr<const policy::Policy> current = holder_.Get();
    if (current != nullptr && current->version == next->version && current->digest != next->digest) {
      // One version must mean one content: decision records name the version, and a file cut short or edited in
      // place (valid YAML, same version line, fewer rules) must not slip in unnoticed.
      status = absl::FailedPreconditionError(absl::StrCat(
          dir_, ": the policy files changed but their version is still '", current->version,
          "': give the changed set a new version (decision records name the version, so one version must mean "
          "one content)"));
    } else if (absl::Status signed_ok = CheckSignature(*next); !signed_ok.ok()) {
      status = signed_ok;
    } else if (absl::StatusOr<int> passed = RunTests(next); !passed.ok()) {
      status = passed.status();
    } else {
      attempt.tests_passed = *passed;
      attempt.activated = true;
      stats_.version = next->version;
      stats_.digest = next->digest;
      stats_.loaded_at = attempt.at;
      stats_.reloads_total++;
      stats_.last_error.clear();
      stats_.tests_passed = *passed;
      stats_.last_attempt = std::move(attempt);
      // Archived before it serves: every marker that will name it can find it in this process at least.
      if (archive_ != nullptr) archive_->Remember(next, std::move(files));
      holder_.Set(std::move(next));  // readers holding the old snapshot finish on it
      return absl::OkStatus();
    }
  }
  attempt.error = std::string(status.message());
  stats_.reload_failures_total++;
  stats_.last_error = attempt.error;
  stats_.last_error_at = attempt.at;
  stats_.last_attempt = std::move(attempt);
  return status;
}

absl::StatusOr<int> PolicyReloader::RunTests(const std::shared_ptr<const policy::Policy>& next) const {
  const std::string tests_dir = PolicyTestsDir(dir_);
  TACT_ASSIGN_OR_RETURN(const bool has_tests, OptionalDirectory(tests_dir));
  std::vector<PolicyTestCase> cases;
  if (has_tests) {
    TACT_ASSIGN_OR_RETURN(cases, LoadPolicyTests(tests_dir));
  }
  if (cases.empty()) {
    if (!gate_.require) return 0;
    return absl::FailedPreconditionError(absl::StrCat(
        tests_dir, ": no policy test cases, and policies.require_tests is set: a policy set goes live only with "
                   "tests that pass (policies/README.md \"Policy tests\")"));
  }
  for (const CaseResult& r : RunPolicyTests(next, cases)) {
    if (!r.passed) {
      return absl::FailedPreconditionError(
          absl::StrCat("policy test failed: ", r.failures.front(), " (test '", r.test->name, "' in ", tests_dir, ")"));
    }
  }
  return static_cast<int>(cases.size());
}

absl::Status PolicyReloader::CheckSignature(const policy::Policy& next) const {
  if (signatures_.trusted_keys.empty()) return absl::OkStatus();
  TACT_ASSIGN_OR_RETURN(const std::vector<Ed25519PublicKey> keys, LoadTrustedKeys(signatures_.trusted_keys));
  TACT_ASSIGN_OR_RETURN(const SignatureCheck check, VerifyPolicySignature(dir_, keys));
  if (check.policy_digest != next.digest) {  // the files were replaced between the parse and the check
    return absl::FailedPreconditionError(absl::StrCat(
        dir_, ": the policy files changed while they were loaded (the signed content is not what was parsed); the "
              "next reload retries"));
  }
  return absl::OkStatus();
}

PolicyReloadStats PolicyReloader::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace tact::decision
