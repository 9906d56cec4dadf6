#include "daemon/api/auth.h"

#include <yaml-cpp/yaml.h>

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/core/event.h"
#include "daemon/core/sha256.h"

namespace tact::api {
namespace {

absl::Status At(const std::string& path, const YAML::Node& n, const std::string& msg) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", n.Mark().line + 1, ":", n.Mark().column + 1, ": ", msg));
}

}  // namespace

absl::StatusOr<std::vector<Client>> ParseClients(const std::string& path, const std::string& yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": not valid YAML: ", e.msg));
  }
  if (!root.IsMap() || !root["clients"] || !root["clients"].IsSequence()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":1:1: expected a 'clients' list"));
  }
  for (const auto& kv : root) {
    if (kv.first.Scalar() != "clients") {
      return At(path, kv.first, absl::StrCat("unknown key '", kv.first.Scalar(), "' (expected: clients)"));
    }
  }
  std::vector<Client> out;
  std::set<std::string> names;
  std::set<std::string> hashes;
  for (const YAML::Node& n : root["clients"]) {
    if (!n.IsMap()) {
      return At(path, n, "each client must be a mapping");
    }
    Client c;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      try {
        if (key == "name") {
          c.name = kv.second.as<std::string>();
        } else if (key == "token_sha256") {
          c.token_sha256 = absl::AsciiStrToLower(kv.second.as<std::string>());
          if (c.token_sha256.size() != 64 ||
              c.token_sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
            return At(path, kv.second, "token_sha256 must be 64 hex digits (sha256 of the token)");
          }
        } else if (key == "tenants") {
          if (!kv.second.IsSequence() || kv.second.size() == 0) {
            return At(path, kv.second, "tenants must be a non-empty list (\"*\" for all)");
          }
          for (const YAML::Node& t : kv.second) {
            const std::string tenant = t.as<std::string>();
            if (tenant != "*" && !IsValidTenantId(tenant)) {
              return At(path, t, "a tenant is \"*\" or 1..256 of letters, digits, '.', '_' and '-'");
            }
            c.tenants.insert(tenant);
          }
        } else if (key == "rate_per_second") {
          c.rate_per_second = kv.second.as<double>();
        } else if (key == "burst") {
          c.burst = kv.second.as<double>();
        } else {
          return At(path, kv.first,
                    absl::StrCat("unknown key '", key, "' (expected one of: name, token_sha256, tenants, "
                                 "rate_per_second, burst)"));
        }
      } catch (const YAML::Exception&) {
        return At(path, kv.second, absl::StrCat("'", key, "' has the wrong type"));
      }
    }
    if (c.name.empty() || c.token_sha256.empty() || c.tenants.empty()) {
      return At(path, n, "a client needs name, token_sha256 and tenants");
    }
    if (!(c.rate_per_second > 0) || !(c.burst >= 1)) {
      return At(path, n, absl::StrCat("client '", c.name, "': rate_per_second must be > 0 and burst >= 1"));
    }
    if (!names.insert(c.name).second) {
      return At(path, n, absl::StrCat("client name '", c.name, "' appears twice"));
    }
    if (!hashes.insert(c.token_sha256).second) {
      return At(path, n, absl::StrCat("client '", c.name, "' reuses another client's token"));
    }
    out.push_back(std::move(c));
  }
  return out;
}

Authenticator::Authenticator(std::vector<Client> clients, const Clock& clock)
    : clients_(std::move(clients)), clock_(clock) {
  for (const Client& c : clients_) {
    by_hash_[c.token_sha256] = &c;
  }
}

absl::StatusOr<const Client*> Authenticator::Authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing bearer token (metadata 'authorization: Bearer <token>')");
  }
  if (!authorization.starts_with(kBearer) || authorization.size() == kBearer.size()) {
    return absl::UnauthenticatedError("authorization must be 'Bearer <token>'");
  }
  auto it = by_hash_.find(Sha256Hex(authorization.substr(kBearer.size())));
  if (it == by_hash_.end()) {
    return absl::UnauthenticatedError("unknown bearer token");
  }
  return it->second;
}

absl::Status Authenticator::TakeQuota(const Client& client, double cost, absl::Duration* retry_after) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto [it, fresh] = buckets_.try_emplace(client.name, Bucket{client.burst, now});
  Bucket& b = it->second;
  b.tokens = std::min(client.burst, b.tokens + absl::ToDoubleSeconds(now - b.last) * client.rate_per_second);
  b.last = now;
  if (b.tokens >= cost) {
    b.tokens -= cost;
    return absl::OkStatus();
  }
  const double wait_s = (cost - b.tokens) / client.rate_per_second;
  if (retry_after != nullptr) {
    *retry_after = absl::Milliseconds(std::ceil(wait_s * 1000));
  }
  return absl::ResourceExhaustedError(
      absl::StrFormat("client '%s' is over its quota of %.0f calls/s; retry after %.0f ms", client.name,
                      client.rate_per_second, std::ceil(wait_s * 1000)));
}

}  // namespace tact::api
