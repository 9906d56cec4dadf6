#include "daemon/decision/policy_files.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/core/status_macros.h"

namespace tact::decision {
namespace {

namespace fs = std::filesystem;

constexpr char kFileExpected[] = "every *.yaml and *.yml entry must be a file or a symbolic link to one";

absl::Status Problem(const std::string& path, const std::string& what) {
  return absl::FailedPreconditionError(absl::StrCat(path, ": ", what));
}

std::string Reason(const std::error_code& ec) { return ec.message(); }

// `path` (an entry that exists in its directory) resolved through symbolic links: OK for a regular file.
absl::Status CheckRegularFile(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // follows symlinks
  if (ec) {
    if (st.type() == fs::file_type::not_found) {
      std::error_code link_ec;
      const fs::path target = fs::read_symlink(path, link_ec);
      if (!link_ec) {
        return Problem(path, absl::StrCat("a symbolic link to '", target.string(), "', which does not exist"));
      }
      return Problem(path, "no longer exists (removed while the directory was read)");
    }
    return Problem(path, absl::StrCat("cannot be read: ", Reason(ec)));
  }
  if (st.type() == fs::file_type::regular) return absl::OkStatus();
  if (st.type() == fs::file_type::directory) return Problem(path, absl::StrCat("is a directory; ", kFileExpected));
  return Problem(path, absl::StrCat("is not a regular file; ", kFileExpected));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ListYamlFiles(const std::string& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (st.type() == fs::file_type::not_found) return absl::NotFoundError(absl::StrCat(dir, ": not a directory"));
  if (ec) return Problem(dir, absl::StrCat("cannot be read: ", Reason(ec)));
  if (st.type() != fs::file_type::directory) return absl::NotFoundError(absl::StrCat(dir, ": not a directory"));
  std::vector<std::string> names;
  fs::directory_iterator it(dir, ec);
  for (const fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    // Hidden entries are not policy: editor lock files (emacs' .#x.yaml, a dangling symlink), ConfigMap
    // bookkeeping (..data), rsync's .x.yaml.XXXXXX temporaries.
    if (name.starts_with('.')) continue;
    const std::string ext = p.extension().string();
    if (ext == ".yaml" || ext == ".yml") names.push_back(name);
  }
  if (ec) return Problem(dir, absl::StrCat("cannot be listed: ", Reason(ec)));
  std::sort(names.begin(), names.end());
  std::vector<std::string> paths;
  for (const std::string& name : names) {
    std::string path = (fs::path(dir) / name).string();
    if (absl::Status s = CheckRegularFile(path); !s.ok()) return s;
    paths.push_back(std::move(path));
  }
  return paths;
}

absl::StatusOr<std::string> ReadFilePrefix(const std::string& path, size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Problem(path, absl::StrCat("cannot read: ", std::strerror(errno)));
  std::string text;
  char buf[64 * 1024];
  int err = 0;
  while (text.size() < limit) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof(buf), limit - text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (err != 0) return Problem(path, absl::StrCat("cannot read: ", std::strerror(err)));
  return text;
}

std::string PolicyTestsDir(const std::string& dir) { return (fs::path(dir) / "tests").string(); }

absl::StatusOr<bool> OptionalDirectory(const std::string& path) {
  std::error_code ec;
  const fs::file_status link = fs::symlink_status(path, ec);
  if (link.type() == fs::file_type::not_found) return false;
  if (ec) return Problem(path, absl::StrCat("cannot be read: ", Reason(ec)));
  const fs::file_status st = fs::status(path, ec);
  if (ec) {
    if (st.type() == fs::file_type::not_found) {
      return Problem(path, "a symbolic link to a directory that does not exist");
    }
    return Problem(path, absl::StrCat("cannot be read: ", Reason(ec)));
  }
  if (st.type() != fs::file_type::directory) return Problem(path, "is not a directory");
  return true;
}

absl::StatusOr<std::vector<policy::PolicyFile>> ReadPolicyDir(const std::string& dir) {
  TACT_ASSIGN_OR_RETURN(std::vector<std::string> paths, ListYamlFiles(dir));
  std::vector<policy::PolicyFile> files;
  for (std::string& path : paths) {
    // One byte past the limit is enough for ParsePolicy to refuse a runaway file; the rest is never read.
    TACT_ASSIGN_OR_RETURN(std::string text, ReadFilePrefix(path, policy::kMaxPolicyFileBytes + 1));
    files.push_back({std::move(path), std::move(text)});
  }
  return files;
}

absl::StatusOr<policy::Policy> LoadPolicyDir(const std::string& dir, std::vector<policy::PolicyFile>* files_out) {
  TACT_ASSIGN_OR_RETURN(std::vector<policy::PolicyFile> files, ReadPolicyDir(dir));
  if (files.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": no policy files (expected *.yaml)"));
  }
  absl::StatusOr<policy::Policy> parsed = policy::ParsePolicy(files);
  if (parsed.ok() && files_out != nullptr) *files_out = std::move(files);
  return parsed;
}

namespace {

// The standard output of `argv` (found on PATH, no shell), or nullopt when it cannot run or exits non-zero.
std::optional<std::string> RunCapture(std::vector<std::string> argv) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  std::string text;
  if (spawned == 0) {
    char buf[4096];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || text.size() > (1 << 16)) break;
      text.append(buf, static_cast<size_t>(n));
    }
  }
  close(out[0]);
  if (spawned != 0) return std::nullopt;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return text;
}

}  // namespace

void CompleteProvenanceFromGit(const std::string& dir, policy::Provenance& p) {
  // Fields separated by US (0x1f); trailers of one key joined by ", ".
  std::optional<std::string> log = RunCapture(
      {"git", "-C", dir, "log", "-1",
       "--format=%H%x1f%an <%ae>%x1f%s%x1f%(trailers:key=Approved-by,valueonly,separator=%x2C )%x1f"
       "%(trailers:key=Ticket,valueonly,separator=%x2C )",
       "--", "."});
  if (!log || log->empty()) return;
  std::vector<std::string> f = absl::StrSplit(absl::StripTrailingAsciiWhitespace(*log), '\x1f');
  if (f.size() != 5) return;
  for (std::string& v : f) v = std::string(absl::StripAsciiWhitespace(v));
  bool used = false;
  for (auto [field, value] : {std::pair{&p.author, &f[1]}, std::pair{&p.reason, &f[2]},
                              std::pair{&p.approver, &f[3]}, std::pair{&p.ticket, &f[4]}}) {
    if (field->empty() && !value->empty()) {
      *field = *value;
      used = true;
    }
  }
  p.commit = f[0];
  p.source = p.source.empty() ? "git" : used ? "files+git" : p.source;
}

}  // namespace tact::decision
