// Microbenchmarks of the threshold predictor and the data loaders, on the shipped data:
// prediction throughput per question (one core), training time for one backbone, load time of the
// ZeroEval files. Run: cmake -DCLEARHOUSE_BENCHMARKS=ON ... && ./bench/bench_predict
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/split.h"
#include "predict/threshold_predictor.h"

namespace {

using clearhouse::data::Dataset;
using clearhouse::predict::Example;
using clearhouse::predict::FitOptions;
using clearhouse::predict::ThresholdPredictor;

// The shipped data, found beside this source file (CMake compiles it by absolute path); the
// CLEARHOUSE_DATA environment variable overrides.
const std::string kData = [] {
  if (const char* env = std::getenv("CLEARHOUSE_DATA")) return std::string(env);
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "data").string();
}();

const Dataset& dataset() {
  static const Dataset ds = clearhouse::data::load_zeroeval(kData);
  return ds;
}

std::vector<Example> examples(const char* model) {
  const Dataset& ds = dataset();
  std::vector<Example> out;
  for (const auto& run : ds.runs_of_model(ds.model_index(model))) {
    const auto& q = ds.question(run.question);
    out.push_back({q.question, q.dataset, static_cast<double>(run.output_tokens)});
  }
  return out;
}

const ThresholdPredictor& predictor() {
  static const ThresholdPredictor p = [] {
    FitOptions o;
    o.backbone = "Qwen2-7B-Instruct";
    return ThresholdPredictor::fit(examples("Qwen2-7B-Instruct"), o);
  }();
  return p;
}

// One question per iteration, cycling over all 1,617 shipped questions (with their dataset name).
void BM_PredictOneQuestion(benchmark::State& state) {
  const ThresholdPredictor& p = predictor();
  const auto questions = dataset().questions();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& q = questions[i];
    benchmark::DoNotOptimize(p.predict(q.question, q.dataset));
    i = i + 1 == questions.size() ? 0 : i + 1;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel("items/s = questions per second");
}
BENCHMARK(BM_PredictOneQuestion);

void BM_PredictBatchNoDataset(benchmark::State& state) {
  const ThresholdPredictor& p = predictor();
  std::vector<std::string_view> texts;
  for (const auto& q : dataset().questions()) texts.push_back(q.question);
  std::vector<double> tau(texts.size());
  for (auto _ : state) {
    p.predict_batch(texts, {}, tau);
    benchmark::DoNotOptimize(tau.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * texts.size()));
}
BENCHMARK(BM_PredictBatchNoDataset)->Unit(benchmark::kMillisecond);

void BM_TrainOneBackbone(benchmark::State& state) {
  const auto train = examples("Qwen2-7B-Instruct");
  FitOptions o;
  for (auto _ : state)
    benchmark::DoNotOptimize(ThresholdPredictor::fit(train, o).training_examples());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * train.size()));
}
BENCHMARK(BM_TrainOneBackbone)->Unit(benchmark::kSecond)->Iterations(1);

void BM_LoadZeroEval(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(clearhouse::data::load_zeroeval(kData).runs().size());
  }
}
BENCHMARK(BM_LoadZeroEval)->Unit(benchmark::kMillisecond);

}  // namespace
