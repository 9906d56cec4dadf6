#include "daemon/app/process.h"

#include <malloc.h>

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "daemon/ops/config.h"

extern char** environ;

namespace tact::app {
namespace {

using ops::Log;
using ops::LogLevel;

void GrpcLog(gpr_log_func_args* args) {
  const LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR ? LogLevel::kError
                         : args->severity == GPR_LOG_SEVERITY_INFO ? LogLevel::kInfo
                                                                   : LogLevel::kDebug;
  Log(level, "grpc.log", {{"message", args->message}, {"file", absl::StrCat(args->file, ":", args->line)}});
}

void ProtobufLog(google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
  Log(level >= google::protobuf::LOGLEVEL_ERROR ? LogLevel::kError : LogLevel::kWarning, "protobuf.log",
      {{"message", message}, {"file", absl::StrCat(file, ":", line)}});
}

}  // namespace

sigset_t PrepareProcess() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // tactd links jemalloc (daemon/CMakeLists.txt); where glibc's malloc serves (tests, other binaries of this part):
  // no glibc fastbins: with them every allocation of 1 KB or more first merged all freed small chunks
  // (malloc_consolidate), and tactd frees many small ones per event on one thread and allocates batches on
  // another: ~7% of its CPU per Kafka event. Small frees still go to the per-thread cache (tcache).
  mallopt(M_MXFAST, 0);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int WaitForSignal(const sigset_t& signals) {
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

void AddSettingFlags(CLI::App& cli, std::map<std::string, std::string>& values) {
  for (const ops::ConfigKey& k : ops::ConfigKeys()) {
    if (k.flag.empty()) continue;  // secrets: environment only
    cli.add_option(k.flag, values[k.path], absl::StrCat(k.help, " [", k.path, ", ", k.env, "]"));
  }
}

std::map<std::string, std::string> GivenFlags(const CLI::App& cli, const std::map<std::string, std::string>& values) {
  std::map<std::string, std::string> given;
  for (const ops::ConfigKey& k : ops::ConfigKeys()) {
    if (!k.flag.empty() && cli.count(k.flag) > 0) given[k.path] = values.at(k.path);
  }
  return given;
}

std::map<std::string, std::string> TactEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string_view::npos && kv.starts_with("TACT_")) {
      env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  return env;
}

void SetUpLogging(ops::LogLevel level) {
  ops::SetLogLevel(level);
  gpr_set_log_function(GrpcLog);
  google::protobuf::SetLogHandler(ProtobufLog);
}

}  // namespace tact::app
