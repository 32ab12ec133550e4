// The pay-per-token market of Test-Time Compute Games: providers, each picking one compute level,
// and the economics of every (provider, level) pair, computed once.
//
//   price   p = n pi                (USD per query; n = mean output tokens, pi = USD per token)
//   cost    c = p / (1 + m)         (m = provider margin, 0.25 in the paper)
//   quality q = q(a)                (see quality.h, USD)
//   user value        V = q - p     (what the user keeps, USD)
//   social surplus    w = q - c     (user value plus provider profit, USD)
//
// A profile assigns a level index to every provider (indices from 0 in curve order). Shares,
// utilities, welfare and the potential live in logit.h; the games played on it in equilibrium.h,
// optimum.h and auction.h. Market is an immutable value: safe to share between threads.
//
// Example:
//   Market market(providers, MarketParams{});   // providers validated beforehand
//   double q = market.at(0, 2).quality;
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "market/provider.h"
#include "market/quality.h"

namespace clearhouse::market {

struct MarketParams {
  QualityModel quality;
  double margin = 0.25;        // m > -1; cost = price / (1 + m)
  double outside_value = 0.0;  // v0, USD: what a user gets by buying nothing
  [[nodiscard]] std::string validate() const;
};

struct LevelEconomics {
  double theta = 0.0;
  double accuracy = 0.0;
  double tokens = 0.0;
  double price = 0.0;       // p, USD per query
  double cost = 0.0;        // c, USD per query
  double quality = 0.0;     // q, USD
  double user_value = 0.0;  // V = q - p
  double surplus = 0.0;     // w = q - c
  double log_margin = 0.0;  // log(p - c); -inf when p - c <= 0 (free or loss-making level)
};

using Profile = std::vector<std::size_t>;

class Market {
 public:
  // Providers must be valid (provider.h); params.validate() must be empty.
  Market(std::span<const Provider> providers, const MarketParams& params);

  [[nodiscard]] std::size_t size() const { return names_.size(); }
  [[nodiscard]] std::size_t levels(std::size_t provider) const { return table_[provider].size(); }
  [[nodiscard]] const LevelEconomics& at(std::size_t provider, std::size_t level) const {
    return table_[provider][level];
  }
  [[nodiscard]] const std::string& name(std::size_t provider) const { return names_[provider]; }
  [[nodiscard]] const MarketParams& params() const { return params_; }
  // Number of distinct profiles, prod_k levels(k), saturating at SIZE_MAX.
  [[nodiscard]] std::size_t profile_count() const;
  // True when the profile has one in-range level per provider.
  [[nodiscard]] bool valid(const Profile& profile) const;
  // Two levels of one provider are equivalent when all their economics are equal (for example
  // token caps beyond the longest answer). Returns the lowest level equivalent to `level`.
  [[nodiscard]] std::size_t canonical_level(std::size_t provider, std::size_t level) const;
  [[nodiscard]] Profile canonical(Profile profile) const;

 private:
  std::vector<std::string> names_;
  std::vector<std::vector<LevelEconomics>> table_;
  MarketParams params_;
};

}  // namespace clearhouse::market
