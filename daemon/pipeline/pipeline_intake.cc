// Pipeline: what is consumed from tact.outbound, collected into batches and decoded.
#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "daemon/ops/log.h"
#include "daemon/pipeline/event_codec.h"
#include "daemon/pipeline/pipeline.h"

namespace tact::pipeline {
namespace {

using ops::LogLevel;

// A copy: Headers::get() returns Header objects by value, each owning a copy of its value, so a view into one
// dangles once the returned vector is gone (every message with a content-type header was read from freed memory).
std::string HeaderValue(const RdKafka::Headers* headers, const std::string& key) {
  if (headers == nullptr) {
    return {};
  }
  for (const RdKafka::Headers::Header& h : headers->get(key)) {
    if (h.value() != nullptr) {
      return std::string(static_cast<const char*>(h.value()), h.value_size());
    }
  }
  return {};
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
  if (const RdKafka::Headers* h = msg.headers(); h != nullptr) {
    for (const RdKafka::Headers::Header& hd : h->get_all()) {
      in.headers.emplace_back(hd.key(), hd.value() == nullptr
                                            ? std::string()
                                            : std::string(static_cast<const char*>(hd.value()), hd.value_size()));
    }
  }
  in.value.assign(static_cast<const char*>(msg.payload()), msg.len());
  if (msg.key() != nullptr) {
    in.key = *msg.key();
  }
  absl::StatusOr<v1::OutboundEvent> proto = DecodeOutboundEvent(in.value, HeaderValue(msg.headers(), "content-type"));
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
