#pragma once

// UTC calendar fields to and from seconds since the Unix epoch, in integer arithmetic (the proleptic Gregorian
// calendar, H. Hinnant's days_from_civil / civil_from_days), for the JSON mapping of google.protobuf.Timestamp
// (years 1..9999) on the Kafka path: absl's civil-time conversions go through the time zone library at every call.
// Pure.
#include <cstdint>

namespace tact {

struct CivilUtc {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  int hour = 0;
  int minute = 0;
  int second = 0;
};

inline constexpr int64_t kMinTimestampSeconds = -62'135'596'800;  // 0001-01-01T00:00:00Z
inline constexpr int64_t kMaxTimestampSeconds = 253'402'300'799;  // 9999-12-31T23:59:59Z

// The calendar fields of `seconds` (any int64 whose year fits an int).
CivilUtc ToCivilUtc(int64_t seconds);

// The seconds of `c` when it names a real time: month 1..12, a day its month has (February 29 only in leap years),
// hour 0..23, minute and second 0..59 (no leap second). False otherwise; `seconds` is then not written.
bool FromCivilUtc(const CivilUtc& c, int64_t* seconds);

}  // namespace tact
