#include "daemon/cli/policy_verbs.h"

#include <filesystem>
#include <memory>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/core/status_macros.h"
#include "daemon/decision/policy_test_runner.h"
#include "daemon/policy/parse.h"
#include "daemon/decision/policy_files.h"
#include "nlohmann/json.hpp"

namespace tact::cli {
namespace {

using nlohmann::json;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

// Invalid policy or tests: the check failed (1); anything else (unreadable): usage or environment (2).
int LoadErrorExit(const absl::Status& s) { return absl::IsInvalidArgument(s) ? kExitFailed : kExitUsage; }

// Every error of the set (policy::LintPolicy: parsing goes on after an error), sorted by file and line.
std::vector<std::string> LintErrors(const std::vector<policy::PolicyFile>& files,
                                    absl::StatusOr<policy::Policy>* out) {
  std::vector<std::string> errors = policy::LintPolicy(files);
  if (errors.empty()) {
    *out = policy::ParsePolicy(files);
    if (!out->ok()) errors.push_back(Msg(out->status()));  // cannot happen: LintPolicy found nothing
  }
  return errors;
}

void PrintTestResults(const std::vector<decision::CaseResult>& results, const policy::Policy& policy,
                      const TestArgs& args, const std::string& tests_dir, const Streams& io) {
  size_t failed = 0;
  json cases = json::array();
  for (const decision::CaseResult& r : results) {
    failed += !r.passed;
    if (args.json) {
      cases.push_back({{"file", r.test->file}, {"line", r.test->line}, {"name", r.test->name},
                       {"passed", r.passed}, {"failures", r.failures}});
      continue;
    }
    io.out << absl::StrFormat("%s %s:%d: %s\n", r.passed ? "PASS" : "FAIL", r.test->file, r.test->line,
                              r.test->name);
    for (const std::string& f : r.failures) io.out << "     " << f << "\n";
  }
  if (args.json) {
    io.out << json{{"policy_version", policy.version}, {"passed", results.size() - failed}, {"failed", failed},
                   {"cases", cases}}
                  .dump()
           << "\n";
  } else {
    io.out << absl::StrFormat("\n%d passed, %d failed (policy %s, tests %s)\n", results.size() - failed, failed,
                              policy.version, tests_dir);
  }
}

}  // namespace

int Lint(const LintArgs& args, const Streams& io) {
  absl::StatusOr<std::vector<policy::PolicyFile>> files = decision::ReadPolicyDir(args.dir);
  if (!files.ok()) {
    io.err << "tactctl lint: " << Msg(files.status()) << "\n";
    return kExitUsage;
  }
  if (files->empty()) {
    io.err << args.dir << ": no policy files (expected *.yaml)\n";
    return kExitFailed;
  }
  absl::StatusOr<policy::Policy> p = absl::UnknownError("not parsed");
  const std::vector<std::string> errors = LintErrors(*files, &p);
  if (args.json) {
    json j{{"dir", args.dir}, {"ok", errors.empty()}, {"errors", errors}};
    if (errors.empty()) {
      j["version"] = p->version;
      j["digest"] = p->digest;
      j["rules"] = p->rules.size();
    }
    io.out << j.dump() << "\n";
    return errors.empty() ? kExitOk : kExitFailed;
  }
  for (const std::string& e : errors) io.err << e << "\n";
  if (!errors.empty()) {
    io.err << errors.size() << " error(s)\n";
    return kExitFailed;
  }
  io.out << absl::StrFormat("%s: ok — policy version %s, %d rule(s), digest %s\n", args.dir, p->version,
                            p->rules.size(), p->digest);
  return kExitOk;
}

namespace {

// The error for a policy directory without tests/, with a hint when they sit beside it (the layout before tactd
// ran them on every load).
std::string NoTestsDirMessage(const std::string& dir, const std::string& tests_dir) {
  namespace fs = std::filesystem;
  std::string message = absl::StrCat(tests_dir, ": no policy tests (a policy set's tests live in <dir>/tests/)");
  const std::string beside = (fs::path(dir).lexically_normal().parent_path() / "tests").string();
  if (decision::OptionalDirectory(beside).value_or(false)) {
    absl::StrAppend(&message, "; ", beside, " is beside the set: move it into ", dir,
                    "/ so that tactd runs it before every load, or pass --tests ", beside);
  }
  return message;
}

}  // namespace

int Test(const TestArgs& args, const Streams& io) {
  absl::StatusOr<policy::Policy> p = decision::LoadPolicyDir(args.dir);
  if (!p.ok()) {
    io.err << Msg(p.status()) << "\n";
    return LoadErrorExit(p.status());
  }
  const std::string tests_dir = args.tests.empty() ? decision::PolicyTestsDir(args.dir) : args.tests;
  if (args.tests.empty() && !decision::OptionalDirectory(tests_dir).value_or(true)) {
    io.err << NoTestsDirMessage(args.dir, tests_dir) << "\n";
    return kExitFailed;
  }
  absl::StatusOr<std::vector<decision::PolicyTestCase>> cases = decision::LoadPolicyTests(tests_dir);
  if (!cases.ok()) {
    io.err << Msg(cases.status()) << "\n";
    return LoadErrorExit(cases.status());
  }
  auto policy = std::make_shared<const policy::Policy>(*std::move(p));
  const std::vector<decision::CaseResult> results = decision::RunPolicyTests(policy, *cases);
  PrintTestResults(results, *policy, args, tests_dir, io);
  if (results.empty()) {
    io.err << tests_dir << ": no test cases found\n";
    return kExitFailed;
  }
  for (const decision::CaseResult& r : results) {
    if (!r.passed) return kExitFailed;
  }
  return kExitOk;
}

}  // namespace tact::cli
