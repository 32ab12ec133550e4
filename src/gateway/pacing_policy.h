// The gateway's two policy switches, shared by its config (gateway_config.h) and its pacer
// (pacer.h).
//
//  PacingPolicy: how a request's token cap is set online.
//    clear      CLEAR (Lambert): the cap t*(lambda) at the current shadow price, or abandoned when
//    the
//               query's surplus at that price is not positive (the default).
//    uniform    every request gets the same per-request allowance (for comparison).
//    predictor  the allowance scaled by the request's predicted threshold over the recent mean (for
//               comparison; the online form of the offline "predictor" policy).
//  AbandonAction: what happens to a request CLEAR abandons (or that the budget cannot fit).
//    reject     HTTP 429 with an OpenAI error body and Retry-After (the default).
//    degrade    served anyway with a small cap (`degrade_tokens`).
#pragma once

#include <optional>
#include <string_view>

namespace clearhouse::gateway {

enum class PacingPolicy { kClear, kUniform, kPredictor };
enum class AbandonAction { kReject, kDegrade };

[[nodiscard]] constexpr std::string_view to_string(PacingPolicy policy) {
  switch (policy) {
    case PacingPolicy::kClear: return "clear";
    case PacingPolicy::kUniform: return "uniform";
    case PacingPolicy::kPredictor: return "predictor";
  }
  return "?";
}

[[nodiscard]] constexpr std::string_view to_string(AbandonAction action) {
  switch (action) {
    case AbandonAction::kReject: return "reject";
    case AbandonAction::kDegrade: return "degrade";
  }
  return "?";
}

[[nodiscard]] constexpr std::optional<PacingPolicy> parse_pacing_policy(std::string_view name) {
  if (name == "clear") return PacingPolicy::kClear;
  if (name == "uniform") return PacingPolicy::kUniform;
  if (name == "predictor") return PacingPolicy::kPredictor;
  return std::nullopt;
}

[[nodiscard]] constexpr std::optional<AbandonAction> parse_abandon_action(std::string_view name) {
  if (name == "reject") return AbandonAction::kReject;
  if (name == "degrade") return AbandonAction::kDegrade;
  return std::nullopt;
}

}  // namespace clearhouse::gateway
