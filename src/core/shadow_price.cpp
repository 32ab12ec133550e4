#include "core/shadow_price.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <vector>

#include "core/tolerances.h"

namespace clearhouse::core {
namespace {

double max_alpha(std::span<const SurgeUtility> queries) {
  double m = 0.0;
  for (const auto& q : queries) m = std::max(m, q.alpha);
  return m;
}

ShadowPrice slack_result(std::span<const SurgeUtility> queries, double peaks, std::string_view m) {
  return {SolveStatus::kBudgetSlack, 0.0, peaks, queries.size(), 1, m};
}

// ---- Shared alpha: bucketed search over breakpoints, closed form between them. ----
//
// With one alpha, query i's abandonment price is alpha psi(c_i), c_i = beta_i tau_i, psi
// decreasing. Funding the queries with the smallest c first, the total just below the breakpoint of
// a group with key c is h(c) = sum tau + (1 - u_a(c)) sum 1/beta over every query with key <= c; h
// grows with c, so lambda* sits at the last group with h <= B. Keys are bucketed by their IEEE bit
// patterns (monotone for positive doubles), the bucket where h crosses B is found from per-bucket
// sums, and only that bucket is sorted.

// At most 2^14 = 16384 buckets, and about one per query below that: clearing and scanning the
// histogram must not cost more than the pass over the queries when the batch is small (the
// gateway's pacer re-solves a ring of a few hundred queries online).
constexpr int kMaxBucketBits = 14;
int bucket_bits(std::size_t queries) {
  return std::clamp(static_cast<int>(std::bit_width(queries)), 4, kMaxBucketBits);
}

struct BucketSums {
  double tau = 0.0;
  double inv_beta = 0.0;
  double max_key = 0.0;
  std::size_t count = 0;
};

std::uint64_t key_bits(double key) {
  return std::bit_cast<std::uint64_t>(key);
}

// Returns nothing when the queries turn out not to share alpha (checked in the first pass).
std::optional<ShadowPrice> solve_shared_alpha(std::span<const SurgeUtility> queries,
                                              double budget) {
  constexpr std::string_view kMethod = "exact: shared-alpha breakpoint search";
  const double alpha = queries.front().alpha;
  double peaks = 0.0, all_tau = 0.0, all_inv_beta = 0.0;
  bool same_alpha = true;
  std::uint64_t lo_bits = ~std::uint64_t{0};
  std::uint64_t hi_bits = 0;
  for (const auto& q : queries) {
    same_alpha = same_alpha && q.alpha == alpha;
    all_tau += q.tau;
    all_inv_beta += 1.0 / q.beta;
    const std::uint64_t bits = key_bits(q.beta * q.tau);
    lo_bits = std::min(lo_bits, bits);
    hi_bits = std::max(hi_bits, bits);
  }
  if (!same_alpha) return std::nullopt;
  peaks = all_tau + all_inv_beta;
  if (peaks <= budget) {
    ShadowPrice slack = slack_result(queries, peaks, kMethod);
    slack.funded_cut = std::numeric_limits<double>::infinity();
    slack.funded_tau_sum = all_tau;
    slack.funded_inv_beta_sum = all_inv_beta;
    return slack;
  }
  int shift = 0;
  const int bits = bucket_bits(queries.size());
  while (((hi_bits - lo_bits) >> shift) >= (std::uint64_t{1} << bits)) ++shift;
  const std::size_t bucket_count = static_cast<std::size_t>((hi_bits - lo_bits) >> shift) + 1;
  auto bucket_of = [&](double key) {
    return static_cast<std::size_t>((key_bits(key) - lo_bits) >> shift);
  };
  std::vector<BucketSums> buckets(bucket_count);
  for (const auto& q : queries) {
    const double key = q.beta * q.tau;
    BucketSums& b = buckets[bucket_of(key)];
    b.tau += q.tau;
    b.inv_beta += 1.0 / q.beta;
    b.max_key = std::max(b.max_key, key);
    ++b.count;
  }
  // First bucket whose last breakpoint is infeasible with everything up to it funded.
  double tau_before = 0.0, inv_beta_before = 0.0;
  std::size_t funded_before = 0;
  std::size_t crossing = bucket_count;
  for (std::size_t k = 0; k < bucket_count; ++k) {
    const BucketSums& b = buckets[k];
    if (b.count == 0) continue;
    const double h =
        tau_before + b.tau + (1.0 - abandonment_root(b.max_key)) * (inv_beta_before + b.inv_beta);
    if (h > budget) {
      crossing = k;
      break;
    }
    tau_before += b.tau;
    inv_beta_before += b.inv_beta;
    funded_before += b.count;
  }
  double funded_tau = tau_before, funded_inv_beta = inv_beta_before;
  std::size_t funded = funded_before;
  double cut = std::numeric_limits<double>::infinity();
  if (crossing < bucket_count) {
    // Walk the crossing bucket's queries in key order, a group of equal keys at a time.
    struct Item {
      double key, tau, inv_beta;
    };
    std::vector<Item> items;
    items.reserve(buckets[crossing].count);
    for (const auto& q : queries) {
      const double key = q.beta * q.tau;
      if (bucket_of(key) == crossing) items.push_back({key, q.tau, 1.0 / q.beta});
    }
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.key < b.key; });
    for (std::size_t k = 0; k < items.size();) {
      std::size_t end = k;
      double group_tau = 0.0, group_inv_beta = 0.0;
      while (end < items.size() && items[end].key == items[k].key) {
        group_tau += items[end].tau;
        group_inv_beta += items[end].inv_beta;
        ++end;
      }
      const double h = funded_tau + group_tau +
                       (1.0 - abandonment_root(items[k].key)) * (funded_inv_beta + group_inv_beta);
      if (h > budget) {
        cut = items[k].key;
        break;
      }
      funded_tau += group_tau;
      funded_inv_beta += group_inv_beta;
      funded += end - k;
      k = end;
    }
  }

  ShadowPrice result{SolveStatus::kOptimal, 0.0, 0.0, funded, 3, kMethod, cut, funded_tau,
                     funded_inv_beta};
  const double next_breakpoint =
      std::isinf(cut) ? 0.0 : price_for_root(alpha, abandonment_root(cut));
  if (funded == 0) {
    result.status = SolveStatus::kNothingFunded;
    result.lambda = next_breakpoint;
    return result;
  }
  // Root of funded_tau + (1 - u) funded_inv_beta = B on the smooth piece, unless the next
  // breakpoint (where T jumps below B) comes first.
  const double u_root = 1.0 - (budget - funded_tau) / funded_inv_beta;
  const double root = u_root <= 0.0 ? 0.0 : price_for_root(alpha, u_root);
  result.lambda = std::max(next_breakpoint, root);
  const double u = lambert_w0(result.lambda * std::numbers::e / alpha);
  result.planned_tokens = std::min(budget, funded_tau + (1.0 - u) * funded_inv_beta);
  if (result.lambda == 0.0) result.status = SolveStatus::kBudgetSlack;
  return result;
}

// ---- Per-query alpha: safeguarded Newton from below with exact breakpoint tests. ----

struct Pass {
  double tokens = 0.0;     // T(lambda)
  double slope = 0.0;      // dT/dlambda of the smooth part (negative)
  double next_drop = 0.0;  // smallest abandonment price above lambda among the funded (inf: none)
  double last_drop = 0.0;  // largest abandonment price at or below lambda (0: none)
  std::size_t funded = 0;
};

Pass evaluate(std::span<const SurgeUtility> queries, std::span<const double> drop_prices,
              double lambda) {
  Pass p;
  p.next_drop = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < queries.size(); ++i) {
    if (!(lambda < drop_prices[i])) {
      p.last_drop = std::max(p.last_drop, drop_prices[i]);
      continue;
    }
    const auto& q = queries[i];
    const double u = lambda <= 0.0 ? 0.0 : lambert_w0(lambda * std::numbers::e / q.alpha);
    p.tokens += q.cap_given_root(u);
    p.slope += q.cap_slope_given_root(u);
    p.next_drop = std::min(p.next_drop, drop_prices[i]);
    ++p.funded;
  }
  return p;
}

ShadowPrice solve_per_query_alpha(std::span<const SurgeUtility> queries, double budget) {
  constexpr std::string_view kMethod = "exact: bracketed secant over breakpoints";
  std::vector<double> drop(queries.size());
  double max_drop = 0.0;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    drop[i] = queries[i].abandonment_price();
    max_drop = std::max(max_drop, drop[i]);
  }
  Pass at_lo = evaluate(queries, drop, 0.0);
  int passes = 1;
  if (at_lo.tokens <= budget) return slack_result(queries, at_lo.tokens, kMethod);

  // Invariant: T(lo) > B >= T(hi). Many small downward jumps make T look smooth from afar, so a
  // secant through the bracket (Illinois variant: halve a stale end's weight) tracks it far better
  // than Newton on the smooth part alone. Inside a gap free of breakpoints T is convex and
  // decreasing, and a Newton step from lo cannot pass the root: it is taken there, and when it
  // would reach past the gap's end, that end (a breakpoint at hi) is lambda* exactly.
  double lo = 0.0, hi = max_drop;
  double f_lo = at_lo.tokens - budget, f_hi = -budget;
  Pass at_hi;  // every query is abandoned at max_drop
  at_hi.last_drop = max_drop;
  int last_side = 0;  // -1: lo moved last, +1: hi moved last
  while (passes < kExactMaxPasses && hi - lo > kExactPriceTolerance * hi) {
    const double newton = lo + f_lo / -at_lo.slope;
    // Only one distinct breakpoint (possibly shared by several queries) left in (lo, hi]?
    const bool one_breakpoint_left = at_lo.next_drop == at_hi.last_drop;
    double candidate;
    bool testing_breakpoint = false;
    if (at_lo.next_drop >= hi) {
      if (newton >= hi) break;  // T(hi-) >= B >= T(hi): lambda* = hi
      candidate = newton;
    } else if (newton < at_lo.next_drop) {
      candidate = newton;
    } else if (one_breakpoint_left) {
      candidate = at_lo.next_drop;  // T just below it >= B; at it, either <= B (done) or a new lo
      testing_breakpoint = true;
    } else {
      candidate = hi - f_hi * (hi - lo) / (f_hi - f_lo);
    }
    if (!(candidate > lo && candidate < hi) && !(testing_breakpoint && candidate == hi)) {
      candidate = 0.5 * (lo + hi);
    }
    const Pass at = evaluate(queries, drop, candidate);
    ++passes;
    if (at.tokens <= budget) {
      hi = candidate;
      at_hi = at;
      f_hi = at.tokens - budget;
      if (last_side == 1) f_lo *= 0.5;
      last_side = 1;
      if (testing_breakpoint || f_hi >= -kTokenSlack) break;  // lambda* found exactly
    } else {
      lo = candidate;
      at_lo = at;
      f_lo = at.tokens - budget;
      if (last_side == -1) f_hi *= 0.5;
      last_side = -1;
    }
  }
  ShadowPrice result{SolveStatus::kOptimal, hi, at_hi.tokens, at_hi.funded, passes, kMethod};
  if (passes >= kExactMaxPasses) result.status = SolveStatus::kIterationLimit;
  if (at_hi.funded == 0) result.status = SolveStatus::kNothingFunded;
  return result;
}

}  // namespace

std::string_view to_string(SolveStatus status) {
  switch (status) {
    case SolveStatus::kOptimal: return "optimal";
    case SolveStatus::kBudgetSlack: return "budget_slack";
    case SolveStatus::kNothingFunded: return "nothing_funded";
    case SolveStatus::kIterationLimit: return "iteration_limit";
  }
  return "unknown";
}

bool shares_alpha(std::span<const SurgeUtility> queries) {
  return std::all_of(queries.begin(), queries.end(),
                     [&](const SurgeUtility& q) { return q.alpha == queries.front().alpha; });
}

double planned_tokens_at(std::span<const SurgeUtility> queries, double lambda) {
  double total = 0.0;
  for (const auto& q : queries) {
    if (lambda < q.abandonment_price()) total += q.cap_at_price(lambda);
  }
  return total;
}

ShadowPrice solve_shadow_price_bisection(std::span<const SurgeUtility> queries, double budget) {
  constexpr std::string_view kMethod = "bisection (CLEAR reference)";
  assert(budget > 0.0);
  // The paper's loop: at each trial price compute every cap through Lambert W, fund it if its
  // surplus is positive, and compare the funded total with the budget.
  auto total_at = [&](double lambda, std::size_t* funded) {
    double total = 0.0;
    std::size_t n = 0;
    for (const auto& q : queries) {
      const double t = q.cap_at_price(lambda);
      if (q.value(t) - lambda * t > 0.0) {
        total += t;
        ++n;
      }
    }
    if (funded != nullptr) *funded = n;
    return total;
  };
  std::size_t funded = 0;
  const double at_zero = total_at(0.0, &funded);
  if (at_zero <= budget) return slack_result(queries, at_zero, kMethod);
  double lo = 0.0;
  double hi = max_alpha(queries);
  double hi_tokens = 0.0;
  std::size_t hi_funded = 0;
  int iterations = 1;
  for (int k = 0; k < kBisectionIterations && hi - lo > kBisectionTolerance * hi; ++k) {
    const double mid = 0.5 * (lo + hi);
    std::size_t n = 0;
    const double t = total_at(mid, &n);
    ++iterations;
    if (t <= budget) {
      hi = mid;
      hi_tokens = t;
      hi_funded = n;
    } else {
      lo = mid;
    }
  }
  ShadowPrice result{SolveStatus::kOptimal, hi, hi_tokens, hi_funded, iterations, kMethod};
  if (hi_funded == 0) result.status = SolveStatus::kNothingFunded;
  return result;
}

ShadowPrice solve_shadow_price_exact(std::span<const SurgeUtility> queries, double budget,
                                     std::optional<bool> alpha_shared) {
  assert(budget > 0.0);
  if (queries.empty()) return {SolveStatus::kBudgetSlack, 0.0, 0.0, 0, 0, "exact: empty"};
  assert(!alpha_shared || *alpha_shared == shares_alpha(queries));
  if (alpha_shared.value_or(true)) {
    if (auto shared = solve_shared_alpha(queries, budget)) return *shared;
  }
  return solve_per_query_alpha(queries, budget);
}

}  // namespace clearhouse::core
