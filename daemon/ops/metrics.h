#pragma once

// Metrics: each subsystem declares its stats once in an X-macro list (Envoy's stats_macros.h):
//
//   #define TACT_PIPELINE_STATS(COUNTER, GAUGE, HISTOGRAM)
//     COUNTER(dlq_total, "Events sent to the dead-letter topic", (reason))
//     GAUGE(kafka_assigned_partitions, "Input partitions assigned", ())      (each line ends in a backslash)
//   TACT_STATS_STRUCT(PipelineStats, TACT_PIPELINE_STATS);
//
// which defines `struct PipelineStats { explicit PipelineStats(prometheus::Registry&); CounterFamily dlq_total; … }`
// registering `tact_dlq_total` with the label names `reason`. Label values are given positionally and must come
// from closed sets (decision, rule, reason, code, topic, class, channel, method, op, …): never customer, event or
// campaign ids. `/metrics` serializes the one registry (prometheus::TextSerializer) on the admin port.
// Thread-safety: every family and series is safe from any thread (prometheus-cpp locks per family).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace tact::ops {

// Latency buckets for every *_seconds histogram: 0.25 ms … 10 s.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

// "(decision, rule)" → {"decision", "rule"}; "()" → {}.
std::vector<std::string> ParseLabelNames(std::string_view parenthesized);

template <typename T>
class Family {
 public:
  Family(prometheus::Registry& registry, const std::string& name, const std::string& help,
         std::string_view label_names);
  // The series for these label values (positional, one per declared label name). Created on first use; later
  // calls find it in a cache keyed by the joined values (building prometheus::Labels, a std::map of strings, and
  // looking it up in the family cost ~1 us per call, several calls per Kafka event).
  T& With(std::initializer_list<std::string_view> values);
  // Drops a series (e.g. a revoked partition's lag, a replaced policy version's info).
  void Remove(std::initializer_list<std::string_view> values);
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  prometheus::Labels Labels(std::initializer_list<std::string_view> values) const;

  struct Cache {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, T*> series ABSL_GUARDED_BY(mu);  // JoinValues(values) → family_'s series
  };

  prometheus::Family<T>& family_;
  std::vector<std::string> label_names_;
  std::unique_ptr<Cache> cache_ = std::make_unique<Cache>();
};

class CounterFamily : public Family<prometheus::Counter> {
 public:
  using Family::Family;
  void Inc(std::initializer_list<std::string_view> values, double by = 1) { With(values).Increment(by); }
};
class GaugeFamily : public Family<prometheus::Gauge> {
 public:
  using Family::Family;
  void Set(std::initializer_list<std::string_view> values, double v) { With(values).Set(v); }
};
class HistogramFamily : public Family<prometheus::Histogram> {
 public:
  using Family::Family;
  void Observe(std::initializer_list<std::string_view> values, double v) { With(values).Observe(v); }
  // `times` observations of `v` (the events of a batch, which all waited as long) with one series lookup.
  void ObserveTimes(std::initializer_list<std::string_view> values, double v, int64_t times);
};

// How many times each label set (up to three values) came up, in first-seen order: a batch's events counted here,
// then in their series once per set (a batch has a few). The values are borrowed.
class LabelCounts {
 public:
  struct Entry {
    std::string_view a, b, c;
    int64_t n = 0;
  };
  void Add(std::string_view a, std::string_view b = {}, std::string_view c = {}) {
    for (Entry& e : entries_) {
      if (e.a == a && e.b == b && e.c == c) {
        ++e.n;
        return;
      }
    }
    entries_.push_back({a, b, c, 1});
  }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// A status code as a label value: "unavailable", "deadline_exceeded", … (a closed set).
std::string StatusCodeLabel(absl::StatusCode code);

// Serializes a registry in the Prometheus text exposition format (version 0.0.4).
std::string SerializeMetrics(const prometheus::Registry& registry);

}  // namespace tact::ops

#define TACT_COUNTER_FIELD(name, help, labels) ::tact::ops::CounterFamily name{registry_, "tact_" #name, help, #labels};
#define TACT_GAUGE_FIELD(name, help, labels) ::tact::ops::GaugeFamily name{registry_, "tact_" #name, help, #labels};
#define TACT_HISTOGRAM_FIELD(name, help, labels) \
  ::tact::ops::HistogramFamily name{registry_, "tact_" #name, help, #labels};

// Defines `struct Name` with one family per entry of the X-macro LIST, registered in the constructor's registry.
#define TACT_STATS_STRUCT(Name, LIST)                                                  \
  struct Name {                                                                        \
    explicit Name(::prometheus::Registry& registry) : registry_(registry) {}           \
    Name(const Name&) = delete;                                                        \
    Name& operator=(const Name&) = delete;                                             \
                                                                                       \
   private:                                                                            \
    ::prometheus::Registry& registry_;                                                 \
                                                                                       \
   public:                                                                             \
    LIST(TACT_COUNTER_FIELD, TACT_GAUGE_FIELD, TACT_HISTOGRAM_FIELD)                   \
  }
