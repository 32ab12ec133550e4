#include "market/welfare.h"

#include <cmath>

#include "market/logit.h"

namespace clearhouse::market {

double log_provider_utility(const Market& market, const Profile& profile, double beta,
                            std::size_t provider) {
  return log_share(market, profile, beta, provider) +
         market.at(provider, profile[provider]).log_margin;
}

double provider_utility(const Market& market, const Profile& profile, double beta,
                        std::size_t provider) {
  const LevelEconomics& e = market.at(provider, profile[provider]);
  return std::exp(log_share(market, profile, beta, provider)) * (e.price - e.cost);
}

double social_welfare(const Market& market, const Profile& profile, double beta) {
  const double log_z = log_partition(market, profile, beta);
  double sw = 0.0;
  for (std::size_t k = 0; k < market.size(); ++k) {
    const LevelEconomics& e = market.at(k, profile[k]);
    sw += std::exp(beta * e.user_value - log_z) * e.surplus;
  }
  return sw;
}

double potential(const Market& market, const Profile& profile, double beta) {
  double phi = -log_partition(market, profile, beta);
  for (std::size_t k = 0; k < market.size(); ++k) {
    const LevelEconomics& e = market.at(k, profile[k]);
    phi += e.log_margin + beta * e.user_value;
  }
  return phi;
}

MarketSummary summarize(const Market& market, const Profile& profile, double beta) {
  const double log_z = log_partition(market, profile, beta);
  MarketSummary out;
  double accuracy = 0.0;
  for (std::size_t k = 0; k < market.size(); ++k) {
    const LevelEconomics& e = market.at(k, profile[k]);
    const double s = std::exp(beta * e.user_value - log_z);
    out.social_welfare += s * e.surplus;
    out.mean_price += s * e.price;
    out.user_value += s * e.user_value;
    out.provider_profit += s * (e.price - e.cost);
    out.mean_tokens += s * e.tokens;
    out.buy_share += s;
    accuracy += s * e.accuracy;
  }
  const double v0 = market.params().outside_value;
  out.user_value += std::exp(beta * v0 - log_z) * v0;
  out.mean_accuracy = out.buy_share > 0.0 ? accuracy / out.buy_share : 0.0;
  return out;
}

}  // namespace clearhouse::market
