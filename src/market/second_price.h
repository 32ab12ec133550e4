// The reverse second-price rule of Test-Time Compute Games, on its own: who wins and what the user
// pays, given each bidder's score S_k = quality - cost (USD). Both auctions use it: the market
// simulator's (auction.h, providers bidding discrete compute levels) and the gateway's
// (gateway/upstream_auction.h, upstreams bidding per request at the pacer's token cap).
//
//  ranking  the highest score wins, the next highest is the runner-up (ties: lower index).
//  sale     only when the winner's score reaches the user's outside value v0 (a reserve).
//  payment  price = q_win - max(S_second, v0): the user keeps max(S_second, v0) of the winner's
//           quality. The price never depends on the winner's own report (truthfulness).
//
// Units: USD. Pure functions, no state: thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>

namespace clearhouse::market {

struct ScoreRanking {
  std::size_t winner = 0;
  std::optional<std::size_t> runner_up;  // nullopt with a single bidder
  double winner_score = 0.0;             // USD
  double runner_up_score = 0.0;          // USD; 0 without a runner-up
};

// Ranks bidders 0..count-1 by score(k) (USD); count >= 1. Strict comparisons keep the lower index
// on ties, for the winner and the runner-up alike. score is called once per bidder.
template <typename Score>
[[nodiscard]] ScoreRanking rank_by_score(std::size_t count, Score score) {
  ScoreRanking r;
  r.winner_score = score(std::size_t{0});
  for (std::size_t k = 1; k < count; ++k) {
    const double s = score(k);
    if (s > r.winner_score) {
      r.runner_up = r.winner;
      r.runner_up_score = r.winner_score;
      r.winner = k;
      r.winner_score = s;
    } else if (!r.runner_up || s > r.runner_up_score) {
      r.runner_up = k;
      r.runner_up_score = s;
    }
  }
  return r;
}

// Whether the winner's score reaches the outside value v0 (else nothing is sold).
[[nodiscard]] constexpr bool second_price_sells(double winner_score, double outside_value) {
  return winner_score >= outside_value;
}

// What the user keeps of the winner's quality: max(S_second, v0).
[[nodiscard]] constexpr double second_price_user_keeps(double runner_up_score,
                                                       double outside_value) {
  return std::max(runner_up_score, outside_value);
}

// What the user pays the winner: q_win - max(S_second, v0).
[[nodiscard]] constexpr double second_price_payment(double winner_quality, double runner_up_score,
                                                    double outside_value) {
  return winner_quality - second_price_user_keeps(runner_up_score, outside_value);
}

}  // namespace clearhouse::market
