// Pipeline: what is consumed from tact.outbound, collected into batches and decoded.
#include <algorithm>

#include <librdkafka/rdkafka.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "daemon/ops/log.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/pipeline/pipeline.h"

namespace tact::pipeline {
namespace {

using ops::LogLevel;

// The message's headers, copied once into `out` (librdkafka's C view: the C++ Headers copies every header into a
// vector, and did so twice per message), and the value of its first content-type header that has one ("" none).
std::string CopyHeaders(RdKafka::Message& msg, std::vector<std::pair<std::string, std::string>>& out) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(msg.c_ptr(), &headers) != RD_KAFKA_RESP_ERR_NO_ERROR || headers == nullptr) return {};
  std::string content_type;
  bool typed = false;
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    std::string v = value == nullptr ? std::string() : std::string(static_cast<const char*>(value), size);
    if (!typed && value != nullptr && std::string_view(name) == "content-type") {
      content_type = v;
      typed = true;
    }
    out.emplace_back(name, std::move(v));
  }
  return content_type;
}

}  // namespace

void Pipeline::ConsumeBatch() {
  const size_t max = static_cast<size_t>(std::max(1, options_.batch_max_events));
  // While a batch is being decided, take only what is already fetched: its results are waited for next.
  int timeout_ms = deciding_.empty() ? ConsumeTimeoutMs() : 0;
  std::chrono::steady_clock::time_point until;
  int64_t consumed = 0;  // counted once per call, however it returns
  absl::Cleanup count = [&] {
    if (consumed > 0) stats_.kafka_consumed_total.Inc({options_.topics.outbound}, static_cast<double>(consumed));
  };
  while (batch_.size() < max && !stop_.load()) {
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(timeout_ms));  // may run rebalance_cb
    if (msg->err() == RdKafka::ERR_NO_ERROR) {
      ++consumed;
      if (batch_.empty()) {
        until = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(options_.batch_max_wait);
        batch_.reserve(std::min<size_t>(max, 1000));  // grown one by one: ~9 reallocations per batch
      }
      batch_.push_back(Decode(*msg));
    } else if (msg->err() == RdKafka::ERR__TIMED_OUT) {
      return;
    } else if (msg->err() != RdKafka::ERR__PARTITION_EOF) {
      stats_.kafka_consume_errors_total.Inc({});
      log_limiter_.Log(LogLevel::kWarning, "kafka.consume_error", RdKafka::err2str(msg->err()),
                       {{"error", msg->errstr()}});
      return;
    }
    if (batch_.empty()) {
      return;
    }
    timeout_ms = static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count()));
  }
}

Pipeline::Input Pipeline::Decode(RdKafka::Message& msg) const {
  Input in;
  in.tp = {msg.topic_name(), msg.partition()};
  in.offset = msg.offset();
  in.position = absl::StrCat(in.tp.topic, "[", in.tp.partition, "]@", msg.offset());
  const std::string content_type = CopyHeaders(msg, in.headers);
  in.value.assign(static_cast<const char*>(msg.payload()), msg.len());
  if (msg.key_pointer() != nullptr) {  // key() would make a string of it first
    in.key.assign(static_cast<const char*>(msg.key_pointer()), msg.key_len());
  }
  absl::StatusOr<v1::OutboundEvent> proto = DecodeOutboundEvent(in.value, content_type);
  in.undecodable = !proto.ok();
  in.event = proto.ok() ? EventFromProto(*proto) : absl::StatusOr<Event>(proto.status());
  if (in.event.ok()) {
    if (absl::Status s = CheckCreatedAt(*in.event, decider_.clock().Now()); !s.ok()) {
      in.event = s;  // the same rule as the gRPC API's
    }
  }
  if (in.event.ok()) {
    // Refused before deciding when its routed output could not be produced: nothing is reserved or recorded.
    const auto& [topic, limit] = smallest_routed_;
    const int64_t bytes = RecordWireSize(in.event->tenant.size() + 1 + in.event->customer_id.size(), in.value.size(),
                                         in.headers) +
                          kDecisionHeadersAllowance;
    if (bytes > limit) {
      in.too_large = true;
      in.event = absl::InvalidArgumentError(TooLargeReason(bytes, topic, limit));
    }
  }
  return in;
}

}  // namespace tact::pipeline
