// UpstreamHealth: a circuit breaker per upstream, so that a dead upstream stops receiving requests
// (and stops costing each of them a failed call) while one probe now and then finds out whether it
// came back.
//
//   closed     calls go through. failure_threshold failures in a row (no success between) open it.
//   open       no call goes through until cooldown_seconds after it opened.
//   half_open  the cool-down is over: the next call claimed is the probe, and while the probe runs
//              no other call goes through. The probe's success closes the circuit; its failure
//              opens it again for a new cool-down; a probe that ends without telling (kNeutral)
//              leaves it half-open for the next call to probe.
//
// Outcomes are the caller's reading of a call (upstream_route.h: a call that got no response head
// is a failure: refused, timed out, closed; any response, even an error status, is a success).
// Only calls claimed while closed count in the closed state, and only the probe decides in the
// half-open state, so a slow call begun long before cannot close a circuit that opened since.
//
// Time is the injected Clock's monotonic time (tests use ManualClock). Thread-safety: every member
// function is safe from any number of threads (one mutex, held for a few comparisons).
//
// Example:
//   UpstreamHealth health(2, {.failure_threshold = 3, .cooldown_seconds = 10}, clock);
//   const HealthClaim claim = health.claim(k);
//   if (claim != HealthClaim::kRefused) {
//     ... call upstream k ...
//     health.finish(k, claim, CallOutcome::kFailure);
//   }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "base/clock.h"

namespace clearhouse::gateway {

enum class CircuitState { kClosed, kOpen, kHalfOpen };
inline constexpr std::array<CircuitState, 3> kCircuitStates = {
    CircuitState::kClosed, CircuitState::kOpen, CircuitState::kHalfOpen};
// "closed", "open", "half_open" (metric label values and /admin/state).
[[nodiscard]] std::string_view to_string(CircuitState state);

enum class CallOutcome {
  kSuccess,  // the upstream answered (a response head arrived)
  kFailure,  // refused, timed out or closed before answering
  kNeutral,  // says nothing of the upstream (no call was made after all)
};

// What claim() granted.
enum class HealthClaim { kRefused, kCall, kProbe };

struct HealthOptions {
  int failure_threshold = 3;       // >= 1
  double cooldown_seconds = 10.0;  // > 0
};

// One upstream's breaker, as /metrics and /admin/state show it.
struct HealthSnapshot {
  CircuitState state = CircuitState::kClosed;
  int consecutive_failures = 0;
  bool probe_in_flight = false;
  double probe_in_seconds = 0.0;  // open: time left of the cool-down (0 once a probe is due)
  // Times the circuit went into each state, indexed like kCircuitStates.
  std::array<std::uint64_t, 3> transitions{};
};

class UpstreamHealth {
 public:
  // upstreams: how many breakers (indices 0..upstreams-1). The clock must outlive this.
  UpstreamHealth(std::size_t upstreams, HealthOptions options, const base::Clock& clock);

  // Whether a call to upstream k could be claimed now (does not claim it).
  [[nodiscard]] bool may_call(std::size_t k) const;
  // Claims a call to upstream k: kCall when closed; kProbe when the cool-down is over and no probe
  // runs (the circuit is then half-open); else kRefused. Each grant must be followed by exactly one
  // finish() with it.
  [[nodiscard]] HealthClaim claim(std::size_t k);
  void finish(std::size_t k, HealthClaim claim, CallOutcome outcome);

  [[nodiscard]] HealthSnapshot snapshot(std::size_t k) const;
  [[nodiscard]] std::size_t size() const { return breakers_.size(); }
  [[nodiscard]] const HealthOptions& options() const { return options_; }

 private:
  struct Breaker {
    CircuitState state = CircuitState::kClosed;
    int consecutive_failures = 0;
    std::int64_t opened_ns = 0;
    bool probe_in_flight = false;
    std::array<std::uint64_t, 3> transitions{};
  };
  void move_to(Breaker& b, CircuitState state);            // mutex held
  [[nodiscard]] bool cooled_down(const Breaker& b) const;  // mutex held

  HealthOptions options_;
  std::int64_t cooldown_ns_;
  const base::Clock& clock_;
  mutable std::mutex mutex_;
  std::vector<Breaker> breakers_;  // guarded by mutex_
};

}  // namespace clearhouse::gateway
