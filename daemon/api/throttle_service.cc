#include "daemon/api/throttle_service.h"

#include "absl/time/clock.h"
#include "daemon/ops/log.h"

namespace tact::api {
namespace {

inline constexpr absl::Duration kDefaultCheckDeadline = absl::Milliseconds(500);

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& s) {
  const std::string msg(s.message());
  switch (s.code()) {
    case absl::StatusCode::kOk: return grpc::Status::OK;
    case absl::StatusCode::kInvalidArgument: return {grpc::StatusCode::INVALID_ARGUMENT, msg};
    case absl::StatusCode::kUnauthenticated: return {grpc::StatusCode::UNAUTHENTICATED, msg};
    case absl::StatusCode::kPermissionDenied: return {grpc::StatusCode::PERMISSION_DENIED, msg};
    case absl::StatusCode::kFailedPrecondition: return {grpc::StatusCode::FAILED_PRECONDITION, msg};
    case absl::StatusCode::kResourceExhausted: return {grpc::StatusCode::RESOURCE_EXHAUSTED, msg};
    case absl::StatusCode::kUnavailable: return {grpc::StatusCode::UNAVAILABLE, "store unavailable"};
    case absl::StatusCode::kDeadlineExceeded: return {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded"};
    default:
      ops::Log(ops::LogLevel::kError, "grpc.internal_error", {{"error", msg}});
      return {grpc::StatusCode::INTERNAL, "internal error"};
  }
}

grpc::ServerUnaryReactor* ThrottleService::Check(grpc::CallbackServerContext* ctx, const v1::CheckRequest* request,
                                                 v1::CheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (!request->has_event()) {
    reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError("event: required")));
    return reactor;
  }
  absl::StatusOr<Event> event = EventFromProto(request->event(), "event.");
  if (!event.ok()) {
    reactor->Finish(ToGrpcStatus(event.status()));
    return reactor;
  }
  // The caller's deadline bounds the store call; without one, our default applies.
  absl::Time deadline = absl::InfiniteFuture();
  if (ctx->deadline() != std::chrono::system_clock::time_point::max()) {
    deadline = absl::FromChrono(ctx->deadline());
  }
  const bool accepted = executor_.Submit(
      [this, reactor, response, deadline, dry_run = request->dry_run(), ev = *std::move(event)] {
        absl::StatusOr<decision::Decided> d =
            decider_.Decide(ev, {.dry_run = dry_run, .source = "grpc", .deadline = deadline});
        if (d.ok()) {
          *response->mutable_decision() = std::move(d->decision);
        }
        reactor->Finish(ToGrpcStatus(d.status()));
      });
  if (!accepted) {
    reactor->Finish(ToGrpcStatus(absl::ResourceExhaustedError("server busy: decision queue full")));
  }
  return reactor;
}

}  // namespace tact::api
