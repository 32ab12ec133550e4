#include "metrics/prometheus.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <functional>

namespace clearhouse::prometheus {

void DoubleCounter::add(double amount) {
  if (!(amount > 0.0)) return;  // also drops NaN
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds.size() + 1)) {
  assert(std::all_of(upper_bounds.begin(), upper_bounds.end(),
                     [](double b) { return std::isfinite(b); }));
  assert(std::adjacent_find(upper_bounds.begin(), upper_bounds.end(), std::greater_equal<>()) ==
         upper_bounds.end());
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;
  value = std::max(value, 0.0);
  // The first bound >= value; past the end is the +Inf bucket.
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot snapshot;
  snapshot.upper_bounds = upper_bounds_;
  snapshot.cumulative.resize(upper_bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = running;
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::array<char, 32> buffer{};  // the shortest round-trip form of a double fits in 24 characters
  const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  assert(error == std::errc());
  return std::string(buffer.data(), end);
}

namespace {

// Bucket bounds read better in fixed notation ("0.0001", not "1e-04"); they are all small enough.
std::string format_bound(double bound) {
  std::array<char, 64> buffer{};
  const auto [end, error] =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), bound, std::chars_format::fixed);
  if (error != std::errc()) return format_value(bound);
  return std::string(buffer.data(), end);
}

}  // namespace

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += escape_help(help);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void TextWriter::sample_prefix(std::string_view name, Labels labels, const Label* extra) {
  text_ += name;
  if (labels.size() == 0 && extra == nullptr) {
    text_ += ' ';
    return;
  }
  text_ += '{';
  bool first = true;
  const auto append = [&](const Label& label) {
    if (!first) text_ += ',';
    first = false;
    text_ += label.first;
    text_ += "=\"";
    text_ += escape_label_value(label.second);
    text_ += '"';
  };
  for (const Label& label : labels) append(label);
  if (extra != nullptr) append(*extra);
  text_ += "} ";
}

void TextWriter::sample(std::string_view name, Labels labels, double value) {
  sample_prefix(name, labels);
  text_ += format_value(value);
  text_ += '\n';
}

void TextWriter::sample(std::string_view name, Labels labels, std::uint64_t value) {
  sample_prefix(name, labels);
  text_ += std::to_string(value);
  text_ += '\n';
}

void TextWriter::sample(std::string_view name, Labels labels, std::int64_t value) {
  sample_prefix(name, labels);
  text_ += std::to_string(value);
  text_ += '\n';
}

void TextWriter::histogram(std::string_view name, Labels labels,
                           const HistogramSnapshot& snapshot) {
  const std::string bucket_name = std::string(name) + "_bucket";
  for (std::size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    const std::string le =
        i < snapshot.upper_bounds.size() ? format_bound(snapshot.upper_bounds[i]) : "+Inf";
    const Label le_label{"le", le};
    sample_prefix(bucket_name, labels, &le_label);
    text_ += std::to_string(snapshot.cumulative[i]);
    text_ += '\n';
  }
  sample(std::string(name) + "_sum", labels, snapshot.sum);
  sample(std::string(name) + "_count", labels, snapshot.count());
}

}  // namespace clearhouse::prometheus
