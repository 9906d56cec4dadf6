#pragma once

// tactctl policy history: every policy load attempt tactd recorded on tact.policy-history (activated or refused,
// with version, digest, provenance, instance and time), oldest first.
#include <string>

#include "daemon/cli/audit.h"

namespace tact::cli {

struct PolicyHistoryArgs {
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "tact.policy-history";
  std::string version;  // only this policy version
  size_t expect = 0;    // wait until at least this many records match
  int timeout_s = 10;
  bool json = false;
};

// A table (time, instance, result, version, digest, author, approver, ticket, reason or error) or JSON lines as
// recorded. Exit 0; 1 when fewer than --expect records matched; 2 on bad flags or an unreachable broker.
int PolicyHistory(const PolicyHistoryArgs& args, const Environment& env, const AuditReader& reader,
                  const Streams& io);

}  // namespace tact::cli
