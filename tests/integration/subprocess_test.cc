// The test harness's own process handling: every process a test starts must stop with it, also when the test
// binary dies without running destructors (a crash, ctest's timeout), or a failed run leaves redis-server and
// tactd processes holding ports.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace tact::testing {
namespace {

// "R", "S", "Z", … from /proc/<pid>/stat; "" once the process is gone (reaped).
std::string ProcessState(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() ? "" : stat.substr(paren + 2, 1);
}

TEST(Subprocess, AChildDiesWithTheProcessThatStartedItEvenWhenNoDestructorRuns) {
  TempDir dir;
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  // An intermediate process plays the test binary: it starts `sleep`, reports its pid, and is then SIGKILLed.
  const pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    close(pipefd[0]);
    Subprocess child({"sleep", "300"}, dir.path() + "/sleep.log");
    const pid_t pid = child.pid();
    (void)!write(pipefd[1], &pid, sizeof pid);
    for (;;) pause();  // until killed; the destructor never runs
  }
  struct KillOnExit {  // the intermediate process never outlives this test, whatever fails below
    pid_t pid;
    ~KillOnExit() {
      if (kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
    }
  } guard{owner};
  close(pipefd[1]);
  pid_t grandchild = -1;
  ASSERT_EQ(read(pipefd[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
  close(pipefd[0]);
  ASSERT_GT(grandchild, 0);
  const std::string before = ProcessState(grandchild);
  EXPECT_TRUE(before == "S" || before == "R") << "state before: '" << before << "'";

  ASSERT_EQ(kill(owner, SIGKILL), 0);
  ASSERT_EQ(waitpid(owner, nullptr, 0), owner);
  // Gone, or a zombie when this container's init does not reap orphans.
  EXPECT_TRUE(WaitFor([&] { const std::string s = ProcessState(grandchild); return s.empty() || s == "Z"; },
                      absl::Seconds(10), "the child of a killed process to die"));
  if (const std::string s = ProcessState(grandchild); !s.empty() && s != "Z") {
    kill(grandchild, SIGKILL);  // do not leave it behind when the assertion above failed
  }
}

TEST(Subprocess, AProgramThatCannotBeStartedThrowsNamingItAndWhy) {
  TempDir dir;
  try {
    Subprocess p({"tact-no-such-program"}, dir.path() + "/log");
    FAIL() << "started pid " << p.pid();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cannot start tact-no-such-program: No such file or directory");
  }
}

TEST(Subprocess, OutputGoesToTheLogAndTheExitCodeIsReported) {
  TempDir dir;
  Subprocess p({"sh", "-c", "echo out; echo err >&2; exit 3"}, dir.path() + "/log", {"TACT_SUBPROCESS_TEST=1"});
  EXPECT_EQ(p.Wait(absl::Seconds(10)), std::optional<int>(3));
  EXPECT_EQ(p.Log(), "out\nerr\n");
  Subprocess env({"sh", "-c", "echo \"$TACT_SUBPROCESS_TEST\""}, dir.path() + "/env.log", {"TACT_SUBPROCESS_TEST=7"});
  EXPECT_EQ(env.Wait(absl::Seconds(10)), std::optional<int>(0));
  EXPECT_EQ(env.Log(), "7\n");
}

}  // namespace
}  // namespace tact::testing
