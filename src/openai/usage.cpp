#include "openai/usage.h"

#include <cassert>
#include <cmath>
#include <limits>

namespace clearhouse::openai {
namespace {

using nlohmann::json;

// A whole number of tokens from a JSON number, or the reason it is not one.
ReportedUsage count_from(const json& value) {
  if (value.is_number_unsigned()) {
    const std::uint64_t v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return ReportedUsage::implausible_because("completion_tokens is beyond any count");
    }
    return ReportedUsage::of(static_cast<std::int64_t>(v));
  }
  if (value.is_number_integer()) {
    const std::int64_t v = value.get<std::int64_t>();
    if (v < 0) return ReportedUsage::implausible_because("completion_tokens is negative");
    return ReportedUsage::of(v);
  }
  if (value.is_number_float()) {
    // 512.0 is a whole number (as the request parser accepts it in max_tokens); 1e18 is too, and
    // the caller compares it with what the request could generate.
    const double d = value.get<double>();
    if (!(d >= 0.0)) return ReportedUsage::implausible_because("completion_tokens is negative");
    // 2^63 as a double; converting anything at or above it to int64 is undefined behaviour.
    if (d >= 9223372036854775808.0) {
      return ReportedUsage::implausible_because("completion_tokens is beyond any count");
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
  assert(tokens >= 0);
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
