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

}  // namespace tact::cli
