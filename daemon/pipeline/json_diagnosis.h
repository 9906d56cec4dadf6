#pragma once

#include <google/protobuf/descriptor.h>

#include <string>
#include <string_view>

namespace tact::pipeline {

// Why the protobuf library refused JSON text of `type`, as a reason that names a field and a byte offset and never
// quotes the text (protobuf's own messages quote the input around the error, and that input holds customer ids and
// addresses): "invalid JSON <what>: syntax error at byte 17: expected ':'" or "invalid JSON <what>: customer_id:
// expected a string at byte 42"; "invalid JSON <what>: not a valid <type>" when the scanner finds nothing wrong.
// A scanner of its own: JSON syntax (RFC 8259), then the proto3 JSON mapping's value kinds per field of `type`;
// unknown fields are errors unless `allow_unknown`. Pure; safe from any thread.
std::string JsonErrorReason(std::string_view json, const google::protobuf::Descriptor& type, std::string_view what,
                            bool allow_unknown);

}  // namespace tact::pipeline
