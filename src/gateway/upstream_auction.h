// The upstream auction: which configured upstream serves a request, and what the user pays for it.
// The reverse second-price auction of Test-Time Compute Games (market/auction.h), run per request
// at the token cap c the pacer set, with the rule of market/second_price.h (the one the market
// simulator uses; market::run_auction itself works on discrete compute levels, which an upstream
// does not have):
//
//   q_k(c)  = value_usd * curve_k.at(c)        expected quality, USD (an empty curve reads 1)
//   cost_k(t) = usd_per_token_k * t            posted price of t tokens, USD
//   S_k     = q_k(c) - cost_k(c)               score; the highest wins (ties: lower index)
//
// The bidders of one request are the upstreams that serve its model and may be called now (their
// circuit is not open, upstream_health.h); pick(cap, eligible, sole_upstream) runs the auction
// among them and rank() orders them best first, the order a failed request is retried in. With
// several upstreams for the model, nothing is sold (AuctionPick::sold = false) when the best score
// is below the user's outside value v0; the best upstream is still named so a gateway may serve
// anyway. An operator who configured a single upstream for the model wants it used: it always wins
// (sold) and is paid its posted price.
//
// Payment, once the request used u tokens: the second-price rule with the costs at u,
//   pay = max( q_win(c) - max(S_second(u), v0),  cost_win(u) ),   S_second(u) = q_second(c) -
//   cost_second(u)
// so the user keeps max(S_second, v0) of the winner's quality, as in the market simulator, and the
// winner is never paid below its posted price. Without the floor term the payment does not depend
// on the winner's own price at all (the truthfulness property); the floor only binds when u is so
// far below the cap that the runner-up, cheaper per token but weaker, would score higher at u.
// Both terms lie in [cost_win(u), q_win(c)] whenever the winner's score at u reaches
// max(S_second(u), v0), which holds at u = c for every sold pick.
//
// Units: USD, tokens. Pure logic, immutable after construction: safe to call from any thread.
//
// Example:
//   UpstreamAuction auction({{"small", 2e-7, small_curve}, {"large", 1e-6, large_curve}}, 0.01,
//   0.0); AuctionPick pick = auction.pick(decision.cap);
//   ... forward to auction.bidders()[pick.winner] ...
//   const double usd = auction.payment_usd(pick, decision.cap, usage.completion_tokens);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "gateway/accuracy_curve.h"

namespace clearhouse::gateway {

struct UpstreamBidder {
  std::string name;
  double usd_per_token = 0.0;  // posted price, finite and >= 0
  AccuracyCurve curve;         // empty: accuracy 1 at every cap
};

struct AuctionPick {
  std::size_t winner = 0;
  std::optional<std::size_t> runner_up;  // nullopt with a single upstream
  double winner_quality_usd = 0.0;       // q_win(c)
  double winner_score_usd = 0.0;         // S_win at the cap
  double runner_up_score_usd = 0.0;      // S_second at the cap (0 without a runner-up)
  bool sold = true;  // false: several upstreams and no score reaches the outside value
};

class UpstreamAuction {
 public:
  // bidders: at least one, prices finite and >= 0. value_usd (the user's value of a right answer)
  // and outside_value_usd (v0, the value of not buying): finite and >= 0. Else
  // std::invalid_argument.
  UpstreamAuction(std::vector<UpstreamBidder> bidders, double value_usd, double outside_value_usd);

  // The auction at cap `cap` (tokens, >= 0) among every bidder.
  [[nodiscard]] AuctionPick pick(std::int64_t cap) const;
  // The auction among `eligible` only (indices into bidders(), ascending, at least one): the ones
  // that serve the request's model and may be called now. `sole_upstream`: the operator configured
  // one upstream for this model, which is then sold whatever its score (see above); else the sale
  // needs the winner's score to reach the outside value, also when only one is eligible.
  [[nodiscard]] AuctionPick pick(std::int64_t cap, std::span<const std::size_t> eligible,
                                 bool sole_upstream) const;
  // `eligible` ordered best first (by score at `cap`, ties to the lower index): the winner of
  // pick(cap, eligible, ...), then its runner-up, then the next best, ... A request failing over
  // goes down this list.
  [[nodiscard]] std::vector<std::size_t> rank(std::int64_t cap,
                                              std::span<const std::size_t> eligible) const;
  // What the user pays once the request used `used_tokens` (>= 0) of `cap` (see above); a sole
  // upstream pays exactly its posted price for the tokens used.
  [[nodiscard]] double payment_usd(const AuctionPick& pick, std::int64_t cap,
                                   std::int64_t used_tokens) const;

  [[nodiscard]] const std::vector<UpstreamBidder>& bidders() const { return bidders_; }
  [[nodiscard]] double value_usd() const { return value_usd_; }
  [[nodiscard]] double outside_value_usd() const { return outside_value_usd_; }

 private:
  [[nodiscard]] double quality(std::size_t k, std::int64_t cap) const;
  [[nodiscard]] double cost(std::size_t k, std::int64_t tokens) const;

  std::vector<UpstreamBidder> bidders_;
  double value_usd_ = 0.0;
  double outside_value_usd_ = 0.0;
};

}  // namespace clearhouse::gateway
