#include "openai/usage.h"

#include <cassert>
#include <cmath>

namespace clearhouse::openai {
namespace {

using nlohmann::json;

constexpr std::string_view kTooLarge = "completion_tokens is more than any request generates";

// A whole number of tokens from a JSON number, or the reason it is not one.
ReportedUsage count_from(const json& value) {
  if (value.is_number_unsigned()) {
    const std::uint64_t v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(kMaxPlausibleTokens)) {
      return ReportedUsage::implausible_because(kTooLarge);
    }
    return ReportedUsage::of(static_cast<std::int64_t>(v));
  }
  if (value.is_number_integer()) {
    const std::int64_t v = value.get<std::int64_t>();
    if (v < 0) return ReportedUsage::implausible_because("completion_tokens is negative");
    if (v > kMaxPlausibleTokens) return ReportedUsage::implausible_because(kTooLarge);
    return ReportedUsage::of(v);
  }
  if (value.is_number_float()) {
    // 512.0 is a whole number (as the request parser takes 512.0 in max_tokens). The range is
    // checked first: converting a double beyond int64 (1e300) is undefined behaviour.
    const double d = value.get<double>();
    if (!(d >= 0.0)) return ReportedUsage::implausible_because("completion_tokens is negative");
    if (d > static_cast<double>(kMaxPlausibleTokens)) {
      return ReportedUsage::implausible_because(kTooLarge);
    }
    if (d != std::floor(d)) {
      return ReportedUsage::implausible_because("completion_tokens is not a whole number");
    }
    return ReportedUsage::of(static_cast<std::int64_t>(d));
  }
  return ReportedUsage::implausible_because("completion_tokens is not a number");
}

}  // namespace

ReportedUsage ReportedUsage::of(std::int64_t tokens) {
  assert(tokens >= 0 && tokens <= kMaxPlausibleTokens);
  ReportedUsage u;
  u.tokens_ = tokens;
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
    tokens_ = later.tokens_;
  } else if (tokens_ != later.tokens_) {
    *this = implausible_because("usage was reported twice with different completion_tokens");
  }
}

ReportedUsage reported_usage(const json& object) {
  if (!object.is_object()) return {};
  const auto usage = object.find("usage");
  if (usage == object.end() || usage->is_null()) return {};
  if (!usage->is_object()) return ReportedUsage::implausible_because("usage is not an object");
  const auto tokens = usage->find("completion_tokens");
  if (tokens == usage->end() || tokens->is_null()) return {};
  return count_from(*tokens);
}

}  // namespace clearhouse::openai
