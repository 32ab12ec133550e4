// ReportedUsage: the completion tokens an upstream reported, with the reasoning tokens among them,
// in one of three states: absent (no usage, no count, or null), a count, or implausible. The
// gateway settles a request with what its upstream reported, so a report must never be clamped or
// thrown on: a value that cannot be a count of generated tokens (negative, fractional, not a
// number, above kMaxPlausibleTokens, like 1e18) is kept as implausible with the reason, and the
// caller treats it as the upstream's protocol error (gateway/charge.h). Whether a count is
// plausible for one request (at most what the request could generate) is the caller's to check:
// the parser does not know the cap.
//
// Shapes read (both OpenAI APIs, so any caller works for either):
//   Chat Completions / Completions  usage.completion_tokens,
//                                   usage.completion_tokens_details.reasoning_tokens
//   Responses                       usage.output_tokens (when completion_tokens is absent),
//                                   usage.output_tokens_details.reasoning_tokens
// The completion count includes the reasoning tokens (OpenAI, vLLM and llama.cpp all count them
// in it): reasoning_tokens() says how many of tokens() were reasoning, never extra. A reasoning
// count that is not a plausible count, or exceeds the completion count, makes the whole report
// implausible; reasoning reported without a completion count is ignored (nothing to settle).
//
// Several reports in one stream: merge() is the rule for an upstream that reports once (OpenAI's
// usage-only chunk, llama.cpp's final chunk): a repeat must be identical. advance() is the rule for
// continuous usage (vLLM's stream_options.continuous_usage_stats: every chunk carries the usage so
// far): counts may grow, the last is the answer's, a decrease is implausible. The stream relay
// (stream_relay.h) decides which rule a stream follows.
//
// Units: completion (output) tokens. Thread-safety: plain values and pure functions.
//
//   ReportedUsage u = reported_usage(chunk);            // chunk: a parsed response or SSE chunk
//   if (u.implausible()) log(u.problem());
//   else if (const auto tokens = u.tokens()) charge(*tokens, u.reasoning_tokens().value_or(0));
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
  ReportedUsage() = default;  // absent
  // 0 <= reasoning <= tokens <= the bound.
  [[nodiscard]] static ReportedUsage of(std::int64_t tokens,
                                        std::optional<std::int64_t> reasoning = std::nullopt);
  // `problem` must be a string with static storage (a literal): it is kept as a view.
  [[nodiscard]] static ReportedUsage implausible_because(std::string_view problem);

  // The count, when one was reported and is a whole number in [0, kMaxPlausibleTokens].
  [[nodiscard]] std::optional<std::int64_t> tokens() const { return tokens_; }
  // How many of tokens() were reasoning, when the upstream said (only ever set with tokens()).
  [[nodiscard]] std::optional<std::int64_t> reasoning_tokens() const { return reasoning_; }
  [[nodiscard]] bool implausible() const { return !problem_.empty(); }
  [[nodiscard]] bool absent() const { return !tokens_ && !implausible(); }
  // Why the report is implausible ("" when it is not): fixed text, never the upstream's bytes.
  [[nodiscard]] std::string_view problem() const { return problem_; }

  // A later report of the same request, for an upstream that reports once: the same report, or an
  // absent one, changes nothing; a different one, or an implausible one, makes the whole report
  // implausible (an upstream must not revise what it charges).
  void merge(const ReportedUsage& later);
  // A later report of a stream with continuous usage: an absent one changes nothing; counts that
  // stay or grow replace these; a count that decreases, or an implausible report, makes the whole
  // report implausible.
  void advance(const ReportedUsage& later);

  friend bool operator==(const ReportedUsage&, const ReportedUsage&) = default;

 private:
  std::optional<std::int64_t> tokens_;
  std::optional<std::int64_t> reasoning_;
  std::string_view problem_;
};

// The usage an OpenAI response, stream chunk or Responses object (a parsed JSON value) reports.
[[nodiscard]] ReportedUsage reported_usage(const nlohmann::json& object);

// The same, read from the JSON text of a whole response without building a DOM (simdjson's
// On-Demand API: the gateway needs only the usage of an answer it passes on as bytes). For valid
// JSON it equals reported_usage(json::parse(text)), a repeated key's last value included; text
// that is not one JSON object reports nothing (absent), as a failed parse does. On-Demand does not
// validate the values it skips, nor what follows the object, so a document broken only there may
// still report its usage, where the DOM parse reports none. Thread-safe (a parser per thread).
[[nodiscard]] ReportedUsage reported_usage_in(std::string_view json_text);

}  // namespace clearhouse::openai
