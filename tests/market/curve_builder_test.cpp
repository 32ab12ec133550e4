// Curves from records (curve_builder.h), on hand-checked examples.
#include "market/curve_builder.h"

#include <gtest/gtest.h>

namespace clearhouse::market {
namespace {

TEST(TokenCapped, AccuracyCountsCorrectAnswersThatFitAndTokensAreCapped) {
  const std::vector<CappedRun> runs = {{50, true}, {100, true}, {300, false}, {200, true}};
  const std::vector<double> thetas = {64, 128, 256, 512};
  const std::vector<ComputeLevel> c = token_capped_curve(runs, thetas);
  ASSERT_EQ(c.size(), 4U);
  EXPECT_DOUBLE_EQ(c[0].accuracy, 0.25);
  EXPECT_DOUBLE_EQ(c[0].tokens, (50 + 64 + 64 + 64) / 4.0);
  EXPECT_DOUBLE_EQ(c[1].accuracy, 0.5);
  EXPECT_DOUBLE_EQ(c[2].accuracy, 0.75);
  EXPECT_DOUBLE_EQ(c[2].tokens, (50 + 100 + 256 + 200) / 4.0);
  EXPECT_DOUBLE_EQ(c[3].accuracy, 0.75);  // the long answer is wrong anyway
  EXPECT_DOUBLE_EQ(c[3].tokens, (50 + 100 + 300 + 200) / 4.0);
  EXPECT_DOUBLE_EQ(c[3].theta, 512);
}

Sample s(double tokens, const char* prediction, bool correct, double reward) {
  return Sample{tokens, prediction, correct, reward};
}

TEST(Voting, MajorityVoteIsTheExactExpectationOverSubsets) {
  // Three samples: "1" right twice, "2" wrong once.
  const std::vector<SampledQuery> qs = {
      {s(10, "1", true, 0.1), s(20, "1", true, 0.2), s(30, "2", false, 0.9)}};
  const std::vector<double> ns = {1, 2, 3};
  const std::vector<ComputeLevel> c = majority_vote_curve(qs, ns);
  EXPECT_NEAR(c[0].accuracy, 2.0 / 3.0, 1e-15);
  // Pairs: {1,1} right; {1,2} tie -> half credit (twice).
  EXPECT_NEAR(c[1].accuracy, (1.0 + 0.5 + 0.5) / 3.0, 1e-15);
  EXPECT_NEAR(c[2].accuracy, 1.0, 1e-15);
  EXPECT_NEAR(c[0].tokens, 20.0, 1e-12);
  EXPECT_NEAR(c[1].tokens, 40.0, 1e-12);
  EXPECT_NEAR(c[2].tokens, 60.0, 1e-12);
}

TEST(Voting, BestOfNFollowsTheRewardModel) {
  const std::vector<SampledQuery> qs = {
      {s(10, "1", true, 0.1), s(20, "1", true, 0.2), s(30, "2", false, 0.9)}};
  const std::vector<double> ns = {1, 2, 3};
  const std::vector<ComputeLevel> c = best_of_n_curve(qs, ns);
  EXPECT_NEAR(c[0].accuracy, 2.0 / 3.0, 1e-15);
  // Pairs: {a,b} right; {a,c} and {b,c} pick the misleading high reward.
  EXPECT_NEAR(c[1].accuracy, 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(c[2].accuracy, 0.0, 1e-15);
}

TEST(Voting, EmptyPredictionsNeverWin) {
  const std::vector<SampledQuery> qs = {
      {s(10, "", false, 0.0), s(10, "", false, 0.0), s(10, "7", true, 0.0)}};
  const std::vector<double> ns = {3};
  EXPECT_NEAR(majority_vote_curve(qs, ns)[0].accuracy, 1.0, 1e-15);
}

}  // namespace
}  // namespace clearhouse::market
