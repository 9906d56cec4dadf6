#pragma once

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace tact {

// absl::Time <-> google.protobuf.Timestamp (nanos always in [0, 1e9), also before 1970).
inline google::protobuf::Timestamp TimeToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t s = absl::ToUnixSeconds(t);  // floor
  ts.set_seconds(s);
  ts.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(s))));
  return ts;
}

inline absl::Time TimeFromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace tact
