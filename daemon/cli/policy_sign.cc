// tactctl policy sign / verify: signed policy sets (daemon/decision/policy_signature.h).
#include <memory>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "daemon/cli/policy_verbs.h"
#include "daemon/decision/policy_files.h"
#include "daemon/decision/policy_signature.h"
#include "daemon/decision/policy_test_runner.h"

namespace tact::cli {
namespace {

// Why `dir` should not be signed: it does not lint, or a test in <dir>/tests fails ("" when it may be signed).
std::string WhyNotSign(const std::string& dir) {
  absl::StatusOr<policy::Policy> p = decision::LoadPolicyDir(dir);
  if (!p.ok()) return std::string(p.status().message());
  const std::string tests = decision::PolicyTestsDir(dir);
  absl::StatusOr<bool> has_tests = decision::OptionalDirectory(tests);
  if (!has_tests.ok()) return std::string(has_tests.status().message());
  if (!*has_tests) return "";
  absl::StatusOr<std::vector<decision::PolicyTestCase>> cases = decision::LoadPolicyTests(tests);
  if (!cases.ok()) return std::string(cases.status().message());
  auto policy = std::make_shared<const policy::Policy>(*std::move(p));
  for (const decision::CaseResult& r : decision::RunPolicyTests(policy, *cases)) {
    if (!r.passed) return absl::StrCat("policy test '", r.test->name, "' fails: ", r.failures.front());
  }
  return "";
}

}  // namespace

int PolicySign(const PolicySignArgs& args, const Streams& io) {
  absl::StatusOr<std::string> key = ReadText(args.key);
  if (!key.ok()) {
    io.err << key.status().message() << "\n";
    return kExitUsage;
  }
  if (!args.force) {
    if (const std::string why = WhyNotSign(args.dir); !why.empty()) {
      io.err << why << "\nnot signed: a signature says the set was reviewed and its tests pass (--force signs "
                       "anyway)\n";
      return kExitFailed;
    }
  }
  absl::StatusOr<decision::SignatureCheck> signed_set = decision::SignPolicyDir(args.dir, *key, args.key);
  if (!signed_set.ok()) {
    io.err << signed_set.status().message() << "\n";
    return kExitUsage;
  }
  io.out << args.dir << ": signed by key " << signed_set->key_id << ", canonical digest "
         << signed_set->canonical_digest << " (" << args.dir << "/" << decision::kPolicySignatureFile << ")\n";
  return kExitOk;
}

int PolicyVerify(const PolicyVerifyArgs& args, const Streams& io) {
  absl::StatusOr<std::vector<Ed25519PublicKey>> keys = decision::LoadTrustedKeys(args.trusted_keys);
  if (!keys.ok()) {
    io.err << keys.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<decision::SignatureCheck> check = decision::VerifyPolicySignature(args.dir, *keys);
  if (!check.ok()) {
    io.err << check.status().message() << "\n";
    return check.status().code() == absl::StatusCode::kNotFound ? kExitUsage : kExitFailed;
  }
  io.out << args.dir << ": ok, signed by trusted key " << check->key_id << " (" << check->key_source
         << "), canonical digest " << check->canonical_digest << "\n";
  return kExitOk;
}

}  // namespace tact::cli
