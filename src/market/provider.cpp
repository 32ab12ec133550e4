#include "market/provider.h"

#include <cmath>
#include <set>

#include "market/tolerances.h"

namespace clearhouse::market {

std::string validate(const Provider& provider) {
  const std::string who = "provider '" + provider.name + "'";
  if (provider.name.empty()) return "a provider has an empty name";
  if (!std::isfinite(provider.usd_per_mtok) || provider.usd_per_mtok < 0.0) {
    return who + ": price must be a finite number >= 0";
  }
  if (provider.levels.empty()) return who + ": no compute levels";
  for (std::size_t l = 0; l < provider.levels.size(); ++l) {
    const ComputeLevel& level = provider.levels[l];
    const std::string where = who + " level " + std::to_string(l);
    if (!std::isfinite(level.theta)) return where + ": theta must be finite";
    if (!std::isfinite(level.accuracy) || level.accuracy < -kAccuracySlack ||
        level.accuracy > 1.0 + kAccuracySlack) {
      return where + ": accuracy must be in [0, 1]";
    }
    if (!std::isfinite(level.tokens) || level.tokens < 0.0) {
      return where + ": tokens must be a finite number >= 0";
    }
    if (l > 0 && !(level.theta > provider.levels[l - 1].theta)) {
      return where + ": theta must be strictly increasing";
    }
  }
  return {};
}

std::string validate(std::span<const Provider> providers, std::size_t min_providers) {
  if (providers.size() < min_providers) {
    return "need at least " + std::to_string(min_providers) + " providers, got " +
           std::to_string(providers.size());
  }
  std::set<std::string> names;
  for (const Provider& p : providers) {
    if (std::string why = validate(p); !why.empty()) return why;
    if (!names.insert(p.name).second) return "provider '" + p.name + "' appears twice";
  }
  return {};
}

}  // namespace clearhouse::market
