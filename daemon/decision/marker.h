#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "daemon/policy/evaluate.h"

namespace tact::decision {

// What is stored with a final decision so a redelivered event gets exactly the earlier decision back,
// even after a policy reload.
struct Marker {
  std::string policy_version;
  std::string policy_digest;
  policy::Plan plan;
};

std::string EncodeMarker(const Marker& marker);
absl::StatusOr<Marker> DecodeMarker(std::string_view text);

}  // namespace tact::decision
