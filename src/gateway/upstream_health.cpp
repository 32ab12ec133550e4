#include "gateway/upstream_health.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace clearhouse::gateway {

std::string_view to_string(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed: return "closed";
    case CircuitState::kOpen: return "open";
    case CircuitState::kHalfOpen: return "half_open";
  }
  return "?";
}

UpstreamHealth::UpstreamHealth(std::size_t upstreams, HealthOptions options,
                               const base::Clock& clock)
    : options_(options),
      cooldown_ns_(static_cast<std::int64_t>(std::llround(options.cooldown_seconds * 1e9))),
      clock_(clock),
      breakers_(upstreams) {
  assert(options_.failure_threshold >= 1 && options_.cooldown_seconds > 0.0);
}

void UpstreamHealth::move_to(Breaker& b, CircuitState state) {
  if (b.state == state) return;
  b.state = state;
  ++b.transitions[static_cast<std::size_t>(state)];
  if (state == CircuitState::kOpen) b.opened_ns = clock_.monotonic_ns();
  if (state == CircuitState::kClosed) b.consecutive_failures = 0;
}

bool UpstreamHealth::cooled_down(const Breaker& b) const {
  return clock_.monotonic_ns() - b.opened_ns >= cooldown_ns_;
}

bool UpstreamHealth::may_call(std::size_t k) const {
  const std::lock_guard lock(mutex_);
  const Breaker& b = breakers_.at(k);
  switch (b.state) {
    case CircuitState::kClosed: return true;
    case CircuitState::kOpen: return cooled_down(b);
    case CircuitState::kHalfOpen: return !b.probe_in_flight;
  }
  return false;
}

HealthClaim UpstreamHealth::claim(std::size_t k) {
  const std::lock_guard lock(mutex_);
  Breaker& b = breakers_.at(k);
  if (b.state == CircuitState::kClosed) return HealthClaim::kCall;
  if (b.state == CircuitState::kOpen && !cooled_down(b)) return HealthClaim::kRefused;
  if (b.state == CircuitState::kHalfOpen && b.probe_in_flight) return HealthClaim::kRefused;
  move_to(b, CircuitState::kHalfOpen);
  b.probe_in_flight = true;
  return HealthClaim::kProbe;
}

void UpstreamHealth::finish(std::size_t k, HealthClaim claim, CallOutcome outcome) {
  assert(claim != HealthClaim::kRefused && "finish() only what claim() granted");
  const std::lock_guard lock(mutex_);
  Breaker& b = breakers_.at(k);
  if (claim == HealthClaim::kProbe) {
    assert(b.state == CircuitState::kHalfOpen && b.probe_in_flight);
    b.probe_in_flight = false;
    if (outcome == CallOutcome::kSuccess) move_to(b, CircuitState::kClosed);
    if (outcome == CallOutcome::kFailure) {
      ++b.consecutive_failures;
      move_to(b, CircuitState::kOpen);
    }
    return;
  }
  // A call claimed while closed counts only while the circuit is still closed.
  if (claim != HealthClaim::kCall || b.state != CircuitState::kClosed) return;
  if (outcome == CallOutcome::kSuccess) b.consecutive_failures = 0;
  if (outcome == CallOutcome::kFailure && ++b.consecutive_failures >= options_.failure_threshold) {
    move_to(b, CircuitState::kOpen);
  }
}

HealthSnapshot UpstreamHealth::snapshot(std::size_t k) const {
  const std::lock_guard lock(mutex_);
  const Breaker& b = breakers_.at(k);
  HealthSnapshot s;
  s.state = b.state;
  s.consecutive_failures = b.consecutive_failures;
  s.probe_in_flight = b.probe_in_flight;
  s.transitions = b.transitions;
  if (b.state == CircuitState::kOpen) {
    const std::int64_t left = cooldown_ns_ - (clock_.monotonic_ns() - b.opened_ns);
    s.probe_in_seconds = static_cast<double>(std::max<std::int64_t>(0, left)) * 1e-9;
  }
  return s;
}

}  // namespace clearhouse::gateway
