#pragma once
// tactd's process around the App: signals, its command line and environment, and log output.

#include <signal.h>

#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "daemon/ops/log.h"

namespace tact::app {

// Before any thread: Abseil's Mutex deadlock detection off (Debian builds it on: a global lock-order graph
// updated on every lock, ~5% CPU on the Check path), glibc's fastbins off (malloc_consolidate), and SIGTERM,
// SIGINT and SIGHUP blocked for WaitForSignal.
sigset_t PrepareProcess();
// The next of those signals (sigwait on the calling thread).
int WaitForSignal(const sigset_t& signals);

// One flag per setting that has one (secrets have none), e.g. --kafka-brokers; a value lands in values[path].
void AddSettingFlags(CLI::App& cli, std::map<std::string, std::string>& values);
// Of `values`, the flags given on the command line.
std::map<std::string, std::string> GivenFlags(const CLI::App& cli, const std::map<std::string, std::string>& values);
// The TACT_* environment variables.
std::map<std::string, std::string> TactEnvironment();

// Log level, and gRPC's and protobuf's own log lines as JSON lines too, so stderr is one JSON object per line.
void SetUpLogging(ops::LogLevel level);

}  // namespace tact::app
