// What `run` decides before sending: caps (a client's own is never raised), priors (tau, predictor,
// fallback), the policies it offers, and the fingerprint that ties a state to its input.

#include "run/run_plan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace clearhouse::run {
namespace {

std::vector<BatchQuery> queries_of(const std::string& text) {
  return parse_batch(text, "in.jsonl", "m");
}

TEST(RunPlan, AQuerysOwnCapIsLoweredNeverRaised) {
  const auto queries = queries_of(
      "{\"id\": \"a\", \"prompt\": \"x\", \"max_tokens\": 50}\n"
      "{\"id\": \"b\", \"prompt\": \"y\", \"max_tokens\": 9000}\n"
      "{\"id\": \"c\", \"prompt\": \"z\"}\n");
  EXPECT_EQ(query_caps(queries, 4096), (std::vector<std::int64_t>{50, 4096, 4096}));
}

TEST(RunPlan, PriorsComeFromTauThenThePredictorThenTheFallback) {
  std::vector<std::string> texts;
  std::vector<predict::Example> examples;
  for (int k = 1; k <= 60; ++k) {
    std::string text;
    for (int w = 0; w < k; ++w) text += "word" + std::to_string(w % 7) + " ";
    texts.push_back(text);
  }
  for (int k = 1; k <= 60; ++k) {
    examples.push_back({texts[static_cast<std::size_t>(k - 1)], "gsm", 10.0 * k});
  }
  const predict::ThresholdPredictor predictor = predict::ThresholdPredictor::fit(examples, {});
  const auto queries = queries_of("{\"id\": \"a\", \"prompt\": \"" + texts[20] +
                                  "\"}\n"
                                  "{\"id\": \"b\", \"prompt\": \"" +
                                  texts[20] + "\", \"tau\": 77}\n");
  const auto with = length_priors(queries, &predictor);
  EXPECT_DOUBLE_EQ(with[0].log_mu, predictor.predict_log(texts[20]));
  EXPECT_DOUBLE_EQ(with[0].log_sigma, std::max(1e-3, predictor.log_sigma(texts[20])));
  EXPECT_DOUBLE_EQ(with[1].log_mu, std::log(77.0));
  EXPECT_DOUBLE_EQ(with[1].log_sigma, with[0].log_sigma);
  EXPECT_EQ(with[0].p_correct, 1.0);
  EXPECT_FALSE(with[0].correct.has_value());
  const auto without = length_priors(queries, nullptr);
  EXPECT_DOUBLE_EQ(without[0].log_mu, core::default_length_prior().log_mu);
  EXPECT_DOUBLE_EQ(without[0].log_sigma, core::default_length_prior().log_sigma);
  EXPECT_DOUBLE_EQ(without[1].log_mu, std::log(77.0));
}

// The priors `bench` gives its progressive replay: the dataset's head of the predictor, and with a
// success calibration the calibrated p and right-answer length, except on a line with its own tau.
TEST(RunPlan, ADatasetAndACalibrationGivePriorsAsBenchDoes) {
  std::vector<std::string> texts;
  std::vector<predict::Example> examples;
  std::vector<eval::CalibrationExample> calibration_examples;
  for (int k = 1; k <= 60; ++k) {
    std::string text;
    for (int w = 0; w < k; ++w) text += "word" + std::to_string(w % 7) + " ";
    texts.push_back(text);
  }
  for (int k = 1; k <= 60; ++k) {
    const std::string_view dataset = k % 2 == 0 ? "gsm" : "math-l5";
    const double tokens = (k % 2 == 0 ? 10.0 : 40.0) * k;
    examples.push_back({texts[static_cast<std::size_t>(k - 1)], dataset, tokens});
    calibration_examples.push_back({dataset, std::log(tokens), tokens * 1.1, k % 3 != 0});
  }
  const predict::ThresholdPredictor predictor = predict::ThresholdPredictor::fit(examples, {});
  const eval::SuccessCalibration calibration = eval::SuccessCalibration::fit(calibration_examples);
  const auto queries =
      queries_of("{\"id\": \"a\", \"dataset\": \"math-l5\", \"prompt\": \"" + texts[20] +
                 "\"}\n"
                 "{\"id\": \"b\", \"prompt\": \"" +
                 texts[20] + "\", \"tau\": 77}\n");
  const auto priors = length_priors(queries, &predictor, &calibration);
  const double log_tau = predictor.predict_log(texts[20], "math-l5");
  ASSERT_NE(log_tau, predictor.predict_log(texts[20]));  // the dataset's head answers
  EXPECT_DOUBLE_EQ(priors[0].log_mu, std::log(predictor.predict(texts[20], "math-l5")));
  EXPECT_DOUBLE_EQ(priors[0].log_sigma, predictor.log_sigma(texts[20], "math-l5"));
  const core::SuccessBelief belief = calibration.belief("math-l5", log_tau);
  EXPECT_DOUBLE_EQ(priors[0].p_correct, belief.p_correct);
  ASSERT_TRUE(priors[0].correct.has_value());
  EXPECT_DOUBLE_EQ(priors[0].correct->log_mu, belief.log_mu);
  EXPECT_DOUBLE_EQ(priors[0].correct->log_sigma, belief.log_sigma);
  EXPECT_LT(priors[0].p_correct, 1.0);
  EXPECT_EQ(priors[1].p_correct, 1.0);
  EXPECT_FALSE(priors[1].correct.has_value());
}

TEST(RunPlan, OffersProgressiveAndTheOneShotPoliciesABatchCanFeed) {
  EXPECT_EQ(run_policy_named("progressive"), core::Policy::kProgressive);
  EXPECT_EQ(run_policy_named("uniform"), core::Policy::kUniform);
  EXPECT_EQ(run_policy_named("clear"), core::Policy::kClear);
  for (const char* refused : {"oracle", "clear-plus", "length-oracle", "tale-ep", "nonsense"}) {
    EXPECT_THROW((void)run_policy_named(refused), RunInputError) << refused;
  }
}

TEST(RunPlan, OneShotPlansFitTheBudgetAndTheCaps) {
  std::string text;
  for (int i = 0; i < 10; ++i) {
    text += "{\"id\": \"q" + std::to_string(i) +
            "\", \"prompt\": \"p\", \"tau\": " + std::to_string(50 + 40 * i) +
            ", \"max_tokens\": " + std::to_string(100 + 30 * i) + "}\n";
  }
  const auto queries = queries_of(text);
  const auto caps = query_caps(queries, 4096);
  for (const char* name : {"uniform", "predictor", "clear-heuristic", "clear-auction", "clear"}) {
    const auto plan =
        one_shot_plan(run_policy_named(name), queries, caps, nullptr, 1200, "in.jsonl");
    std::int64_t total = 0;
    for (std::size_t i = 0; i < plan.size(); ++i) {
      EXPECT_LE(plan[i], caps[i]) << name;
      total += plan[i];
    }
    EXPECT_LE(total, 1200) << name;
  }
}

// A proportional share above the largest cap is clipped there and the excess goes to the others,
// as bench's replay does, instead of being cut afterwards and left unspent.
TEST(RunPlan, PredictorSharesTheExcessOfAClippedCap) {
  const auto queries = queries_of(
      "{\"id\": \"a\", \"prompt\": \"p\", \"tau\": 1000}\n"
      "{\"id\": \"b\", \"prompt\": \"p\", \"tau\": 100}\n"
      "{\"id\": \"c\", \"prompt\": \"p\", \"tau\": 100}\n");
  const auto caps = query_caps(queries, 500);
  const auto plan =
      one_shot_plan(core::Policy::kPredictor, queries, caps, nullptr, 900, "in.jsonl");
  EXPECT_EQ(plan, (std::vector<std::int64_t>{500, 200, 200}));
}

TEST(RunPlan, TheFingerprintChangesWithTheInputOrTheOptions) {
  const std::string f = fingerprint("a\nb\n", "budget=10");
  EXPECT_EQ(f, fingerprint("a\nb\n", "budget=10"));
  EXPECT_NE(f, fingerprint("a\nc\n", "budget=10"));
  EXPECT_NE(f, fingerprint("a\nb\n", "budget=11"));
  EXPECT_EQ(f.size(), 16u);
}

}  // namespace
}  // namespace clearhouse::run
