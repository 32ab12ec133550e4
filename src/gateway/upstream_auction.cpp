#include "gateway/upstream_auction.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "market/second_price.h"

namespace clearhouse::gateway {
namespace {

bool finite_non_negative(double x) {
  return std::isfinite(x) && x >= 0.0;
}

}  // namespace

UpstreamAuction::UpstreamAuction(std::vector<UpstreamBidder> bidders, double value_usd,
                                 double outside_value_usd)
    : bidders_(std::move(bidders)), value_usd_(value_usd), outside_value_usd_(outside_value_usd) {
  if (bidders_.empty()) throw std::invalid_argument("upstream auction: no upstreams");
  for (const UpstreamBidder& b : bidders_) {
    if (!finite_non_negative(b.usd_per_token)) {
      throw std::invalid_argument("upstream auction: upstream '" + b.name +
                                  "' has a price that is not finite and >= 0");
    }
  }
  if (!finite_non_negative(value_usd_)) {
    throw std::invalid_argument("upstream auction: value_usd must be finite and >= 0");
  }
  if (!finite_non_negative(outside_value_usd_)) {
    throw std::invalid_argument("upstream auction: outside_value_usd must be finite and >= 0");
  }
}

double UpstreamAuction::quality(std::size_t k, std::int64_t cap) const {
  return value_usd_ * bidders_[k].curve.at(static_cast<double>(cap));
}

double UpstreamAuction::cost(std::size_t k, std::int64_t tokens) const {
  return bidders_[k].usd_per_token * static_cast<double>(tokens);
}

AuctionPick UpstreamAuction::pick(std::int64_t cap) const {
  std::vector<std::size_t> all(bidders_.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  return pick(cap, all, bidders_.size() == 1);
}

AuctionPick UpstreamAuction::pick(std::int64_t cap, std::span<const std::size_t> eligible,
                                  bool sole_upstream) const {
  assert(cap >= 0 && !eligible.empty());
  assert(std::is_sorted(eligible.begin(), eligible.end()) && eligible.back() < bidders_.size());
  // Ranked by position in `eligible`, which is ascending: ties still go to the lower index.
  const market::ScoreRanking ranking = market::rank_by_score(eligible.size(), [&](std::size_t i) {
    return quality(eligible[i], cap) - cost(eligible[i], cap);
  });
  AuctionPick out;
  out.winner = eligible[ranking.winner];
  if (ranking.runner_up) out.runner_up = eligible[*ranking.runner_up];
  out.winner_quality_usd = quality(out.winner, cap);
  out.winner_score_usd = ranking.winner_score;
  out.runner_up_score_usd = ranking.runner_up_score;
  // A sole upstream always wins: the operator configured it to be used.
  out.sold = sole_upstream || market::second_price_sells(ranking.winner_score, outside_value_usd_);
  return out;
}

std::vector<std::size_t> UpstreamAuction::rank(std::int64_t cap,
                                               std::span<const std::size_t> eligible) const {
  assert(cap >= 0 && std::is_sorted(eligible.begin(), eligible.end()));
  std::vector<std::pair<double, std::size_t>> scored;
  scored.reserve(eligible.size());
  for (const std::size_t k : eligible) scored.emplace_back(quality(k, cap) - cost(k, cap), k);
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::size_t> order;
  order.reserve(scored.size());
  for (const auto& [score, k] : scored) order.push_back(k);
  return order;
}

double UpstreamAuction::payment_usd(const AuctionPick& pick, std::int64_t cap,
                                    std::int64_t used_tokens) const {
  assert(pick.winner < bidders_.size());
  assert(!pick.runner_up || *pick.runner_up < bidders_.size());
  assert(cap >= 0 && used_tokens >= 0);
  const double posted = cost(pick.winner, used_tokens);
  if (!pick.runner_up) return posted;
  // The runner-up's score with its cost at the tokens used; the winner is never paid below its
  // posted price.
  const double second_score = quality(*pick.runner_up, cap) - cost(*pick.runner_up, used_tokens);
  return std::max(
      market::second_price_payment(quality(pick.winner, cap), second_score, outside_value_usd_),
      posted);
}

}  // namespace clearhouse::gateway
