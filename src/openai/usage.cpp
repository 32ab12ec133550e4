#include "openai/usage.h"

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

// A whole number of tokens from a JSON number, or the reason it is not one.
ReportedUsage count_from(const json& value, const FieldProblems& p) {
  if (value.is_number_unsigned()) {
    const std::uint64_t v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(kMaxPlausibleTokens)) {
      return ReportedUsage::implausible_because(p.too_large);
    }
    return ReportedUsage::of(static_cast<std::int64_t>(v));
  }
  if (value.is_number_integer()) {
    const std::int64_t v = value.get<std::int64_t>();
    if (v < 0) return ReportedUsage::implausible_because(p.negative);
    if (v > kMaxPlausibleTokens) return ReportedUsage::implausible_because(p.too_large);
    return ReportedUsage::of(v);
  }
  if (value.is_number_float()) {
    // 512.0 is a whole number (as the request parser takes 512.0 in max_tokens). The range is
    // checked first: converting a double beyond int64 (1e300) is undefined behaviour.
    const double d = value.get<double>();
    if (!(d >= 0.0)) return ReportedUsage::implausible_because(p.negative);
    if (d > static_cast<double>(kMaxPlausibleTokens)) {
      return ReportedUsage::implausible_because(p.too_large);
    }
    if (d != std::floor(d)) return ReportedUsage::implausible_because(p.fractional);
    return ReportedUsage::of(static_cast<std::int64_t>(d));
  }
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

}  // namespace clearhouse::openai
