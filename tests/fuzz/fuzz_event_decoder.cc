// libFuzzer target: the Kafka input decoder the pipeline uses (pipeline::DecodeOutboundEvent, protobuf and proto3
// JSON) followed by the validation the pipeline applies (EventFromProto), and the decision-record decoder.
// Input: the first byte picks the content-type header (0 none: sniffed, 1 JSON, 2 protobuf, 3 an unknown type),
// the rest is the message value. A decoded event must re-encode and decode to an equal event.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <google/protobuf/util/message_differencer.h>

#include "daemon/core/event.h"
#include "daemon/pipeline/event_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kTypes[] = {"", "application/json", "application/x-protobuf", "text/plain"};
  const std::string_view type = kTypes[data[0] % 4];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto proto = tact::pipeline::DecodeOutboundEvent(bytes, type);
  if (proto.ok()) {
    (void)tact::EventFromProto(*proto);
    // Round trip through the binary form: what the decoder accepted, it accepts again unchanged.
    // Compared as messages: map entries serialize in no fixed order, so equal events may differ in bytes.
    const std::string wire = proto->SerializeAsString();
    if (wire.empty()) return 0;  // every field at its default: the decoder refuses an empty message, by design
    const auto again = tact::pipeline::DecodeOutboundEvent(wire, "application/x-protobuf");
    if (!again.ok() || !google::protobuf::util::MessageDifferencer::Equals(*proto, *again)) std::abort();
  } else if (proto.status().code() != absl::StatusCode::kInvalidArgument) {
    std::abort();  // the DLQ reason contract: undecodable input is INVALID_ARGUMENT
  }
  (void)tact::pipeline::DecodeDecisionRecord(bytes);
  return 0;
}
