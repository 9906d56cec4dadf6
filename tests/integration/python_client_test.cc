// The README's Python client section, run as written: the stub-generation line and the example client
// (examples/python/tact_check.py) against tactd's gRPC port ($GRPC_PORT, set as a README reader sets it), with the
// output the README shows. The lines are read from README.md (the blocks after the marker below), so the README and
// the example cannot drift apart. The commands run with /usr/bin first on PATH: Debian's python3 with
// python3-grpcio (deploy/install-deps.sh), not another python3 that may come earlier on PATH without grpc.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"

namespace tact::testing {
namespace {

constexpr char kMarker[] = "<!-- tests/integration/python_client_test.cc runs the next block";

// The lines of the `n`th fenced block (0: the first) after `marker` in `text`.
std::vector<std::string> FencedBlockAfter(const std::string& text, const std::string& marker, int n) {
  std::istringstream in(text.substr(text.find(marker) == std::string::npos ? text.size() : text.find(marker)));
  std::vector<std::string> lines;
  std::string line;
  int fence = 0;
  while (std::getline(in, line)) {
    if (line.starts_with("```")) {
      if (++fence == 2 * n + 2) break;
      continue;
    }
    if (fence == 2 * n + 1) lines.push_back(line);
  }
  return lines;
}

TEST(PythonClientTest, TheReadmeStubLineAndExampleClientGetTheDecisionsTheReadmeShows) {
  const std::string readme = ReadFile(std::string(TACT_SOURCE_DIR) + "/README.md");
  const std::vector<std::string> commands = FencedBlockAfter(readme, kMarker, 0);
  const std::vector<std::string> expected = FencedBlockAfter(readme, kMarker, 1);
  ASSERT_FALSE(commands.empty()) << "README.md has no block after \"" << kMarker << "\"";
  ASSERT_FALSE(expected.empty()) << "README.md shows no output after the Python commands";

  SuiteStack stack;
  // The commands use paths relative to the repository root; they run in a directory of their own (the stubs go
  // there, not into the source tree) that links the two directories they read.
  TempDir work;
  std::filesystem::create_directory_symlink(std::string(TACT_SOURCE_DIR) + "/proto", work.path() + "/proto");
  std::filesystem::create_directory_symlink(std::string(TACT_SOURCE_DIR) + "/examples", work.path() + "/examples");
  std::string script = absl::StrCat("set -e\ncd '", work.path(), "'\nexport PATH=/usr/bin:/bin:\"$PATH\" GRPC_PORT=",
                                    stack.tactd.grpc_port(), "\n");
  for (const std::string& line : commands) {
    absl::StrAppend(&script, line, "\n");
  }
  Subprocess sh({"/bin/sh", "-c", script}, work.path() + "/out.log");
  const std::optional<int> code = sh.Wait(absl::Seconds(120));
  ASSERT_EQ(code, 0) << "the README's Python commands failed:\n" << script << "\noutput:\n" << sh.Log();
  EXPECT_EQ(sh.Log(), absl::StrCat(absl::StrJoin(expected, "\n"), "\n")) << "commands:\n" << script;
}

}  // namespace
}  // namespace tact::testing
