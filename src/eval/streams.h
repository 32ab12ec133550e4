// Traffic streams for the replay evaluation: questions mixed from three difficulty tiers.
//
// Tiers come from a question's cross-model solve rate (docs/results.md): easy >= 0.75, medium in
// [0.35, 0.75), hard < 0.35. The solve rate builds tiers only; it is never a predictor feature.
// A stream of N queries takes round(N x share) from each tier (largest remainder, so the counts sum
// to N), drawn without replacement when the tier holds enough questions and with replacement
// otherwise (reported in StreamDraw::with_replacement). Randomness comes from the generator passed
// in.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace clearhouse::eval {

enum class Tier { kEasy = 0, kMedium = 1, kHard = 2 };
inline constexpr std::size_t kTierCount = 3;

[[nodiscard]] Tier tier_of(double solve_rate);
[[nodiscard]] std::string_view to_string(Tier tier);

struct StreamMix {
  std::string name;
  std::array<double, kTierCount> share;  // easy, medium, hard; sums to 1
};

// balanced (1/3 each), mostly-easy (.7/.2/.1), mostly-hard (.1/.2/.7), u-shaped (.45/.1/.45).
[[nodiscard]] const std::vector<StreamMix>& default_streams();
[[nodiscard]] std::optional<StreamMix> find_stream(std::string_view name);

struct StreamDraw {
  std::vector<std::uint32_t> items;  // elements of the pools, in draw order
  std::array<std::size_t, kTierCount> counts{};
  std::array<bool, kTierCount> with_replacement{};
};

// pools[t]: the candidates of tier t (any ids). A tier with an empty pool and a positive count is a
// programmer error; callers check with tier_counts() first.
[[nodiscard]] StreamDraw draw_stream(
    const std::array<std::vector<std::uint32_t>, kTierCount>& pools, const StreamMix& mix,
    std::size_t n, std::mt19937_64& rng);

// How many of n queries each tier contributes.
[[nodiscard]] std::array<std::size_t, kTierCount> tier_counts(const StreamMix& mix, std::size_t n);

}  // namespace clearhouse::eval
