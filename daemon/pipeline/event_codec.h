#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tact/v1/decision.pb.h"
#include "tact/v1/event.pb.h"
#include "tact/v1/signals.pb.h"

namespace tact::pipeline {

// Every input topic (tact.outbound, tact.signals) carries its message as binary protobuf or its proto3 JSON
// mapping. `content_type` (the message's "content-type" header) decides: application/json or
// application/x-protobuf (also application/protobuf). Without the header, a message whose first non-blank byte is
// '{' is JSON, anything else protobuf. Unknown JSON fields are errors. Errors are INVALID_ARGUMENT with a reason
// fit for the DLQ header and the log; `what` names the input in them ("event", "signal"). A reason names the field
// and the byte offset and never quotes the input ("invalid JSON event: syntax error at byte 17: expected ':'",
// "invalid JSON event: customer_id: expected a string at byte 42").
absl::Status DecodeInput(std::string_view bytes, std::string_view content_type, std::string_view what,
                         google::protobuf::Message& out);

// tact.outbound: tact.v1.OutboundEvent ("invalid JSON event: …").
absl::StatusOr<v1::OutboundEvent> DecodeOutboundEvent(std::string_view bytes, std::string_view content_type);
namespace internal {
// DecodeOutboundEvent's fast path for JSON: true when `json` is an object of fields it reads exactly as the library
// would: plain strings (enum names, either field-name spelling), createdAt as "YYYY-MM-DDThh:mm:ss[.f]Z", priority
// as a plain integer, attributes as an object of plain strings. False leaves it to the library (which took ~20 times
// longer for an event with a createdAt, the shape producers send).
bool DecodeOutboundEventFast(std::string_view json, v1::OutboundEvent* event);
// DecodeSignal's: plain strings, enum names, csat as a plain integer, at and expiresAt as createdAt above.
bool DecodeSignalFast(std::string_view json, v1::Signal* signal);
}  // namespace internal
// tact.signals: tact.v1.Signal ("invalid JSON signal: …").
absl::StatusOr<v1::Signal> DecodeSignal(std::string_view bytes, std::string_view content_type);

// Decision records on tact.decisions are the proto3 JSON mapping of tact.v1.DecisionRecord, one per message.
std::string EncodeDecisionRecord(const v1::DecisionRecord& record);
absl::StatusOr<v1::DecisionRecord> DecodeDecisionRecord(std::string_view json);

}  // namespace tact::pipeline
