#pragma once

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"

namespace tact::store {

// Redis key schema (DESIGN.md): every key of one customer shares the hash tag {<tenant>:<customer>}, so one
// script touches them atomically and the store runs unchanged on Redis Cluster.
inline std::string CustomerPrefix(std::string_view tenant, std::string_view customer_id) {
  return absl::StrCat("tact:{", AsAbsl(tenant), ":", AsAbsl(customer_id), "}:");
}
inline std::string SeenKey(std::string_view prefix, std::string_view event_id) {
  return absl::StrCat(AsAbsl(prefix), "seen:", AsAbsl(event_id));
}

inline std::string SignalsKey(std::string_view prefix) { return absl::StrCat(AsAbsl(prefix), "sig"); }
// The customer's counter index (counter_store.h): field = counter suffix, value = ms when it is empty again.
inline std::string IndexKey(std::string_view prefix) { return absl::StrCat(AsAbsl(prefix), "idx"); }

}  // namespace tact::store
