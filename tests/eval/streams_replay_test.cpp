#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "eval/replay.h"
#include "eval/streams.h"

namespace clearhouse::eval {
namespace {

TEST(Streams, TierBoundariesFollowTheDesign) {
  EXPECT_EQ(tier_of(0.75), Tier::kEasy);
  EXPECT_EQ(tier_of(0.7499), Tier::kMedium);
  EXPECT_EQ(tier_of(0.35), Tier::kMedium);
  EXPECT_EQ(tier_of(0.3499), Tier::kHard);
  EXPECT_EQ(tier_of(0.0), Tier::kHard);
}

TEST(Streams, CountsSumToTheStreamSize) {
  for (const auto& mix : default_streams()) {
    for (std::size_t n : {1u, 7u, 100u, 500u, 501u}) {
      const auto c = tier_counts(mix, n);
      EXPECT_EQ(c[0] + c[1] + c[2], n) << mix.name;
    }
  }
  const auto balanced = tier_counts(*find_stream("balanced"), 500);
  EXPECT_EQ(balanced, (std::array<std::size_t, 3>{167, 167, 166}));
  const auto hard = tier_counts(*find_stream("mostly-hard"), 500);
  EXPECT_EQ(hard, (std::array<std::size_t, 3>{50, 100, 350}));
  EXPECT_FALSE(find_stream("all-easy").has_value());
}

TEST(Streams, DrawsWithoutReplacementWhenThePoolSufficesAndIsSeeded) {
  std::array<std::vector<std::uint32_t>, kTierCount> pools;
  for (std::uint32_t i = 0; i < 300; ++i) pools[i % 3].push_back(i);
  std::mt19937_64 a(5), b(5);
  const auto d1 = draw_stream(pools, *find_stream("balanced"), 90, a);
  const auto d2 = draw_stream(pools, *find_stream("balanced"), 90, b);
  EXPECT_EQ(d1.items, d2.items);
  EXPECT_EQ(std::set<std::uint32_t>(d1.items.begin(), d1.items.end()).size(), 90u);
  for (bool r : d1.with_replacement) EXPECT_FALSE(r);
  std::size_t hard = 0;
  for (auto id : d1.items) hard += id % 3 == 2;
  EXPECT_EQ(hard, 30u);
}

TEST(Streams, FlagsReplacementWhenATierIsShort) {
  std::array<std::vector<std::uint32_t>, kTierCount> pools{std::vector<std::uint32_t>{1, 2, 3},
                                                           std::vector<std::uint32_t>{4, 5, 6, 7},
                                                           std::vector<std::uint32_t>{8}};
  std::mt19937_64 rng(1);
  const auto d = draw_stream(pools, *find_stream("mostly-hard"), 20, rng);
  EXPECT_EQ(d.items.size(), 20u);
  EXPECT_TRUE(d.with_replacement[2]);
  EXPECT_EQ(std::count(d.items.begin(), d.items.end(), 8u), 14);
}

// Solved iff correct and the true length fits; consumption is min(cap, length); 0 is abandoned.
TEST(Replay, ScoresTruncationAndAbandonment) {
  std::vector<ReplayItem> items(4);
  items[0].true_tokens = 100;
  items[0].correct = true;  // cap 100: fits exactly
  items[1].true_tokens = 100;
  items[1].correct = true;  // cap 99: truncated
  items[2].true_tokens = 50;
  items[2].correct = false;  // fits but wrong
  items[3].true_tokens = 10;
  items[3].correct = true;  // abandoned
  const std::vector<std::int64_t> caps{100, 99, 80, 0};
  const ReplayOutcome out = replay(items, caps);
  EXPECT_EQ(out.solved, 1u);
  EXPECT_EQ(out.abandoned, 1u);
  EXPECT_EQ(out.requests, 3u);
  EXPECT_EQ(out.allocated, 279);
  EXPECT_DOUBLE_EQ(out.consumed, 100 + 99 + 50);
  EXPECT_DOUBLE_EQ(out.accuracy(items.size()), 0.25);
}

}  // namespace
}  // namespace clearhouse::eval
