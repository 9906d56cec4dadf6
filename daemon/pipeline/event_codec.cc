#include "daemon/pipeline/event_codec.h"

#include "absl/strings/str_cat.h"
#include "daemon/core/strings.h"
#include "google/protobuf/util/json_util.h"

namespace tact::pipeline {
namespace {

bool IsJsonType(std::string_view ct) { return ct.starts_with("application/json"); }
bool IsProtobufType(std::string_view ct) {
  return ct.starts_with("application/x-protobuf") || ct.starts_with("application/protobuf");
}

}  // namespace

absl::Status DecodeInput(std::string_view bytes, std::string_view content_type, std::string_view what,
                         google::protobuf::Message& out) {
  if (bytes.empty()) {
    return absl::InvalidArgumentError("empty message");
  }
  bool json = false;
  if (IsJsonType(content_type)) {
    json = true;
  } else if (IsProtobufType(content_type)) {
    json = false;
  } else if (!content_type.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported content-type '", std::string(content_type.substr(0, 64)),
                     "' (expected application/json or application/x-protobuf)"));
  } else {
    const size_t first = bytes.find_first_not_of(" \t\r\n");
    json = first != std::string_view::npos && bytes[first] == '{';
  }
  if (json) {
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = false;
    const auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(bytes.data(), bytes.size()), &out, opts);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid JSON ", AsAbsl(what), ": ", std::string(status.message())));
    }
  } else if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid protobuf ", AsAbsl(what), ": cannot parse ", out.GetTypeName()));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::OutboundEvent> DecodeOutboundEvent(std::string_view bytes, std::string_view content_type) {
  v1::OutboundEvent ev;
  if (absl::Status s = DecodeInput(bytes, content_type, "event", ev); !s.ok()) {
    return s;
  }
  return ev;
}

absl::StatusOr<v1::Signal> DecodeSignal(std::string_view bytes, std::string_view content_type) {
  v1::Signal signal;
  if (absl::Status s = DecodeInput(bytes, content_type, "signal", signal); !s.ok()) {
    return s;
  }
  return signal;
}

std::string EncodeDecisionRecord(const v1::DecisionRecord& record) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(record, &out, opts);  // cannot fail for a valid message
  return out;
}

absl::StatusOr<v1::DecisionRecord> DecodeDecisionRecord(std::string_view json) {
  v1::DecisionRecord rec;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;  // records written by newer versions stay readable
  const auto status =
      google::protobuf::util::JsonStringToMessage(google::protobuf::StringPiece(json.data(), json.size()), &rec, opts);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid decision record: ", std::string(status.message())));
  }
  return rec;
}

}  // namespace tact::pipeline
