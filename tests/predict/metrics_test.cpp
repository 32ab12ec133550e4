// Tests of the predictor metrics and the length baseline, on numbers checkable by hand.
#include "predict/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace clearhouse::predict {
namespace {

TEST(Metrics, MeanAbsoluteError) {
  const std::vector<double> a = {1, 2, 3};
  const std::vector<double> b = {2, 2, 1};
  EXPECT_DOUBLE_EQ(mean_absolute_error(a, b), (1.0 + 0.0 + 2.0) / 3.0);
  EXPECT_DOUBLE_EQ(mean_absolute_error(std::vector<double>{}, std::vector<double>{}), 0.0);
  EXPECT_THROW(mean_absolute_error(a, std::vector<double>{1.0}), std::invalid_argument);
}

TEST(Metrics, SpearmanHandValues) {
  const std::vector<double> x = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(spearman(x, std::vector<double>{10, 20, 30, 40, 50}), 1.0);
  EXPECT_DOUBLE_EQ(spearman(x, std::vector<double>{5, 4, 3, 2, 1}), -1.0);
  // Monotone but non-linear: still 1.
  EXPECT_DOUBLE_EQ(spearman(x, std::vector<double>{1, 8, 27, 64, 125}), 1.0);
  // One swap of neighbours: 1 - 6 * (1 + 1) / (5 * 24) = 0.9.
  EXPECT_NEAR(spearman(x, std::vector<double>{1, 3, 2, 4, 5}), 0.9, 1e-12);
  // Ties get average ranks: y ranks (1.5, 1.5, 3), x ranks (1, 2, 3) -> r = 0.8660...
  EXPECT_NEAR(spearman(std::vector<double>{1, 2, 3}, std::vector<double>{7, 7, 9}),
              std::sqrt(3.0) / 2.0, 1e-12);
  // A constant side has no ranking: 0.
  EXPECT_DOUBLE_EQ(spearman(x, std::vector<double>{2, 2, 2, 2, 2}), 0.0);
}

TEST(Metrics, LogTokensFloorsAtOne) {
  EXPECT_DOUBLE_EQ(log_tokens(0), 0.0);
  EXPECT_DOUBLE_EQ(log_tokens(1), 0.0);
  EXPECT_DOUBLE_EQ(log_tokens(std::exp(3.0)), 3.0);
}

TEST(Metrics, LengthBaselineRecoversAnExactLine) {
  // y = 1 + 2 log(1 + chars) exactly.
  const std::vector<std::string> texts = {"a", "abcd", std::string(20, 'x'), std::string(99, 'y')};
  std::vector<std::string_view> views(texts.begin(), texts.end());
  std::vector<double> y;
  for (const auto& t : texts) y.push_back(1.0 + 2.0 * std::log1p(static_cast<double>(t.size())));
  const LengthBaseline b = LengthBaseline::fit(views, y);
  EXPECT_NEAR(b.intercept, 1.0, 1e-9);
  EXPECT_NEAR(b.slope, 2.0, 1e-9);
  EXPECT_NEAR(b.predict_log("abcdefghi"), 1.0 + 2.0 * std::log(10.0), 1e-9);
}

}  // namespace
}  // namespace clearhouse::predict
