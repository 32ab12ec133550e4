// YamlField and YamlMapping: typed, validated reads of a yaml-cpp document for config files, with
// every failure a ConfigError of one line "SOURCE:LINE: dotted.path: what is wrong (got "value")".
// They hold the schema-independent rules (types, ranges, unknown and duplicate keys, how a value is
// quoted in a message) so gateway_config.cpp reads as the schema only.
//
// Values are echoed in messages only through fail_with_value(), which callers skip for fields that
// may hold a secret (key hashes; a raw key pasted by mistake would otherwise be printed). Echoed
// values are cut to 40 characters with control characters replaced.
//
// An explicit null (`key:` or `key: ~`) counts as absent, so optional fields may be left empty.
//
// Thread-safety: plain values over a yaml-cpp node; not shared between threads.
//
// Example:
//   YamlMapping budget(root.child("budget"), {"completion_tokens", "window_seconds"});
//   std::int64_t tokens = budget.required("completion_tokens").integer({.min = 1});
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clearhouse::config {

// Inclusive bounds of an integer field.
struct IntegerRange {
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
};

// Bounds of a real field; values must also be finite.
struct NumberRange {
  double min = -std::numeric_limits<double>::max();
  bool min_exclusive = false;  // true: value > min; false: value >= min
  double max = std::numeric_limits<double>::max();
};

class YamlField {
 public:
  // `source` must outlive the field (it is the config's file name, owned by the parser).
  YamlField(YAML::Node node, std::string path, const std::string* source);

  [[nodiscard]] const YAML::Node& node() const { return node_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  // 1-based line of the node (of its parent when the node has no position).
  [[nodiscard]] int line() const { return line_; }
  [[nodiscard]] bool is_null() const { return !node_.IsDefined() || node_.IsNull(); }

  // Throws ConfigError "SOURCE:LINE: PATH: what".
  [[noreturn]] void fail(std::string_view what) const;
  // As fail(), followed by " (got ...)" describing the value.
  [[noreturn]] void fail_with_value(std::string_view what) const;
  // As fail(), followed by " (got ...)" naming only the kind of value (never its text).
  [[noreturn]] void fail_with_kind(std::string_view what) const;

  // A non-empty scalar, as written.
  [[nodiscard]] std::string string() const;
  [[nodiscard]] std::int64_t integer(IntegerRange range) const;
  [[nodiscard]] double number(NumberRange range) const;
  // The elements of a sequence, with paths "PATH[i]".
  [[nodiscard]] std::vector<YamlField> sequence() const;

  // A field for `child` of this node, at path "PATH.name"; used by YamlMapping.
  [[nodiscard]] YamlField child(YAML::Node child, std::string_view name, int line) const;

 private:
  [[nodiscard]] std::string got_value() const;
  [[nodiscard]] std::string got_kind() const;

  YAML::Node node_;
  std::string path_;
  const std::string* source_;
  int line_;
};

class YamlMapping {
 public:
  // Fails unless `field` is a mapping whose keys are distinct plain scalars, all among `known`
  // (the message for an unknown key lists the known ones).
  YamlMapping(const YamlField& field, std::initializer_list<std::string_view> known);

  [[nodiscard]] const YamlField& field() const { return field_; }
  // The value of `key`, or nullopt when it is absent or null.
  [[nodiscard]] std::optional<YamlField> optional(std::string_view key) const;
  // The value of `key`; fails "PATH.key: is required" at the mapping's line when absent or null.
  [[nodiscard]] YamlField required(std::string_view key) const;

 private:
  struct Entry {
    std::string key;
    YAML::Node value;
    int line = 0;
  };
  YamlField field_;
  std::vector<Entry> entries_;
};

// "1", "0.5", "1e+06": a number as a message shows it.
[[nodiscard]] std::string format_config_number(double value);

}  // namespace clearhouse::config
