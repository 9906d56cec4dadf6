// Response curves (declared in plan.h): validation, segments, the text form and the channel defaults.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "daemon/capacity/plan.h"
#include "daemon/core/strings.h"

namespace tact::capacity {

absl::Status ValidateCurve(const ResponseCurve& curve) {
  if (curve.shares.empty()) {
    return absl::InvalidArgumentError("response_curve: at least one share required");
  }
  if (curve.shares.size() > kMaxIntervals) {
    return absl::InvalidArgumentError(absl::StrCat("response_curve: at most ", kMaxIntervals, " intervals"));
  }
  double sum = 0;
  for (size_t i = 0; i < curve.shares.size(); ++i) {
    // Also false for NaN and infinities.
    if (!(curve.shares[i] >= 0 && curve.shares[i] <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat("response_curve[", i, "]: must be a finite number in [0, 1]"));
    }
    sum += curve.shares[i];
  }
  if (std::abs(sum - 1) > kCurveSumTolerance) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "response_curve: shares sum to %.4f; they must sum to 1 (within %g): each is the part of a send's "
        "contacts in that 15-minute interval (contact_rate says how many recipients contact at all)",
        sum, kCurveSumTolerance));
  }
  return absl::OkStatus();
}

absl::StatusOr<ResponseCurve> CurveFromSegments(std::span<const CurveSegment> segments) {
  ResponseCurve curve;
  absl::Duration from = absl::ZeroDuration();
  for (size_t i = 0; i < segments.size(); ++i) {
    const CurveSegment& s = segments[i];
    if (!(s.share >= 0 && s.share <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("response_curve segment ", i + 1, ": share must be a finite number in [0, 1]"));
    }
    if (s.until <= from || s.until % kIntervalLength != absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "response_curve segment ", i + 1, ": end ", absl::FormatDuration(s.until),
          " must be a multiple of 15m after the previous end ", absl::FormatDuration(from)));
    }
    absl::Duration rem;
    const int64_t k = absl::IDivDuration(s.until - from, kIntervalLength, &rem);
    for (int64_t j = 0; j < k; ++j) {
      curve.shares.push_back(s.share / static_cast<double>(k));
    }
    from = s.until;
  }
  if (absl::Status st = ValidateCurve(curve); !st.ok()) {
    return st;
  }
  return curve;
}

absl::StatusOr<ResponseCurve> ParseCurve(std::string_view text) {
  std::vector<CurveSegment> segments;
  for (absl::string_view part : absl::StrSplit(AsAbsl(text), ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, absl::MaxSplits(':', 1));
    CurveSegment s;
    if (!absl::ParseDuration(kv.first, &s.until) || !absl::SimpleAtod(kv.second, &s.share)) {
      return absl::InvalidArgumentError(
          absl::StrCat("response_curve: '", part, "' must be <end>:<share>, e.g. 1h:0.22"));
    }
    segments.push_back(s);
  }
  return CurveFromSegments(segments);
}

std::string DefaultCurveText(Channel channel) {
  if (channel == v1::EMAIL || channel == v1::CHANNEL_UNSPECIFIED) {
    return "15m:0.08,1h:0.22,4h:0.30,24h:0.30,72h:0.10";
  }
  return "15m:0.25,1h:0.35,4h:0.25,24h:0.12,72h:0.03";
}

ResponseCurve DefaultResponseCurve(Channel channel) {
  absl::StatusOr<ResponseCurve> c = ParseCurve(DefaultCurveText(channel));
  return c.ok() ? *std::move(c) : ResponseCurve{};
}

}  // namespace tact::capacity
