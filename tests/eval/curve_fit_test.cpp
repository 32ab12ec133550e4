// Curve fitting (src/eval/curve_fit.h): every family recovers known parameters from noiseless and
// seeded-noise synthetic curves, AIC picks the family that generated the data, and the helpers
// (AIC, curves from data, reports) give hand-checkable numbers.
#include "eval/curve_fit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/math_samples.h"
#include "eval/curve_fit_data.h"
#include "eval/curve_fit_report.h"

namespace clearhouse::eval {
namespace {

struct Truth {
  CurveFamily family;
  std::vector<double> params;
};

// Parameters in the range real curves show (tokens in the hundreds, asymptotes below 1).
std::vector<Truth> truths() {
  return {
      {CurveFamily::kSurgePhi, {0.004, 0.005, 100}}, {CurveFamily::kSurgeCapped, {0.7, 0.004, 80}},
      {CurveFamily::kSurgeCdf, {0.8, 0.02, 60}},     {CurveFamily::kLogLogistic, {0.85, 4.0, 150}},
      {CurveFamily::kPowerLaw, {0.6, 1.5, 120}},     {CurveFamily::kShiftedExp, {0.5, 0.01, 90}},
      {CurveFamily::kLogNormal, {0.9, 5.2, 0.4}}};
}

Curve synthetic(const Truth& truth, const std::vector<double>& grid, double noise,
                std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  Curve c;
  for (const double t : grid) {
    c.t.push_back(t);
    c.y.push_back(evaluate(truth.family, truth.params, t) + (noise > 0 ? noise * gauss(rng) : 0.0));
  }
  return c;
}

TEST(CurveFit, EveryFamilyRecoversItsParametersFromANoiselessCurve) {
  const auto grid = geometric_grid(16, 4096, 49);
  for (const Truth& truth : truths()) {
    SCOPED_TRACE(std::string(to_string(truth.family)));
    const FitResult r = fit_curve(truth.family, synthetic(truth, grid, 0, 0));
    EXPECT_LT(r.rmse, 1e-6);
    ASSERT_EQ(r.params.size(), 3u);
    for (std::size_t j = 0; j < 3; ++j) {
      EXPECT_NEAR(r.params[j], truth.params[j], 1e-3 * std::abs(truth.params[j])) << j;
    }
    EXPECT_EQ(r.n, grid.size());
    EXPECT_GT(r.starts, 1);
  }
}

TEST(CurveFit, EveryFamilyRecoversItsParametersUnderSeededNoise) {
  const auto grid = geometric_grid(16, 4096, 97);
  for (const Truth& truth : truths()) {
    SCOPED_TRACE(std::string(to_string(truth.family)));
    const FitResult r = fit_curve(truth.family, synthetic(truth, grid, 0.005, 7));
    EXPECT_NEAR(r.rmse, 0.005, 0.0015);  // the fit explains everything but the noise
    for (std::size_t j = 0; j < 3; ++j) {
      EXPECT_NEAR(r.params[j], truth.params[j], 0.1 * std::abs(truth.params[j])) << j;
    }
  }
}

TEST(CurveFit, AicPicksTheFamilyThatMadeTheCurve) {
  const auto grid = geometric_grid(16, 4096, 97);
  for (const Truth& truth : truths()) {
    for (const double noise : {0.0, 0.002}) {
      SCOPED_TRACE(std::string(to_string(truth.family)) + " noise " + std::to_string(noise));
      const auto fits = fit_all(synthetic(truth, grid, noise, 11));
      ASSERT_EQ(fits.size(), all_families().size());
      EXPECT_EQ(fits[best_by_aic(fits)].family, truth.family);
    }
  }
}

TEST(CurveFit, ParameterNamesAndLookups) {
  for (const CurveFamily f : all_families()) {
    EXPECT_EQ(find_family(to_string(f)), f);
    EXPECT_EQ(parameter_count(f), 3u);
  }
  EXPECT_FALSE(find_family("gompertz").has_value());
  EXPECT_EQ(parameter_names(CurveFamily::kSurgePhi)[0], "alpha");
  EXPECT_EQ(parameter_names(CurveFamily::kLogLogistic)[2], "t50");
}

TEST(CurveFit, FamiliesByHand) {
  // phi(t) = alpha (t - tau) e^{-beta (t - tau)}: 0 before tau, peak alpha / (beta e) at tau +
  // 1/beta
  const std::vector<double> phi{2.0, 0.01, 100};
  EXPECT_EQ(evaluate(CurveFamily::kSurgePhi, phi, 50), 0.0);
  EXPECT_NEAR(evaluate(CurveFamily::kSurgePhi, phi, 200), 2.0 / (0.01 * std::exp(1.0)), 1e-9);
  // capped: the same rise with peak height a, flat after the peak (phi itself decays)
  const std::vector<double> capped{0.6, 0.01, 100};
  EXPECT_NEAR(evaluate(CurveFamily::kSurgeCapped, capped, 200), 0.6, 1e-12);
  EXPECT_NEAR(evaluate(CurveFamily::kSurgeCapped, capped, 5000), 0.6, 1e-12);
  EXPECT_NEAR(evaluate(CurveFamily::kSurgeCapped, capped, 150),
              0.6 * std::exp(1.0) * 0.5 * std::exp(-0.5), 1e-12);
  // surge-cdf at one scale length: a (1 - 2/e)
  EXPECT_NEAR(evaluate(CurveFamily::kSurgeCdf, capped, 200), 0.6 * (1 - 2 / std::exp(1.0)), 1e-12);
  EXPECT_NEAR(evaluate(CurveFamily::kLogLogistic, std::vector<double>{0.8, 3, 150}, 150), 0.4,
              1e-12);
  EXPECT_NEAR(evaluate(CurveFamily::kPowerLaw, std::vector<double>{0.8, 1, 100}, 200), 0.4, 1e-12);
  EXPECT_NEAR(
      evaluate(CurveFamily::kShiftedExp, std::vector<double>{0.8, std::log(2.0) / 50, 100}, 150),
      0.4, 1e-12);
  EXPECT_NEAR(
      evaluate(CurveFamily::kLogNormal, std::vector<double>{0.8, std::log(300.0), 0.5}, 300), 0.4,
      1e-12);
}

TEST(CurveFit, GaussianAicByHand) {
  EXPECT_NEAR(gaussian_aic(0.5, 10, 3), 10 * std::log(0.05) + 6, 1e-12);
  EXPECT_TRUE(std::isfinite(gaussian_aic(0.0, 10, 3)));  // floored, not -inf
  std::vector<FitResult> fits(3);
  fits[0].aic = -5;
  fits[1].aic = -9;
  fits[2].aic = -9;
  EXPECT_EQ(best_by_aic(fits), 1u);  // first of the tie
}

TEST(CurveFit, RejectsBadCurves) {
  EXPECT_THROW((void)fit_curve(CurveFamily::kLogNormal, Curve{{1, 2}, {0, 1}}),
               std::invalid_argument);
  EXPECT_THROW((void)fit_curve(CurveFamily::kLogNormal, Curve{{1, 3, 2}, {0, 1, 1}}),
               std::invalid_argument);
  EXPECT_THROW((void)fit_curve(CurveFamily::kLogNormal, Curve{{0, 1, 2}, {0, 1, 1}}),
               std::invalid_argument);
  EXPECT_THROW((void)fit_curve(CurveFamily::kLogNormal, Curve{{1, 2, 3}, {0, NAN, 1}}),
               std::invalid_argument);
}

TEST(CurveFit, AFlatCurveFitsExactlyAndIsNotRanked) {
  const Curve flat{{10, 20, 40, 80}, {0, 0, 0, 0}};
  for (const FitResult& r : fit_all(flat)) EXPECT_LT(r.rmse, 1e-9) << to_string(r.family);
  EXPECT_TRUE(is_flat(flat));
}

TEST(CurveFitData, AccuracyCurveAndGridByHand) {
  const auto grid = geometric_grid(10, 1000, 3);
  ASSERT_EQ(grid.size(), 3u);
  EXPECT_NEAR(grid[1], 100, 1e-9);
  EXPECT_EQ(grid[2], 1000);
  const Curve c = accuracy_curve({500, 10, 100, 2000}, 5, grid);  // 4 correct of 5
  EXPECT_EQ(c.y, (std::vector<double>{0.2, 0.4, 0.6}));           // caps are inclusive: length <= t
  EXPECT_THROW((void)geometric_grid(0, 10, 3), std::invalid_argument);
}

TEST(CurveFitData, TierCurvesOfTheTinyFixtureByHand) {
  const auto ds = data::load_zeroeval(std::string(CLEARHOUSE_FIXTURES) + "/data/tiny");
  const std::vector<double> grid{16, 50, 100, 500};
  const auto curves = zeroeval_curves(ds, ds.model_index("model-a"), grid);
  // easy: g1 (20), m0 (100), m2 (400) all correct; medium: g2 (40), g3 (80) correct; hard: g4, m1,
  // m3 wrong.
  ASSERT_EQ(curves.size(), 6u);
  EXPECT_EQ(curves[0].name, "easy");
  EXPECT_EQ(curves[0].items, 3u);
  EXPECT_EQ(curves[0].curve.y, (std::vector<double>{0, 1.0 / 3, 2.0 / 3, 1}));
  EXPECT_EQ(curves[1].name, "medium");
  EXPECT_EQ(curves[1].curve.y, (std::vector<double>{0, 0.5, 1, 1}));
  EXPECT_EQ(curves[2].name, "hard");
  EXPECT_TRUE(is_flat(curves[2].curve));
  EXPECT_EQ(curves[3].name, "all");
  EXPECT_EQ(curves[3].items, 8u);
  EXPECT_EQ(curves[3].correct, 5u);
  EXPECT_EQ(curves[3].curve.y, (std::vector<double>{0, 0.25, 0.5, 0.625}));
  EXPECT_EQ(curves[4].name, "dataset:gsm");
  EXPECT_EQ(curves[4].curve.y, (std::vector<double>{0, 0.5, 0.75, 0.75}));
  EXPECT_EQ(curves[5].name, "dataset:math-l5");
  EXPECT_EQ(curves[5].curve.y, (std::vector<double>{0, 0, 0.25, 0.5}));
  EXPECT_EQ(curves[0].source, "zeroeval:model-a");
}

TEST(CurveFitData, SampleCurvesOfTheDataFixture) {
  const auto s = data::load_math_samples(std::string(CLEARHOUSE_FIXTURES) + "/data/samples.jsonl");
  const NamedCurve pooled = pooled_sample_curve(s, std::vector<double>{15, 25, 35, 1000});
  EXPECT_EQ(pooled.items, 5u);
  const auto questions = question_curves(s, 5);
  ASSERT_EQ(questions.size(), 2u);
  EXPECT_EQ(questions[0].name, "q:0");
  EXPECT_EQ(questions[0].items, 3u);
  // each question's grid runs from half its shortest to twice its longest sample
  EXPECT_NEAR(questions[0].curve.t.front(), 10, 1e-9);
  EXPECT_EQ(questions[0].curve.y.back(), static_cast<double>(questions[0].correct) / 3.0);
  EXPECT_EQ(questions[0].curve.y.front(), 0.0);
}

TEST(CurveFitReport, TablesCsvJsonAndSvgHaveEveryFamily) {
  const Truth truth = truths()[3];
  NamedCurve named{"test", "curve", 100, 85, synthetic(truth, geometric_grid(16, 4096, 25), 0, 0)};
  NamedCurve flat{"test", "q:flat", 8, 0, Curve{{1, 2, 3}, {0, 0, 0}}};
  const CurveFits fits = fit_named(named);
  EXPECT_EQ(fits.fits[fits.winner].family, CurveFamily::kLogLogistic);
  const std::vector<CurveFits> all{fits};
  const std::string summary = fit_summary_markdown(all);
  const std::string csv = fit_csv(all);
  const std::string svg = fit_svg(fits, "t");
  for (const CurveFamily f : all_families()) {
    EXPECT_NE(summary.find(std::string(to_string(f))), std::string::npos);
    EXPECT_NE(csv.find("," + std::string(to_string(f)) + ","), std::string::npos);
    EXPECT_NE(svg.find(std::string(to_string(f))), std::string::npos);
  }
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 7);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(fit_json(fits)["winner"], "log-logistic");

  CurveFits flat_fits;
  flat_fits.curve = flat;
  const std::vector<CurveFits> questions{fits, flat_fits};
  const QuestionSummary s = summarize_questions(questions);
  EXPECT_EQ(s.questions, 2u);
  EXPECT_EQ(s.flat, 1u);
  EXPECT_EQ(s.wins[2 + 1], 1u);  // log-logistic is the fourth family
}

}  // namespace
}  // namespace clearhouse::eval
