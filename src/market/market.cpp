#include "market/market.h"

#include <cmath>
#include <limits>

#include "market/tolerances.h"

namespace clearhouse::market {

std::string MarketParams::validate() const {
  if (std::string why = quality.validate(); !why.empty()) return why;
  if (!std::isfinite(margin) || margin <= -1.0) return "margin m must be a finite number > -1";
  if (!std::isfinite(outside_value)) return "outside value v0 must be finite";
  return {};
}

Market::Market(std::span<const Provider> providers, const MarketParams& params) : params_(params) {
  names_.reserve(providers.size());
  table_.reserve(providers.size());
  for (const Provider& provider : providers) {
    names_.push_back(provider.name);
    std::vector<LevelEconomics>& row = table_.emplace_back();
    row.reserve(provider.levels.size());
    const double per_token = provider.usd_per_mtok * kPerMillion;
    for (const ComputeLevel& level : provider.levels) {
      LevelEconomics e;
      e.theta = level.theta;
      e.accuracy = level.accuracy;
      e.tokens = level.tokens;
      e.price = level.tokens * per_token;
      e.cost = e.price / (1.0 + params.margin);
      e.quality = params.quality.quality(level.accuracy);
      e.user_value = e.quality - e.price;
      e.surplus = e.quality - e.cost;
      const double margin = e.price - e.cost;
      e.log_margin = margin > 0.0 ? std::log(margin) : -std::numeric_limits<double>::infinity();
      row.push_back(e);
    }
  }
}

std::size_t Market::profile_count() const {
  std::size_t count = 1;
  for (const auto& row : table_) {
    if (row.empty()) return 0;
    if (count > std::numeric_limits<std::size_t>::max() / row.size()) {
      return std::numeric_limits<std::size_t>::max();
    }
    count *= row.size();
  }
  return count;
}

bool Market::valid(const Profile& profile) const {
  if (profile.size() != size()) return false;
  for (std::size_t k = 0; k < size(); ++k) {
    if (profile[k] >= levels(k)) return false;
  }
  return true;
}

std::size_t Market::canonical_level(std::size_t provider, std::size_t level) const {
  const LevelEconomics& e = table_[provider][level];
  for (std::size_t l = 0; l < level; ++l) {
    const LevelEconomics& o = table_[provider][l];
    if (o.price == e.price && o.quality == e.quality && o.cost == e.cost) return l;
  }
  return level;
}

Profile Market::canonical(Profile profile) const {
  for (std::size_t k = 0; k < profile.size(); ++k) profile[k] = canonical_level(k, profile[k]);
  return profile;
}

}  // namespace clearhouse::market
