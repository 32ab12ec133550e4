// The gateway's acceptance for online CLEAR: on a stream of 500 queries it solves at least 90% as
// many as offline CLEAR (core::allocate_clear on all 500 at once, same budget), with zero
// overshoot, on synthetic streams and on the recorded answers of data/zeroeval. The measured ratios
// are printed (docs/gateway-pacing.md quotes them).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "gateway/pacer.h"
#include "pacer_test_util.h"

namespace clearhouse::gateway {
namespace {

using testing::offline_clear_solved;
using testing::SimOptions;
using testing::simulate;
using testing::StreamQuery;
using testing::synthetic_stream;

constexpr std::size_t kQueries = 500;
constexpr std::int64_t kPerQueryBudgets[] = {64, 128, 256, 512};
constexpr double kRequiredRatio = 0.90;

struct Measured {
  std::size_t online = 0;
  std::size_t offline = 0;
  std::int64_t spent = 0;
  double ratio() const { return offline == 0 ? 1.0 : double(online) / double(offline); }
};

// The stream arrives over one timed budget window that closes one mean gap after the last
// arrival; the pacer is told nothing about how many requests will come.
Measured measure(const std::vector<StreamQuery>& stream, std::int64_t budget,
                 std::size_t settle_delay) {
  PacerOptions options;
  const auto last = stream.back().arrival_ms;
  SimOptions sim{.budget = budget,
                 .window_end_ms = last + last / static_cast<std::int64_t>(stream.size()) + 1,
                 .settle_delay = settle_delay};
  Pacer pacer(options);
  const testing::SimResult r = simulate(pacer, stream, sim);
  EXPECT_LE(r.max_committed, budget) << "overshoot";
  EXPECT_LE(r.spent, budget);
  EXPECT_EQ(r.refused, 0u) << "the pacer handed out a cap above the remaining tokens";
  EXPECT_TRUE(r.caps_valid);
  return {r.solved, offline_clear_solved(stream, budget), r.spent};
}

void check_and_print(const std::string& label, const std::vector<StreamQuery>& stream,
                     std::size_t settle_delay) {
  for (const std::int64_t per_query : kPerQueryBudgets) {
    const std::int64_t budget = per_query * static_cast<std::int64_t>(stream.size());
    const Measured m = measure(stream, budget, settle_delay);
    std::printf(
        "[pacer accuracy] %s, %lld tok/query, settle delay %zu: online %zu / offline %zu "
        "= %.3f, spent %.1f%% of budget\n",
        label.c_str(), static_cast<long long>(per_query), settle_delay, m.online, m.offline,
        m.ratio(), 100.0 * double(m.spent) / double(budget));
    EXPECT_GE(m.ratio(), kRequiredRatio) << label << ", " << per_query << " tokens per query";
  }
}

TEST(PacerAccuracy, OnlineClearReachesNinetyPercentOfOfflineOnSyntheticStreams) {
  for (const std::uint64_t seed : {11u, 12u, 13u}) {
    const auto stream = synthetic_stream(seed, kQueries);
    check_and_print("synthetic seed " + std::to_string(seed), stream, 0);
  }
  // Reservations left open for 8 arrivals (a concurrent gateway) must not break it either.
  check_and_print("synthetic seed 11", synthetic_stream(11, kQueries), 8);
}

// The backbone's recorded answers: true length = recorded output tokens, correct = graded, and a
// predictor stand-in tau_hat = length * lognormal(0, 0.5) noise. Poisson arrivals at 10/s.
std::vector<StreamQuery> zeroeval_stream(const data::Dataset& ds, std::uint64_t seed) {
  const std::uint32_t model = ds.model_index("Qwen2-7B-Instruct");
  std::vector<data::Run> runs;
  for (const data::Run& r : ds.runs_of_model(model)) {
    if (r.output_tokens > 0) runs.push_back(r);
  }
  std::mt19937_64 rng(seed);
  std::shuffle(runs.begin(), runs.end(), rng);
  runs.resize(std::min(runs.size(), kQueries));
  std::lognormal_distribution<double> noise(0.0, 0.5);
  std::exponential_distribution<double> gap(10.0 / 1000.0);
  std::vector<StreamQuery> out;
  double t = 0.0;
  for (const data::Run& r : runs) {
    t += gap(rng);
    out.push_back({static_cast<double>(r.output_tokens) * noise(rng), r.output_tokens, r.correct,
                   static_cast<std::int64_t>(t)});
  }
  return out;
}

TEST(PacerAccuracy, OnlineClearReachesNinetyPercentOfOfflineOnZeroEvalAnswers) {
  const data::Dataset ds = data::load_zeroeval(std::string(CLEARHOUSE_SOURCE_DIR) + "/data");
  for (const std::uint64_t seed : {21u, 22u}) {
    const auto stream = zeroeval_stream(ds, seed);
    ASSERT_EQ(stream.size(), kQueries);
    check_and_print("zeroeval Qwen2-7B seed " + std::to_string(seed), stream, 0);
  }
}

}  // namespace
}  // namespace clearhouse::gateway
