#include "predict/ridge.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace clearhouse::predict {
namespace {

// Dot product with four partial sums (lets the compiler vectorise without -ffast-math).
double dot(const double* a, const double* b, std::size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += a[k] * b[k];
    s1 += a[k + 1] * b[k + 1];
    s2 += a[k + 2] * b[k + 2];
    s3 += a[k + 3] * b[k + 3];
  }
  for (; k < n; ++k) s0 += a[k] * b[k];
  return (s0 + s1) + (s2 + s3);
}

// Four dot products of rows r0..r3 with row c over [0, n): row c is read once for all four.
void dot4(const double* r0, const double* r1, const double* r2, const double* r3, const double* c,
          std::size_t n, double out[4]) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const double x = c[k];
    s0 += r0[k] * x;
    s1 += r1[k] * x;
    s2 += r2[k] * x;
    s3 += r3[k] * x;
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

// In-place Cholesky A = L L^T of a row-major m x m matrix (lower triangle is used and overwritten).
// Row-oriented (Cholesky-Banachiewicz), four rows at a time so each earlier row is streamed from
// memory once per four rows instead of once per row.
void cholesky(std::vector<double>& a, std::size_t m) {
  constexpr std::size_t kBlock = 4;
  for (std::size_t i0 = 0; i0 < m; i0 += kBlock) {
    const std::size_t rows = std::min(kBlock, m - i0);
    if (rows == kBlock) {
      double* r[kBlock] = {&a[i0 * m], &a[(i0 + 1) * m], &a[(i0 + 2) * m], &a[(i0 + 3) * m]};
      for (std::size_t j = 0; j < i0; ++j) {
        const double* row_j = &a[j * m];
        double s[kBlock];
        dot4(r[0], r[1], r[2], r[3], row_j, j, s);
        for (std::size_t b = 0; b < kBlock; ++b) r[b][j] = (r[b][j] - s[b]) / row_j[j];
      }
    } else {
      for (std::size_t i = i0; i < m; ++i) {
        double* row_i = &a[i * m];
        for (std::size_t j = 0; j < i0; ++j) {
          const double* row_j = &a[j * m];
          row_i[j] = (row_i[j] - dot(row_i, row_j, j)) / row_j[j];
        }
      }
    }
    // The triangle inside the block, then the diagonal.
    for (std::size_t i = i0; i < i0 + rows; ++i) {
      double* row_i = &a[i * m];
      for (std::size_t j = i0; j < i; ++j) {
        const double* row_j = &a[j * m];
        row_i[j] = (row_i[j] - dot(row_i, row_j, j)) / row_j[j];
      }
      const double d = row_i[i] - dot(row_i, row_i, i);
      if (!(d > 0.0)) throw std::runtime_error("ridge: matrix not positive definite");
      row_i[i] = std::sqrt(d);
    }
  }
}

// Solves L L^T x = b in place.
void cholesky_solve(const std::vector<double>& l, std::size_t m, std::vector<double>& b) {
  for (std::size_t i = 0; i < m; ++i) b[i] = (b[i] - dot(&l[i * m], b.data(), i)) / l[i * m + i];
  for (std::size_t i = m; i-- > 0;) {
    double s = b[i];
    for (std::size_t k = i + 1; k < m; ++k) s -= l[k * m + i] * b[k];
    b[i] = s / l[i * m + i];
  }
}

}  // namespace

void SparseRows::add_row(const FeatureBuffer& features) {
  thread_local std::vector<std::size_t> order;
  order.resize(features.index.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return features.index[a] < features.index[b]; });
  const std::size_t start = index.size();
  for (const std::size_t k : order) {
    const std::uint32_t idx = features.index[k];
    if (index.size() > start && index.back() == idx) {
      value.back() += static_cast<double>(features.value[k]);
    } else {
      index.push_back(idx);
      value.push_back(static_cast<double>(features.value[k]));
    }
  }
  offsets.push_back(index.size());
}

std::vector<double> gram_matrix(const SparseRows& rows, std::uint32_t dimension) {
  const std::size_t n = rows.rows();
  std::vector<double> gram(n * n, 0.0);
  std::vector<double> dense(dimension, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = rows.offsets[i]; k < rows.offsets[i + 1]; ++k) {
      dense[rows.index[k]] = rows.value[k];
    }
    for (std::size_t j = 0; j <= i; ++j) {
      double s = 0;
      for (std::size_t k = rows.offsets[j]; k < rows.offsets[j + 1]; ++k) {
        s += dense[rows.index[k]] * rows.value[k];
      }
      gram[i * n + j] = s;
      gram[j * n + i] = s;
    }
    for (std::size_t k = rows.offsets[i]; k < rows.offsets[i + 1]; ++k) dense[rows.index[k]] = 0;
  }
  return gram;
}

DualRidgeFit fit_dual_ridge(std::span<const double> gram, std::size_t n,
                            std::span<const std::size_t> subset, std::span<const double> y,
                            double lambda) {
  if (!(lambda > 0.0)) throw std::invalid_argument("ridge: lambda must be > 0");
  const std::size_t m = subset.size();
  if (m == 0) throw std::invalid_argument("ridge: no examples");
  // Centred Gram matrix H K H of the subset.
  std::vector<double> a(m * m);
  std::vector<double> row_mean(m, 0.0);
  double grand = 0;
  for (std::size_t i = 0; i < m; ++i) {
    const double* k_row = &gram[subset[i] * n];
    double s = 0;
    for (std::size_t j = 0; j < m; ++j) {
      a[i * m + j] = k_row[subset[j]];
      s += a[i * m + j];
    }
    row_mean[i] = s / static_cast<double>(m);
    grand += s;
  }
  grand /= static_cast<double>(m) * static_cast<double>(m);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < m; ++j) a[i * m + j] += grand - row_mean[i] - row_mean[j];
    a[i * m + i] += lambda;
  }
  double y_mean = 0;
  for (const std::size_t r : subset) y_mean += y[r];
  y_mean /= static_cast<double>(m);
  std::vector<double> alpha(m);
  for (std::size_t i = 0; i < m; ++i) alpha[i] = y[subset[i]] - y_mean;
  cholesky(a, m);
  cholesky_solve(a, m, alpha);
  // b = mean(y) - mean_i (K alpha)_i = mean(y) - sum_j alpha_j row_mean[j] (K symmetric).
  double b = y_mean;
  for (std::size_t j = 0; j < m; ++j) b -= alpha[j] * row_mean[j];
  return DualRidgeFit{std::move(alpha), b};
}

double predict_row(const DualRidgeFit& fit, std::span<const double> gram, std::size_t n,
                   std::span<const std::size_t> subset, std::size_t t) {
  const double* k_row = &gram[t * n];
  double s = fit.intercept;
  for (std::size_t j = 0; j < subset.size(); ++j) s += fit.alpha[j] * k_row[subset[j]];
  return s;
}

CrossValidation cross_validate(std::span<const double> gram, std::size_t n,
                               std::span<const double> y, std::span<const double> lambdas,
                               std::uint32_t folds) {
  if (folds < 2 || n < folds) throw std::invalid_argument("cross_validate: need 2 <= folds <= n");
  if (lambdas.empty()) throw std::invalid_argument("cross_validate: no lambda");
  CrossValidation cv;
  cv.rmse.assign(lambdas.size(), 0.0);
  std::vector<std::vector<double>> oof(lambdas.size(), std::vector<double>(n, 0.0));
  for (std::uint32_t f = 0; f < folds; ++f) {
    std::vector<std::size_t> train, test;
    for (std::size_t i = 0; i < n; ++i) (i % folds == f ? test : train).push_back(i);
    for (std::size_t l = 0; l < lambdas.size(); ++l) {
      const DualRidgeFit fit = fit_dual_ridge(gram, n, train, y, lambdas[l]);
      for (const std::size_t t : test) oof[l][t] = predict_row(fit, gram, n, train, t);
    }
  }
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_l = 0;
  for (std::size_t l = 0; l < lambdas.size(); ++l) {
    double sse = 0;
    for (std::size_t i = 0; i < n; ++i) sse += (oof[l][i] - y[i]) * (oof[l][i] - y[i]);
    cv.rmse[l] = std::sqrt(sse / static_cast<double>(n));
    if (cv.rmse[l] < best) {
      best = cv.rmse[l];
      best_l = l;
    }
  }
  cv.best_lambda = lambdas[best_l];
  cv.oof_predictions = std::move(oof[best_l]);
  return cv;
}

std::vector<double> primal_weights(const SparseRows& rows, std::span<const std::size_t> subset,
                                   std::span<const double> alpha, std::uint32_t dimension) {
  std::vector<double> w(dimension, 0.0);
  for (std::size_t j = 0; j < subset.size(); ++j) {
    const std::size_t r = subset[j];
    for (std::size_t k = rows.offsets[r]; k < rows.offsets[r + 1]; ++k) {
      w[rows.index[k]] += alpha[j] * rows.value[k];
    }
  }
  return w;
}

}  // namespace clearhouse::predict
