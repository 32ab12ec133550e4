// Helpers shared by the pacer tests: seeded query streams and a simulation that plays the gateway
// and its ledger around a Pacer (reserve the cap, settle later with min(cap, true length), refuse a
// cap above the remaining tokens), and offline CLEAR on the same stream for comparison.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <vector>

#include "core/clear_allocation.h"
#include "core/utility_model.h"
#include "gateway/pacer.h"

namespace clearhouse::gateway::testing {

struct StreamQuery {
  double tau_hat = 1.0;     // what the pacer sees, tokens
  std::int64_t length = 1;  // tokens the answer really needs
  bool correct = true;      // the answer is right when it is not cut
  std::int64_t arrival_ms = 0;
};

// True lengths lognormal around `median_length` (log-sd 0.7); tau_hat = length * lognormal(0,
// noise_sigma); 80% of answers right; Poisson arrivals at `rate_per_second` from t = 0.
inline std::vector<StreamQuery> synthetic_stream(std::uint64_t seed, std::size_t n,
                                                 double median_length = 200.0,
                                                 double noise_sigma = 0.3,
                                                 double rate_per_second = 10.0) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> length(std::log(median_length), 0.7);
  std::lognormal_distribution<double> noise(0.0, noise_sigma);
  std::bernoulli_distribution correct(0.8);
  std::exponential_distribution<double> gap(rate_per_second / 1000.0);
  std::vector<StreamQuery> out(n);
  double t = 0.0;
  for (StreamQuery& q : out) {
    q.length = std::max<std::int64_t>(1, std::llround(length(rng)));
    q.tau_hat = static_cast<double>(q.length) * noise(rng);
    q.correct = correct(rng);
    t += gap(rng);
    q.arrival_ms = static_cast<std::int64_t>(t);
  }
  return out;
}

struct SimOptions {
  std::int64_t budget = 0;
  // Timed window [0, window_end_ms); nullopt: one all-time window.
  std::optional<std::int64_t> window_end_ms{};
  // Settlement happens this many arrivals later (0: at once), so reservations stay open meanwhile.
  std::size_t settle_delay = 0;
  bool feedback = true;  // call record_usage on settlement
};

struct SimResult {
  std::int64_t spent = 0;
  std::int64_t max_committed = 0;  // the largest spent + reserved ever seen
  std::size_t funded = 0;
  std::size_t refused = 0;  // funded but the cap exceeded the remaining tokens
  std::size_t solved = 0;   // cap >= length and correct
  bool caps_valid = true;   // whole, in [min, max] when funded, 0 when not
  std::vector<PacerDecision> decisions;
};

inline SimResult simulate(Pacer& pacer, const std::vector<StreamQuery>& stream,
                          const SimOptions& sim) {
  struct Open {
    std::int64_t cap;
    std::int64_t used;
  };
  SimResult r;
  std::deque<Open> open;
  std::int64_t reserved = 0;
  const auto settle_one = [&] {
    const Open o = open.front();
    open.pop_front();
    reserved -= o.cap;
    r.spent += o.used;
    if (sim.feedback) pacer.record_usage(o.cap, o.used);
  };
  const PacerOptions& po = pacer.options();
  for (const StreamQuery& q : stream) {
    const std::int64_t remaining = std::max<std::int64_t>(0, sim.budget - r.spent - reserved);
    const BudgetView view{sim.budget, remaining, 0, sim.window_end_ms};
    const PacerDecision d = pacer.decide(q.tau_hat, q.arrival_ms, view);
    r.decisions.push_back(d);
    if (d.funded) {
      r.caps_valid = r.caps_valid && d.cap >= po.min_tokens && d.cap <= po.max_tokens;
    } else {
      r.caps_valid = r.caps_valid && d.cap == 0;
    }
    if (d.funded && d.cap > remaining) ++r.refused;  // the gateway's ledger would refuse it
    if (d.funded && d.cap <= remaining) {
      ++r.funded;
      const std::int64_t used = std::min(d.cap, q.length);
      if (d.cap >= q.length && q.correct) ++r.solved;
      open.push_back({d.cap, used});
      reserved += d.cap;
      r.max_committed = std::max(r.max_committed, r.spent + reserved);
    }
    while (open.size() > sim.settle_delay) settle_one();
  }
  while (!open.empty()) settle_one();
  return r;
}

// Offline CLEAR on the whole stream at once (paper utility, alpha 2, beta = 1 / median tau_hat):
// how many queries it solves with the same budget.
inline std::size_t offline_clear_solved(const std::vector<StreamQuery>& stream,
                                        std::int64_t budget) {
  std::vector<double> tau;
  for (const StreamQuery& q : stream) tau.push_back(q.tau_hat);
  const auto utilities = core::build_utilities(tau, core::UtilityModel{});
  const core::ClearPlan plan = core::allocate_clear(utilities, budget);
  std::size_t solved = 0;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    if (plan.caps[i] >= stream[i].length && stream[i].correct) ++solved;
  }
  return solved;
}

}  // namespace clearhouse::gateway::testing
