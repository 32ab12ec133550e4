#include "predict/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace clearhouse::predict {
namespace {

std::vector<double> average_ranks(std::span<const double> x) {
  const std::size_t n = x.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::vector<double> rank(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && x[order[j + 1]] == x[order[i]]) ++j;
    const double r = 0.5 * static_cast<double>(i + j) + 1.0;
    for (std::size_t k = i; k <= j; ++k) rank[order[k]] = r;
    i = j + 1;
  }
  return rank;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n;
  const double mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  if (saa <= 0 || sbb <= 0) return 0.0;
  return sab / std::sqrt(saa * sbb);
}

}  // namespace

double mean_absolute_error(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) throw std::invalid_argument("mean_absolute_error: sizes differ");
  if (a.empty()) return 0.0;
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += std::abs(a[i] - b[i]);
  return s / static_cast<double>(a.size());
}

double spearman(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) throw std::invalid_argument("spearman: sizes differ");
  if (a.size() < 2) return 0.0;
  return pearson(average_ranks(a), average_ranks(b));
}

double log_tokens(double tokens) {
  return std::log(std::max(1.0, tokens));
}

LengthBaseline LengthBaseline::fit(std::span<const std::string_view> texts,
                                   std::span<const double> log_y) {
  if (texts.size() != log_y.size() || texts.empty()) {
    throw std::invalid_argument("LengthBaseline: need matching, non-empty inputs");
  }
  const double n = static_cast<double>(texts.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    mx += std::log1p(static_cast<double>(texts[i].size()));
    my += log_y[i];
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const double dx = std::log1p(static_cast<double>(texts[i].size())) - mx;
    sxy += dx * (log_y[i] - my);
    sxx += dx * dx;
  }
  LengthBaseline b;
  b.slope = sxx > 0 ? sxy / sxx : 0.0;
  b.intercept = my - b.slope * mx;
  return b;
}

double LengthBaseline::predict_log(std::string_view text) const {
  return intercept + slope * std::log1p(static_cast<double>(text.size()));
}

}  // namespace clearhouse::predict
