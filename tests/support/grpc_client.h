#pragma once

// What the gRPC integration tests share as callers of tactd: the clients file they start it with, a Check request,
// and a call's metadata (bearer token, deadline).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/core/sha256.h"
#include "tests/support/events.h"
#include "tact/v1/throttle.pb.h"

namespace tact::testing {

// One entry of a --grpc-clients-file (only the token's SHA-256 is written, as in production).
inline std::string ClientEntry(const std::string& name, const std::string& token, const std::string& tenant,
                               double rate_per_second, double burst) {
  return absl::StrCat("  - name: ", name, "\n    token_sha256: ", Sha256Hex(token), "\n    tenants: [", tenant,
                      "]\n    rate_per_second: ", rate_per_second, "\n    burst: ", burst, "\n");
}

inline v1::CheckRequest CheckRequestFor(const std::string& id, const std::string& tenant, const std::string& customer = "c1",
                                        v1::MessageClass cls = v1::PROACTIVE_SERVICE) {
  v1::CheckRequest req;
  *req.mutable_event() = ProtoEvent({.event_id = id, .tenant = tenant, .customer_id = customer, .message_class = cls});
  return req;
}

// `token` empty: no authorization header.
inline void PrepareCall(grpc::ClientContext& ctx, const std::string& token,
                        std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
}

}  // namespace tact::testing
