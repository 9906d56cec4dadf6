#include "tests/support/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace tact::testing {

namespace {

// `file` as execvp would find it, resolved before fork (the child calls only async-signal-safe functions).
std::string ResolveExecutable(const std::string& file) {
  if (file.find('/') != std::string::npos) {
    return file;
  }
  const char* path = std::getenv("PATH");
  for (std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin"; !dirs.empty();) {
    const size_t colon = std::min(dirs.find(':'), dirs.size());
    const std::string dir(dirs.substr(0, colon));
    dirs.remove_prefix(std::min(colon + 1, dirs.size()));
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + file;
    if (access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return file;  // execve fails with ENOENT, reported below
}

}  // namespace

Subprocess::Subprocess(std::vector<std::string> argv, std::string log_path, std::vector<std::string> extra_env)
    : log_path_(std::move(log_path)) {
  // Everything the child needs is prepared here: between fork and exec it may only make async-signal-safe calls
  // (the test process has threads).
  const std::string exe = ResolveExecutable(argv.at(0));
  std::vector<char*> args;
  for (std::string& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  std::vector<std::string> env_strings = std::move(extra_env);
  for (char** e = environ; *e != nullptr; ++e) {
    env_strings.emplace_back(*e);
  }
  std::vector<char*> env;
  for (std::string& e : env_strings) {
    env.push_back(e.data());
  }
  env.push_back(nullptr);
  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2];  // the child writes its errno here when exec fails; exec closes it (O_CLOEXEC) on success
  if (log_fd < 0 || null_fd < 0 || pipe2(report, O_CLOEXEC) != 0) {
    const int err = errno;
    if (log_fd >= 0) close(log_fd);
    if (null_fd >= 0) close(null_fd);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(err));
  }
  // A child started from the main thread dies with the test process (PR_SET_PDEATHSIG), also when the test
  // crashes or is killed before the destructor runs. (The signal follows the thread that forked, so a child
  // started from another thread is left to the destructor.)
  const bool tie_to_parent = getpid() == static_cast<pid_t>(syscall(SYS_gettid));
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) {
    if (tie_to_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)) {
      _exit(127);  // the parent is already gone
    }
    sigset_t none;  // children must not inherit the test's blocked signals
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0) {
      const int err = errno;
      (void)!write(report[1], &err, sizeof err);
      _exit(127);
    }
    execve(exe.c_str(), args.data(), env.data());
    const int err = errno;
    (void)!write(report[1], &err, sizeof err);
    _exit(127);
  }
  const int fork_errno = errno;
  close(report[1]);
  close(log_fd);
  close(null_fd);
  if (pid_ < 0) {
    close(report[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": fork: " + std::strerror(fork_errno));
  }
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(report[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n > 0) {
    Wait(absl::Seconds(10));  // reap it
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(child_errno));
  }
}

Subprocess::~Subprocess() {
  if (Running()) {
    Signal(SIGKILL);
    Wait(absl::Seconds(10));
  }
}

bool Subprocess::Running() {
  if (exit_code_.has_value() || pid_ <= 0) {
    return false;
  }
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

void Subprocess::Signal(int sig) {
  if (Running()) {
    kill(pid_, sig);
  }
}

std::optional<int> Subprocess::Wait(absl::Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  auto step = std::chrono::milliseconds(1);
  while (Running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(step);  // poll step
    step = std::min(step * 2, std::chrono::milliseconds(50));
  }
  return exit_code_;
}

std::string Subprocess::Log() const { return ReadFile(log_path_); }

int FreePort() {
  // The kernel may hand the same ephemeral port to two binds in a row once the first socket is closed, and a
  // test asks for several (tactd's gRPC and admin ports): never give one out twice in this process.
  static std::mutex mu;
  static std::set<int> given;
  const std::lock_guard<std::mutex> lock(mu);
  for (int attempt = 0;; ++attempt) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    const int port = ntohs(addr.sin_port);
    if (given.insert(port).second || attempt >= 100) {
      return port;
    }
  }
}

TempDir::TempDir() {
  std::error_code ec;
  const std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  std::string tmpl = ((ec ? std::filesystem::path("/tmp") : tmp) / "tact-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (std::getenv("TACT_KEEP_TEST_DIRS") == nullptr) {
    std::filesystem::remove_all(path_, ec);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

CliRun RunCli(const TempDir& dir, std::vector<std::string> argv, std::vector<std::string> extra_env,
              absl::Duration timeout) {
  static std::atomic<int> n{0};
  const std::string log = absl::StrCat(dir.path(), "/cli-", ++n, ".out");
  CliRun r;
  {
    Subprocess p(std::move(argv), log, std::move(extra_env));
    r.exit_code = p.Wait(timeout).value_or(-1);
  }
  r.output = ReadFile(log);
  return r;
}

}  // namespace tact::testing
