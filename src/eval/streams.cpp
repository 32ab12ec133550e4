#include "eval/streams.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

namespace clearhouse::eval {

Tier tier_of(double solve_rate) {
  if (solve_rate >= 0.75) return Tier::kEasy;
  if (solve_rate >= 0.35) return Tier::kMedium;
  return Tier::kHard;
}

std::string_view to_string(Tier tier) {
  switch (tier) {
    case Tier::kEasy: return "easy";
    case Tier::kMedium: return "medium";
    case Tier::kHard: return "hard";
  }
  return "unknown";
}

const std::vector<StreamMix>& default_streams() {
  static const std::vector<StreamMix> streams{
      {"balanced", {1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0}},
      {"mostly-easy", {0.7, 0.2, 0.1}},
      {"mostly-hard", {0.1, 0.2, 0.7}},
      {"u-shaped", {0.45, 0.1, 0.45}},
  };
  return streams;
}

std::optional<StreamMix> find_stream(std::string_view name) {
  for (const auto& s : default_streams()) {
    if (s.name == name) return s;
  }
  return std::nullopt;
}

std::array<std::size_t, kTierCount> tier_counts(const StreamMix& mix, std::size_t n) {
  std::array<std::size_t, kTierCount> counts{};
  std::array<double, kTierCount> frac{};
  std::size_t used = 0;
  for (std::size_t t = 0; t < kTierCount; ++t) {
    const double exact = mix.share[t] * static_cast<double>(n);
    counts[t] = static_cast<std::size_t>(std::floor(exact));
    frac[t] = exact - static_cast<double>(counts[t]);
    used += counts[t];
  }
  while (used < n) {
    std::size_t best = 0;
    for (std::size_t t = 1; t < kTierCount; ++t) {
      if (frac[t] > frac[best]) best = t;
    }
    ++counts[best];
    frac[best] = -1.0;
    ++used;
  }
  return counts;
}

StreamDraw draw_stream(const std::array<std::vector<std::uint32_t>, kTierCount>& pools,
                       const StreamMix& mix, std::size_t n, std::mt19937_64& rng) {
  StreamDraw draw;
  draw.counts = tier_counts(mix, n);
  draw.items.reserve(n);
  for (std::size_t t = 0; t < kTierCount; ++t) {
    const auto& pool = pools[t];
    const std::size_t want = draw.counts[t];
    if (want == 0) continue;
    assert(!pool.empty());
    if (pool.size() >= want) {
      // Partial Fisher-Yates: the first `want` of a shuffled copy.
      std::vector<std::uint32_t> copy(pool);
      for (std::size_t k = 0; k < want; ++k) {
        std::uniform_int_distribution<std::size_t> pick(k, copy.size() - 1);
        std::swap(copy[k], copy[pick(rng)]);
        draw.items.push_back(copy[k]);
      }
    } else {
      draw.with_replacement[t] = true;
      std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1);
      for (std::size_t k = 0; k < want; ++k) draw.items.push_back(pool[pick(rng)]);
    }
  }
  // Interleave tiers: the order a gateway would see them in does not matter offline, but a shuffled
  // stream keeps ties (broken by index) from favouring one tier.
  std::shuffle(draw.items.begin(), draw.items.end(), rng);
  return draw;
}

}  // namespace clearhouse::eval
