#include "gateway/charge.h"

#include <algorithm>
#include <string>

namespace clearhouse::gateway {

Charge charge_for(const UpstreamCall& call) {
  using http::UpstreamFailure;
  if (call.failure == UpstreamFailure::kConnect) return {.release = true};
  if (call.reported.implausible()) {
    return {.tokens = call.reserved, .protocol_error = std::string(call.reported.problem())};
  }
  if (const auto reported = call.reported.tokens()) {
    if (*reported > call.reserved) {
      return {.tokens = call.reserved,
              .protocol_error = "reported " + std::to_string(*reported) +
                                " completion tokens, more than the " +
                                std::to_string(call.reserved) + " it could generate"};
    }
    return {.tokens = *reported, .reasoning_tokens = call.reported.reasoning_tokens().value_or(0)};
  }
  const bool answered = call.failure == UpstreamFailure::kNone;
  if (answered && (call.status < 200 || call.status >= 300)) return {.tokens = 0};
  if (call.status == 0) return {.tokens = call.reserved};
  // Observed tokens are bounded by the reservation whatever the path: what arrived past the cap was
  // never the client's to spend.
  return {.tokens = std::min(call.reserved, call.observed.value_or(call.reserved))};
}

}  // namespace clearhouse::gateway
