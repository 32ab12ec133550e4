#include "gateway/upstream_auction.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

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
  assert(cap >= 0);
  const market::ScoreRanking ranking = market::rank_by_score(
      bidders_.size(), [&](std::size_t k) { return quality(k, cap) - cost(k, cap); });
  AuctionPick out;
  out.winner = ranking.winner;
  out.runner_up = ranking.runner_up;
  out.winner_quality_usd = quality(ranking.winner, cap);
  out.winner_score_usd = ranking.winner_score;
  out.runner_up_score_usd = ranking.runner_up_score;
  // A sole upstream always wins: the operator configured it to be used.
  out.sold =
      !ranking.runner_up || market::second_price_sells(ranking.winner_score, outside_value_usd_);
  return out;
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
