#include "market/auction.h"

#include <algorithm>

#include "market/second_price.h"

namespace clearhouse::market {

std::string_view to_string(AuctionStatus status) {
  switch (status) {
    case AuctionStatus::kSold: return "sold";
    case AuctionStatus::kNoSale: return "no_sale";
    case AuctionStatus::kTooFewProviders: return "too_few_providers";
  }
  return "?";
}

std::vector<Bid> truthful_bids(const Market& market) {
  std::vector<Bid> bids(market.size());
  for (std::size_t k = 0; k < market.size(); ++k) {
    std::size_t best = 0;
    for (std::size_t l = 1; l < market.levels(k); ++l) {
      if (market.at(k, l).surplus > market.at(k, best).surplus) best = l;
    }
    bids[k] = Bid{best, market.at(k, best).quality, market.at(k, best).cost};
  }
  return bids;
}

AuctionOutcome run_auction(const Market& market, std::span<const Bid> bids) {
  AuctionOutcome out;
  if (bids.size() < 2) {
    out.status = AuctionStatus::kTooFewProviders;
    return out;
  }
  const ScoreRanking ranking =
      rank_by_score(bids.size(), [&](std::size_t k) { return bids[k].score(); });
  out.winner = ranking.winner;
  out.runner_up = *ranking.runner_up;
  out.winner_level = bids[out.winner].level;
  out.runner_up_level = bids[out.runner_up].level;
  out.winner_score = ranking.winner_score;
  out.runner_up_score = ranking.runner_up_score;
  const double v0 = market.params().outside_value;
  if (!second_price_sells(out.winner_score, v0)) {
    out.status = AuctionStatus::kNoSale;
    out.user_value = v0;
    return out;
  }
  const LevelEconomics& e = market.at(out.winner, out.winner_level);
  out.status = AuctionStatus::kSold;
  out.user_value = second_price_user_keeps(out.runner_up_score, v0);
  out.price = second_price_payment(e.quality, out.runner_up_score, v0);
  out.winner_profit = out.price - e.cost;
  out.social_welfare = e.quality - e.cost;
  out.tokens = e.tokens;
  out.accuracy = e.accuracy;
  return out;
}

double auction_payoff(const AuctionOutcome& outcome, std::size_t provider) {
  if (outcome.status != AuctionStatus::kSold || outcome.winner != provider) return 0.0;
  return outcome.winner_profit;
}

}  // namespace clearhouse::market
