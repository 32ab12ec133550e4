// Tests of the threshold predictor: it learns a planted signal, save/load gives bit-identical
// predictions, corrupt files are refused with clear errors, and the dataset head falls back.
#include "predict/threshold_predictor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "predict/evaluation.h"
#include "predict/metrics.h"

namespace clearhouse::predict {
namespace {

// Synthetic questions: "long" ones need 400 tokens, "short" ones 50, times a small wobble.
struct Synthetic {
  std::vector<std::string> texts;
  std::vector<std::string> datasets;
  std::vector<Example> examples;
};

// Small data needs smaller penalties than the defaults (tuned for ~1,000 questions).
FitOptions small_data_options() {
  FitOptions o;
  o.lambdas = {0.1, 1.0, 4.0};
  return o;
}

Synthetic make_synthetic(int n) {
  Synthetic s;
  const char* fillers[] = {"apples", "trains", "circles", "primes", "coins", "boxes"};
  for (int i = 0; i < n; ++i) {
    const bool is_long = i % 2 == 0;
    s.texts.push_back(std::string(is_long ? "Prove carefully that the " : "Quickly, what is the ") +
                      fillers[i % 6] + " count " + std::to_string(i) + "?");
    s.datasets.push_back(i % 3 == 0 ? "alpha" : "beta");
  }
  for (int i = 0; i < n; ++i) {
    const double base = i % 2 == 0 ? 400.0 : 50.0;
    const double wobble = 1.0 + 0.05 * static_cast<double>(i % 5 - 2);
    s.examples.push_back({s.texts[i], s.datasets[i], base * wobble});
  }
  return s;
}

TEST(ThresholdPredictor, LearnsAPlantedSignal) {
  const Synthetic s = make_synthetic(60);
  FitReport report;
  const ThresholdPredictor p = ThresholdPredictor::fit(s.examples, small_data_options(), &report);
  EXPECT_EQ(report.text_only.examples, 60u);
  ASSERT_TRUE(report.with_dataset.has_value());
  EXPECT_EQ(report.datasets, (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_LT(report.text_only.cv_log_mae, 0.35);  // the mean alone would be off by ~1.04
  const double long_tau = p.predict("Prove carefully that the marbles count 999?");
  const double short_tau = p.predict("Quickly, what is the marbles count 999?");
  EXPECT_GT(long_tau, 2.0 * short_tau);
  EXPECT_GT(long_tau, 150.0);
  EXPECT_LT(short_tau, 130.0);
  EXPECT_GE(p.predict(""), 1.0);
  EXPECT_GT(p.log_sigma("anything"), 0.0);
  EXPECT_EQ(p.backbone(), "");
  EXPECT_EQ(p.training_examples(), 60u);
}

TEST(ThresholdPredictor, UnknownOrMissingDatasetUsesTheTextHead) {
  const Synthetic s = make_synthetic(30);
  const ThresholdPredictor p = ThresholdPredictor::fit(s.examples, FitOptions{});
  EXPECT_TRUE(p.knows_dataset("alpha"));
  EXPECT_FALSE(p.knows_dataset("gamma"));
  EXPECT_FALSE(p.knows_dataset(""));
  const std::string q = "Prove carefully that the coins count 3?";
  EXPECT_EQ(p.predict(q, "gamma"), p.predict(q));
  EXPECT_EQ(p.predict(q, "gamma"), p.predict(q, ""));

  FitOptions text_only;
  text_only.features.use_dataset = false;
  const ThresholdPredictor t = ThresholdPredictor::fit(s.examples, text_only);
  EXPECT_FALSE(t.knows_dataset("alpha"));
  EXPECT_EQ(t.predict(q, "alpha"), t.predict(q));
  // The text heads of both are the same fit.
  EXPECT_EQ(t.predict(q), p.predict(q));
}

TEST(ThresholdPredictor, FitIsDeterministic) {
  const Synthetic s = make_synthetic(40);
  const ThresholdPredictor a = ThresholdPredictor::fit(s.examples, FitOptions{});
  const ThresholdPredictor b = ThresholdPredictor::fit(s.examples, FitOptions{});
  for (std::size_t i = 0; i < s.texts.size(); ++i) {
    EXPECT_EQ(a.predict(s.texts[i], s.datasets[i]), b.predict(s.texts[i], s.datasets[i]));
  }
}

TEST(ThresholdPredictor, SaveLoadGivesIdenticalPredictions) {
  const Synthetic s = make_synthetic(50);
  FitOptions options;
  options.backbone = "synthetic-7B";
  const ThresholdPredictor p = ThresholdPredictor::fit(s.examples, options);
  std::stringstream file;
  p.save(file);
  const ThresholdPredictor q = ThresholdPredictor::load(file, "mem");
  EXPECT_EQ(q.backbone(), "synthetic-7B");
  EXPECT_EQ(q.training_examples(), 50u);
  EXPECT_EQ(q.datasets(), p.datasets());
  std::vector<std::string> probes(s.texts.begin(), s.texts.end());
  probes.push_back("An unseen question with $\\frac{1}{2}$ and 12345 in it?");
  probes.push_back("");
  for (const std::string& text : probes) {
    for (const char* dataset : {"", "alpha", "beta", "unknown"}) {
      EXPECT_EQ(p.predict(text, dataset), q.predict(text, dataset)) << text;
      EXPECT_EQ(p.predict_log(text, dataset), q.predict_log(text, dataset));
      EXPECT_EQ(p.log_sigma(text, dataset), q.log_sigma(text, dataset));
    }
  }
  // Saving the loaded model gives the same bytes.
  std::stringstream again;
  q.save(again);
  EXPECT_EQ(again.str(), file.str());
}

TEST(ThresholdPredictor, BatchMatchesSingle) {
  const Synthetic s = make_synthetic(20);
  const ThresholdPredictor p = ThresholdPredictor::fit(s.examples, FitOptions{});
  std::vector<std::string_view> texts(s.texts.begin(), s.texts.end());
  std::vector<std::string_view> datasets(s.datasets.begin(), s.datasets.end());
  std::vector<double> tau(texts.size());
  p.predict_batch(texts, datasets, tau);
  for (std::size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(tau[i], p.predict(texts[i], datasets[i]));
  p.predict_batch(texts, {}, tau);
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(tau[i], p.predict(texts[i]));
  std::vector<double> short_out(1);
  EXPECT_THROW(p.predict_batch(texts, {}, short_out), std::invalid_argument);
}

std::string saved_bytes() {
  const Synthetic s = make_synthetic(12);
  std::stringstream file;
  ThresholdPredictor::fit(s.examples, FitOptions{}).save(file);
  return file.str();
}

void expect_load_error(const std::string& bytes, const std::string& fragment) {
  std::stringstream in(bytes);
  try {
    ThresholdPredictor::load(in, "model.bin");
    FAIL() << "loaded a bad file; expected: " << fragment;
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("model.bin: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(ThresholdPredictor, BadModelFilesAreRefused) {
  const std::string good = saved_bytes();
  expect_load_error("", "bad magic");
  expect_load_error("{\"not\": \"a model\"}", "bad magic");
  expect_load_error(good.substr(0, 30), "");  // truncated: checksum or length
  std::string flipped = good;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x10);
  expect_load_error(flipped, "checksum mismatch");
  std::string newer = good;
  newer[8] = 2;  // version 2
  expect_load_error(newer, "version 2; this build reads version 1");
  EXPECT_THROW(ThresholdPredictor::load_file("/nonexistent/model.bin"), ModelFileError);
}

TEST(ThresholdPredictor, RejectsBadTrainingInput) {
  const Synthetic s = make_synthetic(4);
  EXPECT_THROW(ThresholdPredictor::fit(std::span<const Example>(s.examples).first(1), FitOptions{}),
               std::invalid_argument);
  std::vector<Example> bad = s.examples;
  bad[2].output_tokens = -1;
  EXPECT_THROW(ThresholdPredictor::fit(bad, FitOptions{}), std::invalid_argument);
  bad[2].output_tokens = std::nan("");
  EXPECT_THROW(ThresholdPredictor::fit(bad, FitOptions{}), std::invalid_argument);
  FitOptions no_lambda;
  no_lambda.lambdas = {};
  EXPECT_THROW(ThresholdPredictor::fit(s.examples, no_lambda), std::invalid_argument);
  FitOptions bad_bits;
  bad_bits.features.hash_bits = 30;
  EXPECT_THROW(ThresholdPredictor::fit(s.examples, bad_bits), std::invalid_argument);
}

TEST(ThresholdPredictor, HeldOutReportBeatsTheMeanOnAPlantedSignal) {
  const Synthetic train = make_synthetic(60);
  Synthetic test = make_synthetic(80);
  const ThresholdPredictor p = ThresholdPredictor::fit(train.examples, small_data_options());
  const std::span<const Example> test_examples =
      std::span<const Example>(test.examples).subspan(60);
  const HeldOutReport r = evaluate_held_out(p, train.examples, test_examples);
  EXPECT_EQ(r.test_examples, 20u);
  EXPECT_LT(r.predictor.log_mae, 0.5 * r.mean.log_mae);
  EXPECT_GT(r.predictor.spearman, 0.7);
  EXPECT_DOUBLE_EQ(r.mean.spearman, 0.0);
}

}  // namespace
}  // namespace clearhouse::predict
