// Fitting every family to named empirical curves and rendering the results: markdown tables, CSV,
// JSON, a per-question summary (wins by AIC, RMSE, AIC gaps) and SVG plots (empirical points and
// fitted lines on a log token axis). Pure: returns values and strings; the CLI writes files.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "eval/curve_fit.h"
#include "eval/curve_fit_data.h"

namespace clearhouse::eval {

struct CurveFits {
  NamedCurve curve;
  std::vector<FitResult> fits;  // all_families() order
  std::size_t winner = 0;       // index into fits: best_by_aic
};

// True when the curve is zero everywhere (nothing correct): every family fits it exactly and a
// "winner" would mean nothing.
[[nodiscard]] bool is_flat(const Curve& curve);

[[nodiscard]] CurveFits fit_named(NamedCurve curve, const FitOptions& options = {});

// An AIC lead of 2 or more is the usual threshold for "substantially better" (Burnham & Anderson).
inline constexpr double kClearAicGap = 2.0;

// Over per-question fits: flat curves are counted, not ranked.
struct QuestionSummary {
  std::size_t questions = 0;  // curves given
  std::size_t flat = 0;       // never correct: left out of everything below
  std::vector<CurveFamily> families;
  std::vector<std::size_t> wins;         // times each family had the smallest AIC (first on ties)
  std::vector<std::size_t> clear_wins;   // ... by at least kClearAicGap over every other family
  std::size_t undecided = 0;             // ranked questions without a clear winner
  std::vector<double> median_rmse;       // per family
  std::vector<double> mean_rmse;         // per family
  std::vector<double> median_delta_aic;  // per family, AIC minus that question's best AIC
};
[[nodiscard]] QuestionSummary summarize_questions(std::span<const CurveFits> questions);

// One row per curve: RMSE (and AIC gap to the best) of every family, and the winner.
[[nodiscard]] std::string fit_summary_markdown(std::span<const CurveFits> curves);
// One row per curve and family: RMSE, AIC, delta AIC, parameters, winner mark.
[[nodiscard]] std::string fit_detail_markdown(std::span<const CurveFits> curves);
[[nodiscard]] std::string question_summary_markdown(const QuestionSummary& summary);

// source,curve,items,correct,points,family,p1_name,p1,p2_name,p2,p3_name,p3,rss,rmse,aic,delta_aic,winner
[[nodiscard]] std::string fit_csv(std::span<const CurveFits> curves);
// The empirical points: source,curve,t,y
[[nodiscard]] std::string points_csv(std::span<const CurveFits> curves);

[[nodiscard]] nlohmann::json fit_json(const CurveFits& fits);
[[nodiscard]] nlohmann::json question_summary_json(const QuestionSummary& summary);

// One SVG document: the curve's points and every family's fitted line.
[[nodiscard]] std::string fit_svg(const CurveFits& fits, const std::string& title);

}  // namespace clearhouse::eval
