#pragma once

// Reading a policy directory from disk: the policy files (ReadPolicyDir, LoadPolicyDir, for the reloader and
// tactctl) and the policy tests (LoadPolicyTests). daemon/policy parses text it is given and reads no file.
// Every std::filesystem call takes an error_code: a symlink loop, a dangling symlink, an unreadable file or a
// directory named *.yaml is an error naming the path, never an exception (an exception here used to abort tactd
// and tactctl). A symbolic link to a regular file is followed: Kubernetes ConfigMap volumes are symlinks.
// Thread-safety: any thread (no shared state).
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/policy/parse.h"

namespace tact::decision {

// The paths ("<dir>/<name>") of the *.yaml and *.yml entries directly in `dir`, sorted by name; other names and
// hidden entries (a name starting with '.': editor lock files, ConfigMap bookkeeping) are not looked at. NOT_FOUND
// "<dir>: not a directory" when `dir` is not a directory. FAILED_PRECONDITION "<path>: <what is wrong>" when `dir`
// cannot be listed or a *.yaml entry is not (a symlink to) a regular file.
absl::StatusOr<std::vector<std::string>> ListYamlFiles(const std::string& dir);

// The first `limit` bytes of the file at `path` (all of it when shorter). FAILED_PRECONDITION "<path>: cannot
// read: <reason>" when it cannot be opened or read.
absl::StatusOr<std::string> ReadFilePrefix(const std::string& path, size_t limit);

// Whether a directory is at `path`: false when nothing is there. FAILED_PRECONDITION "<path>: …" when something
// else is there (a file, a dangling symlink) or it cannot be checked (a symlink loop, no permission).
absl::StatusOr<bool> OptionalDirectory(const std::string& path);

// Where a policy directory's tests are: "<dir>/tests" (policies/README.md "Policy tests"). tactd runs them before
// every activation and `tactctl test <dir>` runs the same ones, so what a reviewer ran is what gates the load.
std::string PolicyTestsDir(const std::string& dir);

// Every *.yaml / *.yml file directly in `dir` (ListYamlFiles: subdirectories such as tests/ are not read), read
// whole, sorted by name, each named "<dir>/<name>" for file:line errors. A file over policy::kMaxPolicyFileBytes is
// read only one byte past that (policy::ParsePolicy then refuses it).
absl::StatusOr<std::vector<policy::PolicyFile>> ReadPolicyDir(const std::string& dir);

// ReadPolicyDir + policy::ParsePolicy: the one way tactd and tactctl load a policy directory. NOT_FOUND when `dir`
// is not a directory; INVALID_ARGUMENT "<dir>: no policy files (expected *.yaml)" when it has none. `files`
// (optional) receives the files the policy was parsed from (tactd archives them: policy_archive.h).
absl::StatusOr<policy::Policy> LoadPolicyDir(const std::string& dir, std::vector<policy::PolicyFile>* files = nullptr);

// Fills the provenance fields the files left empty from the git commit that last changed `dir`, when `dir` is in a
// git checkout and `git` is on PATH: author ("Name <email>"), approver (the commit's `Approved-by:` trailers),
// ticket (`Ticket:` trailers), reason (the subject), commit (its hash). Otherwise leaves `p` as it is: a
// container without git, or a directory that is not a checkout, has only the files' provenance.
void CompleteProvenanceFromGit(const std::string& dir, policy::Provenance& p);

}  // namespace tact::decision
