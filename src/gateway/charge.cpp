#include "gateway/charge.h"

#include <algorithm>

namespace clearhouse::gateway {

Charge charge_for(const UpstreamCall& call) {
  using http::UpstreamFailure;
  if (call.failure == UpstreamFailure::kConnect) return {.release = true};
  if (call.reported) return {.tokens = *call.reported};
  const bool answered = call.failure == UpstreamFailure::kNone;
  if (answered && (call.status < 200 || call.status >= 300)) return {.tokens = 0};
  if (call.status == 0) return {.tokens = call.reserved};
  if (answered) return {.tokens = std::min(call.reserved, call.observed.value_or(call.reserved))};
  return {.tokens = call.observed.value_or(call.reserved)};
}

}  // namespace clearhouse::gateway
