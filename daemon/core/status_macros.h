#pragma once

// Abseil 20220623 has no status macros; these are ours.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TACT_STATUS_CONCAT_INNER(a, b) a##b
#define TACT_STATUS_CONCAT(a, b) TACT_STATUS_CONCAT_INNER(a, b)

#define TACT_RETURN_IF_ERROR(expr)                    \
  do {                                                \
    if (absl::Status tact_status_ = (expr); !tact_status_.ok()) { \
      return tact_status_;                            \
    }                                                 \
  } while (false)

#define TACT_ASSIGN_OR_RETURN(lhs, expr) \
  TACT_ASSIGN_OR_RETURN_IMPL(TACT_STATUS_CONCAT(tact_statusor_, __LINE__), lhs, expr)

#define TACT_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) {                                 \
    return std::move(statusor).status();                \
  }                                                     \
  lhs = *std::move(statusor)
