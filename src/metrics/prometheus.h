// A minimal Prometheus client: lock-free counters and histograms, and a writer for the text
// exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/). It is the
// generic layer under GatewayMetrics (metrics.h), which holds the gateway's catalogue of metric
// names.
//
// Contract: Counter, DoubleCounter and Histogram are updated with relaxed atomics (no lock, no
// allocation), so the request path pays a few uncontended-or-not atomic adds per observation. A
// scrape reads them while they change: each value read is one that existed, but two series are not
// read at one instant. Histogram::snapshot() derives the count from the buckets it read, so a
// rendered histogram is always self-consistent (cumulative buckets, +Inf == _count); only _sum may
// lag by the observations in flight.
//
// Units are the caller's (name them in the metric name: `_seconds`, `_tokens_total`). Observations
// that are NaN are dropped (one NaN would poison _sum for the life of the process); negative ones
// are counted as 0 (a clock step backwards must not make a duration negative).
//
// TextWriter checks nothing about names (they are compile-time constants of the catalogue) but
// escapes label values and HELP text as the format requires, so any operator-configured string is
// safe as a label value.
//
// Thread-safety: Counter, DoubleCounter and Histogram are safe from any number of threads; a
// TextWriter belongs to one thread.
//
// Example:
//   static constexpr double kBounds[] = {0.001, 0.01, 0.1, 1};
//   Histogram latency(kBounds);
//   latency.observe(0.004);
//   TextWriter out;
//   out.family("app_latency_seconds", "histogram", "Time to answer.");
//   out.histogram("app_latency_seconds", {{"route", "a"}}, latency.snapshot());
//   std::string body = out.take();
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clearhouse::prometheus {

// A monotonically increasing integer count.
class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A monotonically increasing real-valued total (money). add() ignores NaN and negative amounts.
class DoubleCounter {
 public:
  void add(double amount);
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

struct HistogramSnapshot {
  std::span<const double> upper_bounds;   // finite, increasing; the +Inf bucket is implicit
  std::vector<std::uint64_t> cumulative;  // upper_bounds.size() + 1 entries, the last one is +Inf
  double sum = 0.0;
  [[nodiscard]] std::uint64_t count() const { return cumulative.back(); }
};

// Observations counted in buckets `value <= bound` (Prometheus' `le`), plus their sum.
class Histogram {
 public:
  // `upper_bounds` must be finite and strictly increasing, and must outlive the histogram (pass a
  // static array).
  explicit Histogram(std::span<const double> upper_bounds);
  void observe(double value);
  [[nodiscard]] HistogramSnapshot snapshot() const;

 private:
  std::span<const double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<double> sum_{0.0};
};

using Label = std::pair<std::string_view, std::string_view>;  // name, value
using Labels = std::initializer_list<Label>;

// `\` → `\\`, `"` → `\"`, newline → `\n` (label values).
[[nodiscard]] std::string escape_label_value(std::string_view value);
// `\` → `\\`, newline → `\n` (HELP text).
[[nodiscard]] std::string escape_help(std::string_view text);
// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN" for the special values.
[[nodiscard]] std::string format_value(double value);

// Builds an exposition body: for each metric family, family() once, then its samples.
class TextWriter {
 public:
  // `type` is "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, Labels labels, double value);
  void sample(std::string_view name, Labels labels, std::uint64_t value);
  void sample(std::string_view name, Labels labels, std::int64_t value);
  // The `_bucket` (with `le`), `_sum` and `_count` samples of one histogram series.
  void histogram(std::string_view name, Labels labels, const HistogramSnapshot& snapshot);
  [[nodiscard]] std::string take() { return std::move(text_); }

 private:
  void sample_prefix(std::string_view name, Labels labels, const Label* extra = nullptr);
  std::string text_;
};

}  // namespace clearhouse::prometheus
