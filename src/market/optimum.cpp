#include "market/optimum.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "market/logit.h"
#include "market/tolerances.h"
#include "market/welfare.h"

namespace clearhouse::market {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// x (w - lambda) for one level, as (sign, log |.|): sign 0 means exactly zero.
struct SignedLog {
  int sign = 0;
  double log_abs = -kInf;
};

SignedLog term(double log_x, double w, double lambda) {
  const double d = w - lambda;
  if (d > 0.0) return {1, log_x + std::log(d)};
  if (d < 0.0) return {-1, log_x + std::log(-d)};
  return {0, -kInf};
}

bool greater(const SignedLog& a, const SignedLog& b) {
  if (a.sign != b.sign) return a.sign > b.sign;
  if (a.sign > 0) return a.log_abs > b.log_abs;
  if (a.sign < 0) return a.log_abs < b.log_abs;
  return false;
}

// Provider k's level maximising x (w - lambda): the separable step of Dinkelbach.
std::size_t best_level(const Market& market, double beta, std::size_t k, double lambda,
                       SignedLog* value) {
  std::size_t best = 0;
  SignedLog best_term = term(beta * market.at(k, 0).user_value, market.at(k, 0).surplus, lambda);
  for (std::size_t l = 1; l < market.levels(k); ++l) {
    const SignedLog t = term(beta * market.at(k, l).user_value, market.at(k, l).surplus, lambda);
    if (greater(t, best_term)) {
      best_term = t;
      best = l;
    }
  }
  if (value != nullptr) *value = best_term;
  return best;
}

Profile surplus_maximising_profile(const Market& market) {
  Profile p(market.size(), 0);
  for (std::size_t k = 0; k < market.size(); ++k) {
    for (std::size_t l = 1; l < market.levels(k); ++l) {
      if (market.at(k, l).surplus > market.at(k, p[k]).surplus) p[k] = l;
    }
  }
  return p;
}

}  // namespace

double price_of_anarchy(double optimum_welfare, double equilibrium_welfare) {
  if (!(equilibrium_welfare > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  return optimum_welfare / equilibrium_welfare;
}

Optimum welfare_optimum(const Market& market, double beta) {
  Optimum out;
  out.method = "dinkelbach";
  Profile profile = surplus_maximising_profile(market);
  double lambda = social_welfare(market, profile, beta);
  out.iterations = 1;
  for (std::size_t it = 0; it < kMaxDinkelbachIterations; ++it) {
    Profile next(market.size());
    for (std::size_t k = 0; k < market.size(); ++k) {
      next[k] = best_level(market, beta, k, lambda, nullptr);
    }
    const double value = social_welfare(market, next, beta);
    ++out.iterations;
    const bool better = value > lambda;
    const bool progress = value - lambda > kOptimumTolerance * std::max(1.0, std::abs(lambda));
    if (better) {
      lambda = value;
      profile = std::move(next);
    }
    if (!progress) break;
  }
  out.profile = market.canonical(profile);
  out.social_welfare = social_welfare(market, out.profile, beta);
  // Certificate G(lambda) / Z(P*): every term shifted by log Z(P*).
  const double log_z = log_partition(market, out.profile, beta);
  double g = -out.social_welfare * std::exp(beta * market.params().outside_value - log_z);
  for (std::size_t k = 0; k < market.size(); ++k) {
    SignedLog t;
    (void)best_level(market, beta, k, out.social_welfare, &t);
    if (t.sign != 0) g += t.sign * std::exp(t.log_abs - log_z);
  }
  out.certificate = g;
  return out;
}

namespace {

// Shared state of one enumeration.
struct Search {
  Search(const Market& m, double b, bool p) : market(m), beta(b), prune(p) {}
  const Market& market;
  double beta;
  bool prune;
  std::vector<std::vector<double>> log_x;  // beta V, per provider and level
  std::vector<std::vector<double>> w;      // surplus
  std::vector<double> top;                 // max_l beta V, per provider
  std::vector<std::vector<double>> rel_x;  // e^{beta V - top}, per provider and level
  double log_x0 = 0.0;
  std::atomic<double> incumbent{-kInf};
  Profile seed;  // best of the seed profiles (pruning only)
  double seed_value = -kInf;
};

// Per-thread search state.
struct Worker {
  Search* search = nullptr;
  double lambda = -kInf;           // incumbent the suffix bounds were computed for
  std::vector<double> suffix_pos;  // log sum of positive max_l x (w - lambda), providers >= d
  std::vector<double> suffix_neg;  // log sum of |negative| ones
  Profile profile;
  Profile best_profile;
  double best = -kInf;
  std::uint64_t leaves = 0;
  std::uint64_t pruned = 0;

  void refresh_bounds() {
    const Search& s = *search;
    const std::size_t n = s.market.size();
    suffix_pos.assign(n + 1, -kInf);
    suffix_neg.assign(n + 1, -kInf);
    for (std::size_t r = n; r-- > 0;) {
      SignedLog t;
      (void)best_level(s.market, s.beta, r, lambda, &t);
      suffix_pos[r] = suffix_pos[r + 1];
      suffix_neg[r] = suffix_neg[r + 1];
      if (t.sign > 0) suffix_pos[r] = log_add(suffix_pos[r], t.log_abs);
      if (t.sign < 0) suffix_neg[r] = log_add(suffix_neg[r], t.log_abs);
    }
  }

  // State: providers < depth assigned; numerator and denominator scaled by e^{-shift}.
  void dfs(std::size_t depth, double shift, double num, double den) {
    Search& s = *search;
    const std::size_t n = s.market.size();
    if (depth == n) {  // only when there are no providers at all
      leaf(num / den);
      return;
    }
    if (s.prune) {
      const double global = s.incumbent.load(std::memory_order_relaxed);
      if (global != lambda) {
        lambda = global;
        refresh_bounds();
      }
      if (lambda > -kInf) {
        const double bound = (num - lambda * den) + std::exp(suffix_pos[depth] - shift) -
                             std::exp(suffix_neg[depth] - shift);
        if (bound <= 0.0) {  // NaN (inf - inf) never prunes
          ++pruned;
          return;
        }
      }
    }
    const std::vector<double>& lx = s.log_x[depth];
    const std::vector<double>& ws = s.w[depth];
    // x_l = e^{lx_l - shift} = e^{top - shift} * rel_l with rel_l = e^{lx_l - top} precomputed:
    // one exp per node instead of one per child (unless the factor would overflow).
    const double top = s.top[depth];
    const std::vector<double>& rel = s.rel_x[depth];
    const bool factored = top - shift < 600.0;
    const double factor = factored ? std::exp(top - shift) : 0.0;
    const bool last = depth + 1 == n;
    for (std::size_t l = 0; l < lx.size(); ++l) {
      profile[depth] = l;
      const double x = factored ? factor * rel[l] : std::exp(lx[l] - shift);
      double next_num;
      double next_den;
      double next_shift = shift;
      if (x > 1.0) {  // lx_l > shift: move the shift to lx_l, so den stays >= 1
        const double scale = factored ? 1.0 / x : std::exp(shift - lx[l]);
        next_num = num * scale + ws[l];
        next_den = den * scale + 1.0;
        next_shift = lx[l];
      } else {
        next_num = num + x * ws[l];
        next_den = den + x;
      }
      if (last) {
        leaf(next_num / next_den);
      } else {
        dfs(depth + 1, next_shift, next_num, next_den);
      }
    }
  }

  void leaf(double value) {
    Search& s = *search;
    ++leaves;
    if (value > best || (value == best && profile < best_profile)) {
      best = value;
      best_profile = profile;
      double seen = s.incumbent.load(std::memory_order_relaxed);
      while (value > seen &&
             !s.incumbent.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
      }
    }
  }
};

}  // namespace

Optimum welfare_optimum_enumerate(const Market& market, double beta,
                                  const EnumerationOptions& options) {
  Search search{market, beta, options.prune};
  search.log_x0 = beta * market.params().outside_value;
  for (std::size_t k = 0; k < market.size(); ++k) {
    auto& lx = search.log_x.emplace_back();
    auto& ws = search.w.emplace_back();
    for (std::size_t l = 0; l < market.levels(k); ++l) {
      lx.push_back(beta * market.at(k, l).user_value);
      ws.push_back(market.at(k, l).surplus);
    }
    const double top = *std::max_element(lx.begin(), lx.end());
    search.top.push_back(top);
    auto& rel = search.rel_x.emplace_back();
    for (double v : lx) rel.push_back(std::exp(v - top));
  }
  if (options.prune) {
    // Seed the incumbent with cheap profiles so the bound bites from the start.
    const std::size_t n = market.size();
    Profile lowest(n, 0), highest(n), surplus = surplus_maximising_profile(market);
    for (std::size_t k = 0; k < n; ++k) highest[k] = market.levels(k) - 1;
    for (const Profile* p : {&lowest, &highest, &surplus}) {
      const double v = social_welfare(market, *p, beta);
      if (v > search.seed_value) {
        search.seed_value = v;
        search.seed = *p;
      }
    }
    search.incumbent.store(search.seed_value);
  }

  // Tasks: every assignment of the first `split` providers, enough to keep threads busy.
  const unsigned threads = std::max(1U, options.threads);
  std::size_t split = 0;
  std::size_t tasks = 1;
  while (split < market.size() && tasks < 8ULL * threads && threads > 1) {
    tasks *= market.levels(split);
    ++split;
  }
  std::atomic<std::size_t> next_task{0};
  std::vector<Worker> workers(threads);
  auto run = [&](Worker& worker) {
    worker.search = &search;
    worker.profile.assign(market.size(), 0);
    worker.best_profile.assign(market.size(), 0);
    for (std::size_t task = next_task.fetch_add(1); task < tasks; task = next_task.fetch_add(1)) {
      double shift = search.log_x0;
      double num = 0.0;
      double den = 1.0;
      std::size_t rest = task;
      for (std::size_t k = split; k-- > 0;) {
        worker.profile[k] = rest % market.levels(k);
        rest /= market.levels(k);
      }
      for (std::size_t k = 0; k < split; ++k) {
        const double lx = search.log_x[k][worker.profile[k]];
        const double wk = search.w[k][worker.profile[k]];
        if (lx > shift) {
          const double scale = std::exp(shift - lx);
          num = num * scale + wk;
          den = den * scale + 1.0;
          shift = lx;
        } else {
          const double x = std::exp(lx - shift);
          num += x * wk;
          den += x;
        }
      }
      worker.dfs(split, shift, num, den);
    }
  };
  if (threads == 1) {
    run(workers[0]);
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(run, std::ref(workers[t]));
    for (std::thread& t : pool) t.join();
  }

  Optimum out;
  out.method = options.prune ? "branch-and-bound" : "enumeration";
  double best = -kInf;
  for (const Worker& worker : workers) {
    out.profiles_evaluated += worker.leaves;
    out.subtrees_pruned += worker.pruned;
    if (worker.leaves == 0) continue;
    if (worker.best > best || (worker.best == best && worker.best_profile < out.profile)) {
      best = worker.best;
      out.profile = worker.best_profile;
    }
  }
  out.profile = market.canonical(out.profile);
  out.social_welfare = out.profile.empty() ? -kInf : social_welfare(market, out.profile, beta);
  // A seed pruned every subtree that could only tie it: keep the seed when it is at least as good.
  if (!search.seed.empty() && !(out.social_welfare > search.seed_value)) {
    const Profile seed = market.canonical(search.seed);
    const double v = social_welfare(market, seed, beta);
    if (v > out.social_welfare || (v == out.social_welfare && seed < out.profile)) {
      out.profile = seed;
      out.social_welfare = v;
    }
  }
  return out;
}

}  // namespace clearhouse::market
