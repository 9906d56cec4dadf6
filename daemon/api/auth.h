#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/core/clock.h"

namespace tact::api {

// A caller of the gRPC API: who it is, which tenants it may act for, how fast it may call.
struct Client {
  std::string name;
  std::string token_sha256;      // hex sha256 of the bearer token; the token itself is never stored
  std::set<std::string> tenants;  // "*" = every tenant
  double rate_per_second = 100;
  double burst = 200;
  bool MayActFor(std::string_view tenant) const {
    return tenants.contains("*") || tenants.contains(std::string(tenant));
  }
};

// Parses a clients file (grpc.clients_file):
//   clients:
//     - name: crm-eu
//       token_sha256: 9f86d08…   # printf %s "$TOKEN" | sha256sum
//       tenants: [acme]          # or ["*"]
//       rate_per_second: 500
//       burst: 1000
// Strict: unknown keys, missing fields, duplicate names or token hashes are errors with file:line:col.
absl::StatusOr<std::vector<Client>> ParseClients(const std::string& path, const std::string& yaml);

// Authenticates calls by bearer token and meters them per client with a token bucket.
// Thread-safety: any thread.
class Authenticator {
 public:
  Authenticator(std::vector<Client> clients, const Clock& clock);

  // `authorization` is the call's "authorization" metadata ("Bearer <token>").
  // UNAUTHENTICATED when missing or unknown; the message never echoes the token.
  absl::StatusOr<const Client*> Authenticate(std::string_view authorization) const;

  // Takes `cost` calls from the client's bucket. RESOURCE_EXHAUSTED when empty; `retry_after` (optional) gets
  // the time until enough has refilled.
  absl::Status TakeQuota(const Client& client, double cost = 1, absl::Duration* retry_after = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time last;
  };
  std::vector<Client> clients_;
  std::map<std::string, const Client*> by_hash_;
  const Clock& clock_;
  absl::Mutex mu_;
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tact::api
