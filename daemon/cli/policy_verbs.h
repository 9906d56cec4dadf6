#pragma once

// tactctl lint / test: check a policy directory, run its policy tests. Offline: files only.
#include <string>

#include "absl/status/statusor.h"
#include "daemon/cli/cli.h"

namespace tact::cli {

struct LintArgs {
  std::string dir;
  bool json = false;
};
// Every error of the set, sorted by file and line (stderr, then "N error(s)"), or one "ok" line with the
// version, rule count and digest; --json: {dir, ok, errors[], version, digest, rules}. Exit 1 on any error,
// 2 when the directory cannot be read.
int Lint(const LintArgs& args, const Streams& io);

struct TestArgs {
  std::string dir;
  std::string tests;  // empty: decision::PolicyTestsDir(dir), the tests tactd runs before every load
  bool json = false;
};
// PASS/FAIL per case and a summary line; --json: {policy_version, passed, failed, cases[]}. Exit 1 when a case
// fails, there are none, or the policy or a test file is invalid; 2 when they cannot be read.
int Test(const TestArgs& args, const Streams& io);

struct PolicyDiffArgs {
  std::string from;  // the policy directory in force (or under review)
  std::string to;    // the proposed one
  bool json = false;
  bool fail_on_loosened = false;
};
// policy::DiffPolicies as text (one line per changed rule, its aspects indented, a summary line) or --json
// {from, to, rules[], settings[], classes[], summary}. Exit 1 with --fail-on-loosened when a rule was loosened or
// removed; 2 when a directory cannot be loaded.
int PolicyDiff(const PolicyDiffArgs& args, const Streams& io);

struct PolicySignArgs {
  std::string dir;
  std::string key;  // PEM ed25519 private key file
  bool force = false;
};
// Signs the directory's canonical digest (decision/policy_signature.h) into <dir>/SIGNATURE, replacing an earlier
// line by the same key. Refuses (exit 1) a set that does not lint or whose tests in <dir>/tests fail, unless
// --force: a signature says "reviewed and tested". Exit 2 when the key or the directory cannot be read.
int PolicySign(const PolicySignArgs& args, const Streams& io);

struct PolicyVerifyArgs {
  std::string dir;
  std::string trusted_keys;  // PEM public key file or directory of *.pem (as policies.trusted_keys)
};
// What tactd checks before activation: exit 0 and "ok" naming the key and digest when a trusted key's signature
// verifies; 1 with the reason when not (missing, files changed after signing, untrusted signer); 2 when the keys
// or the directory cannot be read.
int PolicyVerify(const PolicyVerifyArgs& args, const Streams& io);

}  // namespace tact::cli
