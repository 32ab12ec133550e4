// ReportedUsage: usage.completion_tokens as an upstream reported it, in one of three states:
// absent (no usage, or no completion_tokens, or null), a token count, or implausible. The gateway
// settles a request with what its upstream reported, so a report must never be clamped or thrown
// on: a value that cannot be a count of generated tokens (negative, fractional, not a number,
// above kMaxPlausibleTokens, like 1e18) is kept as implausible with the reason, and the caller
// treats it as the upstream's protocol error (gateway/charge.h). Whether a count is plausible for
// one request (at most what the request could generate) is the caller's to check: the parser does
// not know the cap.
//
// Units: completion (output) tokens. Thread-safety: plain values and pure functions.
//
//   ReportedUsage u = reported_usage(chunk);            // chunk: a parsed response or SSE chunk
//   if (u.implausible()) log(u.problem());
//   else if (const auto tokens = u.tokens()) charge(*tokens);
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace clearhouse::openai {

// No request generates more tokens than this (2^40, the ledger's own bound on one call); a larger
// count is implausible whatever the request.
inline constexpr std::int64_t kMaxPlausibleTokens = std::int64_t{1} << 40;

class ReportedUsage {
 public:
  ReportedUsage() = default;                                   // absent
  [[nodiscard]] static ReportedUsage of(std::int64_t tokens);  // 0 <= tokens <= the bound
  // `problem` must be a string with static storage (a literal): it is kept as a view.
  [[nodiscard]] static ReportedUsage implausible_because(std::string_view problem);

  // The count, when one was reported and is a whole number in [0, kMaxPlausibleTokens].
  [[nodiscard]] std::optional<std::int64_t> tokens() const { return tokens_; }
  [[nodiscard]] bool implausible() const { return !problem_.empty(); }
  [[nodiscard]] bool absent() const { return !tokens_ && !implausible(); }
  // Why the report is implausible ("" when it is not): fixed text, never the upstream's bytes.
  [[nodiscard]] std::string_view problem() const { return problem_; }

  // A later report of the same request (a stream may carry usage in several chunks): the same
  // count, or an absent one, changes nothing; a different count, or an implausible one, makes the
  // whole report implausible (an upstream must not revise what it charges).
  void merge(const ReportedUsage& later);

  friend bool operator==(const ReportedUsage&, const ReportedUsage&) = default;

 private:
  std::optional<std::int64_t> tokens_;
  std::string_view problem_;
};

// The usage an OpenAI response or stream chunk (a parsed JSON value) reports.
[[nodiscard]] ReportedUsage reported_usage(const nlohmann::json& object);

}  // namespace clearhouse::openai
