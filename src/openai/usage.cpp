#include "openai/usage.h"

#include <simdjson.h>

#include <cassert>
#include <cmath>

namespace clearhouse::openai {
namespace {

using nlohmann::json;

// The problems of one count field, as literals (ReportedUsage keeps a view).
struct FieldProblems {
  std::string_view negative;
  std::string_view too_large;
  std::string_view fractional;
  std::string_view not_number;
};

constexpr FieldProblems kCompletionProblems{
    "completion_tokens is negative", "completion_tokens is more than any request generates",
    "completion_tokens is not a whole number", "completion_tokens is not a number"};
constexpr FieldProblems kOutputProblems{
    "output_tokens is negative", "output_tokens is more than any request generates",
    "output_tokens is not a whole number", "output_tokens is not a number"};
constexpr FieldProblems kReasoningProblems{
    "reasoning_tokens is negative", "reasoning_tokens is more than any request generates",
    "reasoning_tokens is not a whole number", "reasoning_tokens is not a number"};

ReportedUsage count_from_integer(std::int64_t v, const FieldProblems& p) {
  if (v < 0) return ReportedUsage::implausible_because(p.negative);
  if (v > kMaxPlausibleTokens) return ReportedUsage::implausible_because(p.too_large);
  return ReportedUsage::of(v);
}

// 512.0 is a whole number (as the request parser takes 512.0 in max_tokens). The range is checked
// first: converting a double beyond int64 (1e300) is undefined behaviour.
ReportedUsage count_from_double(double d, const FieldProblems& p) {
  if (!(d >= 0.0)) return ReportedUsage::implausible_because(p.negative);
  if (d > static_cast<double>(kMaxPlausibleTokens)) {
    return ReportedUsage::implausible_because(p.too_large);
  }
  if (d != std::floor(d)) return ReportedUsage::implausible_because(p.fractional);
  return ReportedUsage::of(static_cast<std::int64_t>(d));
}

// A whole number of tokens from a JSON number, or the reason it is not one.
ReportedUsage count_from(const json& value, const FieldProblems& p) {
  if (value.is_number_unsigned()) {
    const std::uint64_t v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(kMaxPlausibleTokens)) {
      return ReportedUsage::implausible_because(p.too_large);
    }
    return ReportedUsage::of(static_cast<std::int64_t>(v));
  }
  if (value.is_number_integer()) return count_from_integer(value.get<std::int64_t>(), p);
  if (value.is_number_float()) return count_from_double(value.get<double>(), p);
  return ReportedUsage::implausible_because(p.not_number);
}

// usage[key] when present and not null.
const json* member(const json& usage, const char* key) {
  const auto it = usage.find(key);
  if (it == usage.end() || it->is_null()) return nullptr;
  return &*it;
}

// usage.<details>.reasoning_tokens of whichever details object is there (absent: nullopt count).
ReportedUsage reasoning_of(const json& usage) {
  for (const char* details : {"completion_tokens_details", "output_tokens_details"}) {
    const json* d = member(usage, details);
    if (d == nullptr || !d->is_object()) continue;
    if (const json* r = member(*d, "reasoning_tokens")) return count_from(*r, kReasoningProblems);
  }
  return {};
}

// --- The same rules over simdjson's On-Demand values (reported_usage_in) ---

namespace od = simdjson::ondemand;

// A whole number of tokens from a JSON value, classified as count_from classifies nlohmann's.
ReportedUsage count_from(od::value value, const FieldProblems& p) {
  od::json_type type{};
  if (value.type().get(type) || type != od::json_type::number) {
    return ReportedUsage::implausible_because(p.not_number);
  }
  od::number number;
  if (value.get_number().get(number)) {
    // A valid JSON number simdjson cannot hold (beyond 64 bits, or beyond a double's range):
    // nlohmann makes it a double, negative or far above the bound.
    const std::string_view raw = value.raw_json_token();
    return ReportedUsage::implausible_because(!raw.empty() && raw.front() == '-' ? p.negative
                                                                                 : p.too_large);
  }
  switch (number.get_number_type()) {
    case od::number_type::unsigned_integer:  // above INT64_MAX
      return ReportedUsage::implausible_because(p.too_large);
    case od::number_type::signed_integer: return count_from_integer(number.get_int64(), p);
    case od::number_type::floating_point_number: break;
  }
  return count_from_double(number.get_double(), p);
}

// A member's state as the DOM rules see it: absent (missing or null) or its classified count.
struct Member {
  bool present = false;
  ReportedUsage count;
};

// True for a JSON null (a value is_null() cannot read is not null: count_from says what it is).
bool is_null(od::value& value) {
  bool null = false;
  return !value.is_null().get(null) && null;
}

Member member_count(od::value value, const FieldProblems& p) {
  if (is_null(value)) return {};
  return {true, count_from(value, p)};
}

// <details>.reasoning_tokens: present when the details value is an object holding a non-null
// reasoning_tokens (the last one, when repeated). False from `ok` when the text is broken.
Member details_reasoning(od::value value, bool& ok) {
  od::object details;
  if (value.get_object().get(details)) return {};  // null, or not an object: ignored
  Member reasoning;
  for (auto field : details) {
    std::string_view key;
    od::value v;
    if (field.unescaped_key().get(key) || field.value().get(v)) {
      ok = false;
      return {};
    }
    if (key == "reasoning_tokens") reasoning = member_count(v, kReasoningProblems);
  }
  return reasoning;
}

// The usage object's members the rules read; false when the text is broken.
struct UsageMembers {
  Member completion, output;
  bool completion_details = false, output_details = false;  // an object with reasoning_tokens
  Member completion_reasoning, output_reasoning;
};

bool read_usage_members(od::object usage, UsageMembers& m) {
  bool ok = true;
  for (auto field : usage) {
    std::string_view key;
    od::value v;
    if (field.unescaped_key().get(key) || field.value().get(v)) return false;
    if (key == "completion_tokens") {
      m.completion = member_count(v, kCompletionProblems);
    } else if (key == "output_tokens") {
      m.output = member_count(v, kOutputProblems);
    } else if (key == "completion_tokens_details") {
      m.completion_reasoning = details_reasoning(v, ok);
    } else if (key == "output_tokens_details") {
      m.output_reasoning = details_reasoning(v, ok);
    }
    if (!ok) return false;
  }
  return true;
}

ReportedUsage usage_from_members(const UsageMembers& m) {
  const ReportedUsage completion = m.completion.present ? m.completion.count
                                   : m.output.present   ? m.output.count
                                                        : ReportedUsage{};
  if (!completion.tokens()) return completion;
  const Member& reasoning =
      m.completion_reasoning.present ? m.completion_reasoning : m.output_reasoning;
  if (!reasoning.present) return completion;
  if (reasoning.count.implausible()) return reasoning.count;
  if (*reasoning.count.tokens() > *completion.tokens()) {
    return ReportedUsage::implausible_because("reasoning_tokens exceeds the completion tokens");
  }
  return ReportedUsage::of(*completion.tokens(), *reasoning.count.tokens());
}

}  // namespace

ReportedUsage ReportedUsage::of(std::int64_t tokens, std::optional<std::int64_t> reasoning) {
  assert(tokens >= 0 && tokens <= kMaxPlausibleTokens);
  assert(!reasoning || (*reasoning >= 0 && *reasoning <= tokens));
  ReportedUsage u;
  u.tokens_ = tokens;
  u.reasoning_ = reasoning;
  return u;
}

ReportedUsage ReportedUsage::implausible_because(std::string_view problem) {
  assert(!problem.empty());
  ReportedUsage u;
  u.problem_ = problem;
  return u;
}

void ReportedUsage::merge(const ReportedUsage& later) {
  if (implausible() || later.absent()) return;
  if (later.implausible()) {
    *this = later;
  } else if (absent()) {
    *this = later;
  } else if (tokens_ != later.tokens_) {
    *this = implausible_because("usage was reported twice with different completion_tokens");
  } else if (reasoning_ != later.reasoning_) {
    *this = implausible_because("usage was reported twice with different reasoning_tokens");
  }
}

void ReportedUsage::advance(const ReportedUsage& later) {
  if (implausible() || later.absent()) return;
  if (later.implausible() || absent()) {
    *this = later;
  } else if (*later.tokens_ < *tokens_) {
    *this = implausible_because("continuous usage decreased completion_tokens");
  } else if (later.reasoning_.value_or(0) < reasoning_.value_or(0)) {
    *this = implausible_because("continuous usage decreased reasoning_tokens");
  } else {
    *this = later;
  }
}

ReportedUsage reported_usage(const json& object) {
  if (!object.is_object()) return {};
  const auto usage = object.find("usage");
  if (usage == object.end() || usage->is_null()) return {};
  if (!usage->is_object()) return ReportedUsage::implausible_because("usage is not an object");
  ReportedUsage completion;
  if (const json* tokens = member(*usage, "completion_tokens")) {
    completion = count_from(*tokens, kCompletionProblems);
  } else if (const json* output = member(*usage, "output_tokens")) {
    completion = count_from(*output, kOutputProblems);
  }
  if (!completion.tokens()) return completion;  // absent or implausible: reasoning is moot
  const ReportedUsage reasoning = reasoning_of(*usage);
  if (reasoning.implausible()) return reasoning;
  if (const auto r = reasoning.tokens()) {
    if (*r > *completion.tokens()) {
      return ReportedUsage::implausible_because("reasoning_tokens exceeds the completion tokens");
    }
    return ReportedUsage::of(*completion.tokens(), *r);
  }
  return completion;
}

ReportedUsage reported_usage_in(std::string_view json_text) {
  thread_local od::parser parser;
  const simdjson::padded_string padded(json_text);
  od::document document;
  od::object top;
  if (parser.iterate(padded).get(document) || document.get_object().get(top)) return {};
  // Every top-level member is walked, so a repeated "usage" counts by its last value (as in the
  // DOM) and a document broken after the usage (within the object) reports nothing.
  std::optional<ReportedUsage> usage;
  for (auto field : top) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) return {};
    if (key != "usage") continue;
    if (is_null(value)) {
      usage.reset();
      continue;
    }
    od::object object;
    if (value.get_object().get(object)) {
      usage = ReportedUsage::implausible_because("usage is not an object");
      continue;
    }
    UsageMembers members;
    if (!read_usage_members(object, members)) return {};
    usage = usage_from_members(members);
  }
  return usage.value_or(ReportedUsage{});
}

}  // namespace clearhouse::openai
