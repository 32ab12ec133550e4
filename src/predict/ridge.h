// Ridge regression in dual (kernel) form on sparse rows, with an unpenalised intercept.
//
// With n examples and d >> n hashed features, ridge is solved exactly through the n x n Gram matrix
// K = X X^T: alpha = (H K H + lambda I)^{-1} H y with H the centring matrix, then w = X^T alpha and
// b = mean(y) - mean(K alpha). Cost: O(n^2 * nnz/row) for K plus O(n^3 / 3) per Cholesky solve;
// about a second for 1,600 questions. Cross-validation reuses K: a fold's held-out predictions are
// b + K[t, train] alpha. No dependency beyond the standard library; deterministic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "predict/text_features.h"

namespace clearhouse::predict {

// Compressed sparse rows; indices within a row are sorted and unique.
struct SparseRows {
  std::vector<std::size_t> offsets{0};
  std::vector<std::uint32_t> index;
  std::vector<double> value;

  // Appends a row, summing repeated indices.
  void add_row(const FeatureBuffer& features);
  std::size_t rows() const { return offsets.size() - 1; }
};

// Symmetric n x n Gram matrix, row-major: K[i * n + j] = <x_i, x_j>.
std::vector<double> gram_matrix(const SparseRows& rows, std::uint32_t dimension);

// A dual ridge fit on a subset of the rows of K: f(x) = intercept + sum_j alpha[j] <x_{rows[j]},
// x>.
struct DualRidgeFit {
  std::vector<double> alpha;  // parallel to the subset
  double intercept = 0;
};

// Fits on `subset` (row indices into K, which is n x n) with targets y[row] (y has n entries).
// Throws std::runtime_error if the system is not positive definite (lambda must be > 0).
DualRidgeFit fit_dual_ridge(std::span<const double> gram, std::size_t n,
                            std::span<const std::size_t> subset, std::span<const double> y,
                            double lambda);

// Prediction of a fit for row t of K.
double predict_row(const DualRidgeFit& fit, std::span<const double> gram, std::size_t n,
                   std::span<const std::size_t> subset, std::size_t t);

struct CrossValidation {
  double best_lambda = 0;
  std::vector<double> rmse;             // per lambda, out-of-fold RMSE
  std::vector<double> oof_predictions;  // per example, at best_lambda
};

// K-fold cross-validation over `lambdas` (fold of example i = i % folds); folds >= 2, n >= folds.
CrossValidation cross_validate(std::span<const double> gram, std::size_t n,
                               std::span<const double> y, std::span<const double> lambdas,
                               std::uint32_t folds);

// w = sum_i alpha_i x_{subset_i}, as a dense vector of `dimension` entries.
std::vector<double> primal_weights(const SparseRows& rows, std::span<const std::size_t> subset,
                                   std::span<const double> alpha, std::uint32_t dimension);

}  // namespace clearhouse::predict
