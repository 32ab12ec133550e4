// The reverse second-price auction of Test-Time Compute Games, on a market of providers bidding
// discrete compute levels (the rule itself, shared with the gateway, is in second_price.h).
//
// Each provider k bids a compute level l and a reported (quality, cost) pair; its score is
// S_k = reported quality - reported cost (USD). The highest score wins (ties: lower provider
// index). The user pays
//
//   price = q_win(l_win) - max(S_second, v0)
//
// where q_win(l_win) is the winner's true expected quality at the level it bid (quality is
// measured on delivery, not taken from the bid) and v0 is the user's outside value. So the user
// keeps max(S_second, v0), the winner earns price - c_win(l_win), and social welfare is
// q_win - c_win. Winning never depends on how the price is set, and the price never depends on
// the winner's own report, so bidding the truth (the level maximising W = q - c, reported at its
// true quality and cost) is a dominant strategy: truthful_bids() builds it.
//
// The outside value acts as a reserve: with the paper's rule (price = q_win - S_second) the two
// agree whenever S_second >= v0, which holds on every real curve (q >= A b, costs are cents).
// If no score reaches v0 nothing is sold. At least two providers are needed (no runner-up
// otherwise).
//
// Example:
//   AuctionOutcome a = run_auction(market, truthful_bids(market));
//   if (a.status == AuctionStatus::kSold) pay(a.price);
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "market/market.h"

namespace clearhouse::market {

struct Bid {
  std::size_t level = 0;          // the compute level the provider commits to
  double reported_quality = 0.0;  // USD
  double reported_cost = 0.0;     // USD
  [[nodiscard]] double score() const { return reported_quality - reported_cost; }
};

// Every provider bids its surplus-maximising level (ties: lowest level) at true quality and cost.
[[nodiscard]] std::vector<Bid> truthful_bids(const Market& market);

enum class AuctionStatus {
  kSold,
  kNoSale,           // no score reaches the outside value v0
  kTooFewProviders,  // fewer than two bids: no second price
};

[[nodiscard]] std::string_view to_string(AuctionStatus status);

struct AuctionOutcome {
  AuctionStatus status = AuctionStatus::kSold;
  std::size_t winner = 0;
  std::size_t runner_up = 0;
  std::size_t winner_level = 0;
  std::size_t runner_up_level = 0;
  double winner_score = 0.0;     // S_win, USD
  double runner_up_score = 0.0;  // S_second, USD
  double price = 0.0;            // paid by the user, USD
  double user_value = 0.0;       // q_win - price = max(S_second, v0), USD
  double winner_profit = 0.0;    // price - c_win, USD
  double social_welfare = 0.0;   // q_win - c_win, USD
  double tokens = 0.0;           // winner's mean output tokens at its level
  double accuracy = 0.0;         // winner's accuracy at its level
};

// bids.size() must equal market.size() and every bid's level must be in range.
[[nodiscard]] AuctionOutcome run_auction(const Market& market, std::span<const Bid> bids);

// Provider k's true payoff from an outcome (its profit if it won, 0 otherwise).
[[nodiscard]] double auction_payoff(const AuctionOutcome& outcome, std::size_t provider);

}  // namespace clearhouse::market
