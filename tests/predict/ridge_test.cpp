// Tests of the dual ridge solver against closed forms.
#include "predict/ridge.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace clearhouse::predict {
namespace {

// Rows with one feature (index 0) of value x.
SparseRows one_feature(const std::vector<double>& x) {
  SparseRows rows;
  FeatureBuffer b;
  for (const double v : x) {
    b.clear();
    b.index.push_back(0);
    b.value.push_back(static_cast<float>(v));
    rows.add_row(b);
  }
  return rows;
}

TEST(Ridge, AddRowMergesRepeatedIndices) {
  SparseRows rows;
  FeatureBuffer b;
  b.index = {5, 2, 5, 9};
  b.value = {1.0f, 2.0f, 0.5f, 3.0f};
  rows.add_row(b);
  ASSERT_EQ(rows.rows(), 1u);
  EXPECT_EQ(rows.index, (std::vector<std::uint32_t>{2, 5, 9}));
  EXPECT_EQ(rows.value, (std::vector<double>{2.0, 1.5, 3.0}));
  const auto gram = gram_matrix(rows, 16);
  EXPECT_DOUBLE_EQ(gram[0], 4.0 + 2.25 + 9.0);
}

TEST(Ridge, OneFeatureMatchesClosedForm) {
  // Ridge with an unpenalised intercept on one feature: w = Sxy / (Sxx + lambda).
  const std::vector<double> x = {1, 2, 4, 7};
  const std::vector<double> y = {3, 5, 6, 11};
  const double lambda = 2.0;
  const double mx = 3.5, my = 6.25;
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  const double w = sxy / (sxx + lambda);
  const double b = my - w * mx;

  const SparseRows rows = one_feature(x);
  const auto gram = gram_matrix(rows, 4);
  std::vector<std::size_t> all(x.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  const DualRidgeFit fit = fit_dual_ridge(gram, x.size(), all, y, lambda);
  const auto weights = primal_weights(rows, all, fit.alpha, 4);
  EXPECT_NEAR(weights[0], w, 1e-12);
  EXPECT_NEAR(fit.intercept, b, 1e-12);
  EXPECT_NEAR(std::accumulate(fit.alpha.begin(), fit.alpha.end(), 0.0), 0.0, 1e-12);
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(predict_row(fit, gram, x.size(), all, i), b + w * x[i], 1e-12);
  }
  EXPECT_THROW(fit_dual_ridge(gram, x.size(), all, y, 0.0), std::invalid_argument);
}

TEST(Ridge, LargerSystemsSolveAccurately) {
  // 40 rows, features spread over 30 indices: the dual solution satisfies the normal equations
  // (X_c^T X_c + lambda I) w = X_c^T y_c.
  const std::size_t n = 40, d = 30;
  SparseRows rows;
  FeatureBuffer b;
  std::vector<double> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    b.clear();
    for (std::size_t k = 0; k < 5; ++k) {
      b.index.push_back(static_cast<std::uint32_t>((i * 7 + k * 11) % d));
      b.value.push_back(static_cast<float>(1.0 + static_cast<double>((i + k) % 3)));
    }
    rows.add_row(b);
    y[i] = static_cast<double>(i % 5) - 2.0 + 0.1 * static_cast<double>(i);
  }
  const auto gram = gram_matrix(rows, static_cast<std::uint32_t>(d));
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), std::size_t{0});
  const double lambda = 0.7;
  const DualRidgeFit fit = fit_dual_ridge(gram, n, all, y, lambda);
  const auto w = primal_weights(rows, all, fit.alpha, static_cast<std::uint32_t>(d));
  // Dense centred X.
  std::vector<std::vector<double>> xc(n, std::vector<double>(d, 0.0));
  std::vector<double> mean(d, 0.0);
  double my = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = rows.offsets[i]; k < rows.offsets[i + 1]; ++k) {
      xc[i][rows.index[k]] = rows.value[k];
    }
    for (std::size_t j = 0; j < d; ++j) mean[j] += xc[i][j] / static_cast<double>(n);
    my += y[i] / static_cast<double>(n);
  }
  for (auto& row : xc) {
    for (std::size_t j = 0; j < d; ++j) row[j] -= mean[j];
  }
  for (std::size_t j = 0; j < d; ++j) {
    double lhs = lambda * w[j], rhs = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double xw = 0;
      for (std::size_t k = 0; k < d; ++k) xw += xc[i][k] * w[k];
      lhs += xc[i][j] * xw;
      rhs += xc[i][j] * (y[i] - my);
    }
    EXPECT_NEAR(lhs, rhs, 1e-9) << "normal equation " << j;
  }
}

TEST(Ridge, CrossValidationPrefersLittlePenaltyOnNoiselessData) {
  std::vector<double> x, y;
  for (int i = 0; i < 30; ++i) {
    x.push_back(static_cast<double>(i % 10));
    y.push_back(2.0 * static_cast<double>(i % 10) + 1.0);
  }
  const SparseRows rows = one_feature(x);
  const auto gram = gram_matrix(rows, 4);
  const std::vector<double> lambdas = {0.01, 10.0, 1000.0};
  const CrossValidation cv = cross_validate(gram, x.size(), y, lambdas, 3);
  EXPECT_DOUBLE_EQ(cv.best_lambda, 0.01);
  EXPECT_LT(cv.rmse[0], cv.rmse[1]);
  EXPECT_LT(cv.rmse[1], cv.rmse[2]);
  ASSERT_EQ(cv.oof_predictions.size(), x.size());
  EXPECT_NEAR(cv.oof_predictions[3], 7.0, 0.01);
  EXPECT_THROW(cross_validate(gram, x.size(), y, lambdas, 1), std::invalid_argument);
}

}  // namespace
}  // namespace clearhouse::predict
