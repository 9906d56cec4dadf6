#pragma once

#include "daemon/ops/metrics.h"

namespace tact::pipeline {

// Label values: topic = a configured topic name; partition = an input partition number (bounded by the topic's
// partition count); reason ∈ {undecodable, invalid, too_large, decision_failed} (dlq_total); what ∈ {client,
// produce, delivery, grpc_record: a gRPC decision's record lost (KafkaDecisionRecords)} (kafka_errors_total); a
// status code label (pipeline_pauses_total: unavailable, deadline_exceeded).
#define TACT_PIPELINE_STATS(COUNTER, GAUGE, HISTOGRAM)                                                          \
  COUNTER(kafka_consumed_total, "Input events read", (topic))                                                    \
  COUNTER(kafka_produced_total, "Outputs acknowledged by the broker", (topic))                                   \
  COUNTER(kafka_delivery_failures_total, "Outputs the broker did not acknowledge (retried; the offset waits)",   \
          (topic))                                                                                               \
  COUNTER(kafka_consume_errors_total, "Errors returned by the consumer", ())                                     \
  COUNTER(kafka_errors_total, "Kafka errors: client (librdkafka: broker down, auth, …), produce, delivery",        \
          (what))                                                                                                \
  COUNTER(dlq_total, "Events sent to the dead-letter topic", (reason))                                           \
  COUNTER(store_retries_total, "Kafka-path batches left (partly) undecided because the store was unavailable", ())             \
  GAUGE(kafka_assigned_partitions, "Input partitions assigned to this instance", ())                             \
  GAUGE(kafka_consumer_lag, "Messages between the committed offset and the high watermark", (topic, partition)) \
  GAUGE(kafka_in_flight, "Input events decided but not yet acknowledged on every output", ())                    \
  GAUGE(pipeline_store_waiting, "1 while the Kafka path waits for the store to come back", ())                   \
  GAUGE(kafka_paused_partitions, "Input partitions paused by back-pressure (store unavailable)", ())            \
  GAUGE(pipeline_held_events, "Inputs held undecided while the partitions are paused", ())                     \
  COUNTER(pipeline_pauses_total, "Times the Kafka path paused its partitions", (reason))                       \
  COUNTER(kafka_batches_total, "Input batches decided (consumed / batches = mean batch size)", ())              \
  GAUGE(deferred_backlog, "Deferred events waiting to be re-decided (0 until the deferred scheduler runs)", ())
TACT_STATS_STRUCT(PipelineStats, TACT_PIPELINE_STATS);

}  // namespace tact::pipeline
