#include "config/yaml_fields.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

#include "config/config_error.h"

namespace clearhouse::config {
namespace {

constexpr std::size_t kMaxEchoedChars = 40;

int line_of(const YAML::Node& node, int fallback) {
  if (!node.IsDefined()) return fallback;
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark.line + 1;
}

std::string describe_range(const IntegerRange& range) {
  const bool has_min = range.min != std::numeric_limits<std::int64_t>::min();
  const bool has_max = range.max != std::numeric_limits<std::int64_t>::max();
  if (has_min && has_max) {
    return "in [" + std::to_string(range.min) + ", " + std::to_string(range.max) + "]";
  }
  if (has_min) return ">= " + std::to_string(range.min);
  if (has_max) return "<= " + std::to_string(range.max);
  return {};
}

std::string describe_range(const NumberRange& range) {
  const bool has_min = range.min != -std::numeric_limits<double>::max();
  const bool has_max = range.max != std::numeric_limits<double>::max();
  const std::string min = format_config_number(range.min);
  const std::string max = format_config_number(range.max);
  if (has_min && has_max && !range.min_exclusive) return "in [" + min + ", " + max + "]";
  std::string text;
  if (has_min) text = (range.min_exclusive ? "> " : ">= ") + min;
  if (has_max) text += (text.empty() ? "<= " : " and <= ") + max;
  return text;
}

}  // namespace

std::string format_config_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

YamlField::YamlField(YAML::Node node, std::string path, const std::string* source)
    : node_(std::move(node)), path_(std::move(path)), source_(source), line_(line_of(node_, 1)) {}

YamlField YamlField::child(YAML::Node child, std::string_view name, int line) const {
  std::string path = path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  YamlField field(std::move(child), std::move(path), source_);
  // A null value (`key:`) has no position of its own in yaml-cpp; the key's line is the useful one.
  field.line_ = line_of(field.node_, line);
  return field;
}

void YamlField::fail(std::string_view what) const {
  std::string message = *source_ + ":" + std::to_string(line_) + ": ";
  if (!path_.empty()) message += path_ + ": ";
  message += what;
  throw ConfigError(message);
}

void YamlField::fail_with_value(std::string_view what) const {
  fail(std::string(what) + " (got " + got_value() + ")");
}

void YamlField::fail_with_kind(std::string_view what) const {
  fail(std::string(what) + " (got " + got_kind() + ")");
}

std::string YamlField::got_kind() const {
  if (is_null()) return "nothing";
  if (node_.IsMap()) return "a mapping";
  if (node_.IsSequence()) return "a list";
  return "a scalar";
}

std::string YamlField::got_value() const {
  if (!node_.IsDefined() || !node_.IsScalar()) return got_kind();
  const std::string& text = node_.Scalar();
  std::string shown = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxEchoedChars; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    shown += (c < 0x20 || c == 0x7f || c == '"') ? '?' : text[i];
  }
  if (text.size() > kMaxEchoedChars) shown += "...";
  return shown + "\"";
}

std::string YamlField::string() const {
  if (is_null()) fail("must be a non-empty string (got nothing)");
  if (!node_.IsScalar()) fail_with_kind("must be a string");
  if (node_.Scalar().empty()) fail("must be a non-empty string");
  return node_.Scalar();
}

std::int64_t YamlField::integer(IntegerRange range) const {
  const std::string expected = "must be an integer " + describe_range(range);
  if (is_null() || !node_.IsScalar()) fail_with_kind(expected);
  const std::string& text = node_.Scalar();
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < range.min ||
      value > range.max) {
    fail_with_value(expected);
  }
  return value;
}

double YamlField::number(NumberRange range) const {
  const std::string expected = "must be a number " + describe_range(range);
  if (is_null() || !node_.IsScalar()) fail_with_kind(expected);
  const std::string& text = node_.Scalar();
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool above_min = range.min_exclusive ? value > range.min : value >= range.min;
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
      !above_min || !(value <= range.max)) {
    fail_with_value(expected);
  }
  return value;
}

std::vector<YamlField> YamlField::sequence() const {
  if (is_null() || !node_.IsSequence()) fail_with_kind("must be a list");
  std::vector<YamlField> elements;
  elements.reserve(node_.size());
  for (std::size_t i = 0; i < node_.size(); ++i) {
    YamlField element(node_[i], path_ + "[" + std::to_string(i) + "]", source_);
    if (element.is_null()) element.line_ = line_;
    elements.push_back(std::move(element));
  }
  return elements;
}

YamlMapping::YamlMapping(const YamlField& field, std::initializer_list<std::string_view> known)
    : field_(field) {
  if (field.is_null() || !field.node().IsMap()) field.fail_with_kind("must be a mapping");
  for (auto it = field.node().begin(); it != field.node().end(); ++it) {
    const int line = line_of(it->first, field.line());
    if (!it->first.IsScalar()) {
      field.child(it->first, "?", line).fail("keys must be plain names");
    }
    std::string key = it->first.Scalar();
    const YamlField entry = field.child(it->second, key, line);
    bool is_known = false;
    std::string known_list;
    for (std::string_view k : known) {
      is_known = is_known || k == key;
      known_list += (known_list.empty() ? "" : ", ") + std::string(k);
    }
    if (!is_known) entry.fail("unknown key (known: " + known_list + ")");
    for (const Entry& earlier : entries_) {
      if (earlier.key == key) {
        entry.fail("duplicate key (first on line " + std::to_string(earlier.line) + ")");
      }
    }
    entries_.push_back({std::move(key), it->second, line});
  }
}

std::optional<YamlField> YamlMapping::optional(std::string_view key) const {
  for (const Entry& entry : entries_) {
    if (entry.key == key) {
      YamlField value = field_.child(entry.value, key, entry.line);
      if (value.is_null()) return std::nullopt;
      return value;
    }
  }
  return std::nullopt;
}

YamlField YamlMapping::required(std::string_view key) const {
  if (auto value = optional(key)) return *value;
  int line = field_.line();
  for (const Entry& entry : entries_) {
    if (entry.key == key) line = entry.line;
  }
  field_.child(YAML::Node(), key, line).fail("is required");
}

}  // namespace clearhouse::config
