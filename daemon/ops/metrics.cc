#include "daemon/ops/metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cstdint>
#include <sstream>

namespace tact::ops {
namespace {

template <typename T>
prometheus::Family<T>& Register(prometheus::Registry& registry, const std::string& name, const std::string& help);

template <>
prometheus::Family<prometheus::Counter>& Register(prometheus::Registry& registry, const std::string& name,
                                                  const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}
template <>
prometheus::Family<prometheus::Gauge>& Register(prometheus::Registry& registry, const std::string& name,
                                                const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}
template <>
prometheus::Family<prometheus::Histogram>& Register(prometheus::Registry& registry, const std::string& name,
                                                    const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

template <typename T>
T& AddSeries(prometheus::Family<T>& family, const prometheus::Labels& labels) {
  return family.Add(labels);
}
template <>
prometheus::Histogram& AddSeries(prometheus::Family<prometheus::Histogram>& family, const prometheus::Labels& labels) {
  return family.Add(labels, LatencyBuckets());
}

// The cache key of a series: its label values, each after its length (unambiguous whatever bytes they hold).
void JoinValues(std::initializer_list<std::string_view> values, std::string& out) {
  out.clear();
  for (std::string_view v : values) {
    const uint32_t n = static_cast<uint32_t>(v.size());
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out.append(v);
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets{0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                                0.025,   0.05,   0.1,   0.25,   0.5,   1,
                                                                2.5,     5,      10};
  return kBuckets;
}

std::vector<std::string> ParseLabelNames(std::string_view text) {
  text = Trim(text);
  if (text.starts_with('(')) text.remove_prefix(1);
  if (text.ends_with(')')) text.remove_suffix(1);
  std::vector<std::string> names;
  while (!Trim(text).empty()) {
    const size_t comma = text.find(',');
    names.emplace_back(Trim(text.substr(0, comma)));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return names;
}

template <typename T>
Family<T>::Family(prometheus::Registry& registry, const std::string& name, const std::string& help,
                  std::string_view label_names)
    : family_(Register<T>(registry, name, help)), label_names_(ParseLabelNames(label_names)) {
  if (label_names_.empty()) {
    AddSeries(family_, {});  // an unlabeled series is exported from the start, at 0
  }
}

template <typename T>
prometheus::Labels Family<T>::Labels(std::initializer_list<std::string_view> values) const {
  assert(values.size() == label_names_.size() && "label values must match the declared label names");
  prometheus::Labels labels;
  size_t i = 0;
  for (std::string_view v : values) {
    if (i >= label_names_.size()) break;
    labels.emplace(label_names_[i++], std::string(v));
  }
  return labels;
}

template <typename T>
T& Family<T>::With(std::initializer_list<std::string_view> values) {
  thread_local std::string key;
  JoinValues(values, key);
  absl::MutexLock lock(&cache_->mu);
  if (auto it = cache_->series.find(absl::string_view(key.data(), key.size())); it != cache_->series.end()) {
    return *it->second;
  }
  T& series = AddSeries(family_, Labels(values));
  cache_->series.emplace(key, &series);
  return series;
}

template <typename T>
void Family<T>::Remove(std::initializer_list<std::string_view> values) {
  std::string key;
  JoinValues(values, key);
  const prometheus::Labels labels = Labels(values);
  absl::MutexLock lock(&cache_->mu);
  cache_->series.erase(key);
  if (family_.Has(labels)) {
    family_.Remove(&AddSeries(family_, labels));
  }
}

void HistogramFamily::ObserveTimes(std::initializer_list<std::string_view> values, double v, int64_t times) {
  if (times <= 0) return;
  const prometheus::Histogram::BucketBoundaries& bounds = LatencyBuckets();  // every series' (AddSeries)
  std::vector<double> increments(bounds.size() + 1, 0.0);  // the last: +Inf
  increments[static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin())] =
      static_cast<double>(times);  // the bucket Observe(v) counts in
  With(values).ObserveMultiple(increments, v * static_cast<double>(times));
}

template class Family<prometheus::Counter>;
template class Family<prometheus::Gauge>;
template class Family<prometheus::Histogram>;

std::string StatusCodeLabel(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  for (char& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name;
}

std::string SerializeMetrics(const prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

}  // namespace tact::ops
