#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace tact::testing {

// A child process started by a test. Its stdout and stderr go to `log_path`. The destructor kills it
// (SIGKILL) if it is still running, so every process a test starts is stopped, also on failure; one started
// from the main thread is also killed when the test process dies without running destructors (a crash, a
// SIGKILL from ctest's timeout). Throws std::runtime_error when the program cannot be started.
class Subprocess {
 public:
  Subprocess(std::vector<std::string> argv, std::string log_path, std::vector<std::string> extra_env = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  bool Running();
  void Signal(int sig);
  // Waits up to `timeout` for exit; returns the exit code (128+signal when killed), nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// A loopback TCP port that was free a moment ago.
int FreePort();

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);

// A command-line tool's run: its exit code (-1: still running after the timeout, then killed) and its stdout and
// stderr together.
struct CliRun {
  int exit_code = -1;
  std::string output;
};
// Runs `argv` (argv[0] the binary) to its end, its output in a fresh file under `dir`, with `extra_env`.
CliRun RunCli(const TempDir& dir, std::vector<std::string> argv, std::vector<std::string> extra_env = {},
              absl::Duration timeout = absl::Seconds(60));

}  // namespace tact::testing
