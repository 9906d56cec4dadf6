#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/core/clock.h"
#include "daemon/decision/policy_history.h"
#include "daemon/decision/policy_holder.h"
#include "daemon/decision/policy_archive.h"

namespace tact::decision {

// What the reloader has done so far: for /metrics (tact_policy_reloads_total, tact_policy_reload_failures_total,
// tact_policy_info{version,digest}) and Policies.GetPolicy.
struct PolicyReloadStats {
  std::string version;                 // the policy in force ("" before the first successful load)
  std::string digest;
  absl::Time loaded_at = absl::InfinitePast();
  int64_t reloads_total = 0;           // successful loads, the first one included
  int64_t reload_failures_total = 0;   // failed attempts; the last good policy stayed in force
  std::string last_error;              // "file:line:col: message" of the last failure ("" once a load succeeds)
  absl::Time last_error_at = absl::InfinitePast();
  int tests_passed = 0;                // policy test cases the policy in force passed at its load (0: untested)
  PolicyLoadAttempt last_attempt;      // the latest load attempt, activated or refused (the policy history)
};

// The policy tests that gate every load and reload: PolicyTestsDir(dir).
struct PolicyTestGate {
  bool require = false;  // policies.require_tests: a set with no test case is refused (else it loads, untested)
};

// Signed policy sets (policy_signature.h): with `trusted_keys` set (policies.trusted_keys, a PEM file or a
// directory of *.pem, read at every load) a set is activated only with a valid signature by one of those keys in
// <dir>/SIGNATURE; "" = signatures are not checked.
struct PolicySignatureGate {
  std::string trusted_keys;
};

// Loads a policy directory into a PolicyHolder: at start, on SIGHUP (Reload) and when the directory's content
// changes (PollForChange, called periodically). All-or-nothing: the new set is parsed, validated and must pass
// its policy tests (PolicyTestsDir(dir), read afresh at every load; none there is an untested load, or a refusal
// under PolicyTestGate::require) before it is swapped in; otherwise the last good policy keeps serving and the
// failure is counted and kept for stats(). Every policy activated is handed with its files to `archive` (when
// given: PolicyArchive::Remember), so decision markers that name it can be decided again later. A directory
// that cannot be read (a symlink loop, a dangling symlink, an unreadable file, a directory named *.yaml, in the
// policy directory or its test directory) is such a failure too, never an exception.
// Thread-safety: any thread; reloads are serialised.
class PolicyReloader {
 public:
  PolicyReloader(std::string dir, PolicyHolder& holder, const Clock& clock, PolicyTestGate gate = {},
                 PolicySignatureGate signatures = {}, PolicyArchive* archive = nullptr);

  // Reads and loads the directory now. The error names file:line:col.
  absl::Status Reload() ABSL_LOCKS_EXCLUDED(mu_);
  // Reloads when the content of the directory's policy files differs from the last attempt (successful or
  // not: a broken file, or a directory that cannot be read, is reported once, not every poll). Returns true
  // when it attempted a reload that succeeded; the error when the attempt failed.
  absl::StatusOr<bool> PollForChange() ABSL_LOCKS_EXCLUDED(mu_);

  PolicyReloadStats stats() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Status LoadLocked(const std::string& content_digest) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The number of test cases `next` passed; the first failure as FAILED_PRECONDITION.
  absl::StatusOr<int> RunTests(const std::shared_ptr<const policy::Policy>& next) const;
  // OK when signatures are not required, or <dir>/SIGNATURE verifies against the trusted keys over the very
  // policy content `next` was parsed from; FAILED_PRECONDITION with the reason otherwise.
  absl::Status CheckSignature(const policy::Policy& next) const;

  const std::string dir_;
  const PolicyTestGate gate_;
  const PolicySignatureGate signatures_;
  PolicyHolder& holder_;
  const Clock& clock_;
  PolicyArchive* const archive_;  // borrowed; may be null
  mutable absl::Mutex mu_;
  std::string attempted_digest_ ABSL_GUARDED_BY(mu_);
  PolicyReloadStats stats_ ABSL_GUARDED_BY(mu_);
};

// sha256 over the names and contents of the directory's policy files (what a reload would read).
absl::StatusOr<std::string> PolicyDirContentDigest(const std::string& dir);

}  // namespace tact::decision
