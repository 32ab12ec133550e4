#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/expected_success.h"
#include "eval/success_calibration.h"

namespace clearhouse {
namespace {

using core::SuccessBelief;

TEST(ExpectedSuccess, StaysWithinBudgetAndNeverDropsAsBudgetGrows) {
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> p(0.0, 1.0), mu(3.0, 7.0), sigma(0.1, 1.0);
  for (int k = 0; k < 300; ++k) {
    std::vector<SuccessBelief> beliefs(1 + k % 40);
    for (auto& b : beliefs) b = {p(rng), mu(rng), sigma(rng)};
    double previous = -1.0;
    for (std::int64_t per_query : {0, 16, 64, 128, 256, 512, 1024, 4096}) {
      const auto budget = per_query * static_cast<std::int64_t>(beliefs.size());
      const auto plan = core::allocate_expected_successes(beliefs, budget, 4096);
      std::int64_t sum = 0;
      for (auto c : plan.caps) {
        ASSERT_GE(c, 0);
        ASSERT_LE(c, 4096);
        sum += c;
      }
      ASSERT_LE(sum, budget);
      EXPECT_EQ(sum, plan.allocated);
      EXPECT_GE(plan.expected_successes, previous - 1e-9);
      previous = plan.expected_successes;
    }
  }
}

TEST(ExpectedSuccess, FundsTheLikelyShortQueryFirstAndAbandonsTheHopeless) {
  // Query 0: likely right, short (~100 tokens). Query 1: never right. Query 2: right but long.
  const std::vector<SuccessBelief> beliefs{
      {0.9, std::log(100.0), 0.2}, {0.0, std::log(50.0), 0.2}, {0.9, std::log(2000.0), 0.2}};
  const auto plan = core::allocate_expected_successes(beliefs, 300, 4096);
  EXPECT_GT(plan.caps[0], 100);
  EXPECT_EQ(plan.caps[1], 0);
  EXPECT_EQ(plan.caps[2], 0);
  EXPECT_NEAR(plan.expected_successes,
              core::success_probability(beliefs[0], static_cast<double>(plan.caps[0])), 1e-12);
  EXPECT_GT(plan.expected_successes, 0.85);
}

TEST(SuccessCalibration, LearnsThatLongPredictionsFailAndRoundTripsThroughJson) {
  std::vector<eval::CalibrationExample> xs;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 0.3);
  for (int i = 0; i < 400; ++i) {
    const double predicted = 4.0 + 3.0 * (i % 100) / 100.0;
    const bool correct = predicted < 5.5;  // long answers are wrong
    xs.push_back({"gsm", predicted, std::exp(predicted - 0.2 + noise(rng)), correct});
  }
  const auto cal = eval::SuccessCalibration::fit(xs);
  const auto short_q = cal.belief("gsm", 4.2);
  const auto long_q = cal.belief("gsm", 6.8);
  EXPECT_GT(short_q.p_correct, 0.7);
  EXPECT_LT(long_q.p_correct, 0.3);
  EXPECT_NEAR(short_q.log_mu, 4.2 - 0.2, 0.1);  // correct answers run 0.2 shorter
  EXPECT_NEAR(short_q.log_sigma, 0.3, 0.08);
  // An unseen dataset falls back to the pooled figures (here the same data).
  EXPECT_DOUBLE_EQ(cal.belief("math", 4.2).p_correct, cal.pooled().p_bin[0]);

  const auto back = eval::SuccessCalibration::from_json(cal.to_json());
  for (double x : {3.0, 4.5, 5.6, 7.0}) {
    EXPECT_DOUBLE_EQ(back.belief("gsm", x).p_correct, cal.belief("gsm", x).p_correct);
    EXPECT_DOUBLE_EQ(back.belief("gsm", x).log_mu, cal.belief("gsm", x).log_mu);
  }
  nlohmann::json bad = cal.to_json();
  bad["pooled"]["p_bin"] = {0.5};
  EXPECT_THROW((void)eval::SuccessCalibration::from_json(bad), std::invalid_argument);
  EXPECT_THROW((void)eval::SuccessCalibration::from_json(nlohmann::json::object()),
               std::invalid_argument);
}

}  // namespace
}  // namespace clearhouse
