// `clearhouse run`'s accuracy end to end: a 500-query Batch API batch run against the real
// `clearhouse replay-upstream` (a child process on port 0) under a budget, graded with the recorded
// `correct` of runs.csv, must solve exactly as many queries as `clearhouse bench` replays for the
// same questions, predictor, budget and policy (`bench --questions`). Greedy recorded answers make
// both exact: the replay upstream serves a continued answer's remaining tokens as the replay
// assumes. The usage the upstream reported, summed over the output lines, must equal the tokens
// bench's replay counts (from the recorded lengths alone) and stay within the budget.
//
// The run uses --concurrency 1: the replay serves slices one at a time, each chosen after the
// previous one's outcome is known; with more requests in flight the progressive schedule is chosen
// with less information and may differ by a query or two (docs/run.md).

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "data/dataset.h"
#include "run_test_util.h"
#include "support/child_process.h"
#include "support/run_binary.h"

namespace clearhouse::testing {
namespace {

std::string data_dir() {
  return std::string(CLEARHOUSE_SOURCE_DIR) + "/data";
}

struct Graded {
  std::size_t lines = 0;
  std::set<std::string> ids;
  std::size_t solved = 0;     // finished, and the recorded answer is right
  std::int64_t usage = 0;     // usage.completion_tokens of the responses (all rounds)
  std::int64_t requests = 0;  // requests sent
};

Graded grade(const std::filesystem::path& out, const data::Dataset& dataset) {
  const std::uint32_t model = dataset.model_index(kModel);
  Graded g;
  for (const json& line : read_lines(out)) {
    ++g.lines;
    g.requests += line["clearhouse"]["requests"].get<std::int64_t>();
    if (line["response"].is_object()) {
      g.usage += line["response"]["body"]["usage"]["completion_tokens"].get<std::int64_t>();
    }
    const std::string id = line["custom_id"].get<std::string>();
    g.ids.insert(id);
    const std::size_t slash = id.find('/');
    const auto question = dataset.find_question(id.substr(0, slash), id.substr(slash + 1));
    EXPECT_TRUE(question.has_value()) << id;
    if (!question || !line["clearhouse"]["finished"].get<bool>()) continue;
    const data::Run* run = dataset.find_run(model, *question);
    EXPECT_NE(run, nullptr) << id;
    if (run != nullptr && run->correct) ++g.solved;
  }
  return g;
}

TEST(RunAccuracyE2e, A500QueryBatchSolvesWhatBenchReplaysForTheSameQueries) {
  const auto dir = scratch_dir();
  const data::Dataset dataset = data::load_zeroeval(data_dir());
  // Every third recorded question: both datasets (GSM8K and MATH level 5), each line naming its
  // dataset so the predictor uses the same head as bench does.
  const Batch batch = write_batch(dir, BatchSpec{.n = 500, .stride = 3, .dataset = true});
  ASSERT_EQ(batch.ids.size(), 500u);
  {
    std::ofstream ids(dir / "ids.txt");
    for (const std::string& id : batch.ids) ids << id << "\n";
  }
  // One predictor (and its clear-plus calibration, written beside it) for both sides.
  const std::string model = (dir / "qwen2.model").string();
  const RunResult trained = run_clearhouse("train --data " + data_dir() + " --model-name " +
                                           kModel + " --split train --out " + model);
  ASSERT_EQ(trained.exit_code, 0) << trained.err;

  const std::int64_t per_query = 128;
  const std::int64_t budget = per_query * 500;
  const std::vector<std::string> policies = {"progressive", "uniform", "predictor", "clear"};
  const RunResult bench = run_clearhouse(
      "bench --data " + data_dir() + " --predictor " + model + " --questions " +
      (dir / "ids.txt").string() + " --policies progressive,uniform,predictor,clear --budgets " +
      std::to_string(per_query) + " --json --quiet");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const json replayed = json::parse(bench.out)["results"];
  ASSERT_EQ(replayed.size(), policies.size());

  ChildProcess replay({"replay-upstream", "--data", data_dir(), "--port", "0"}, dir / "replay.err");
  const int port = replay.wait_listening();
  ASSERT_GT(port, 0) << replay.first_line() << slurp(dir / "replay.err");
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  for (const std::string& policy : policies) {
    SCOPED_TRACE(policy);
    const auto out = dir / (policy + ".jsonl");
    const RunResult r =
        run_clearhouse("run --input " + batch.path + " --out " + out.string() + " --upstream " +
                       url + " --per-query " + std::to_string(per_query) + " --policy " + policy +
                       " --predictor " + model + " --concurrency 1 --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json summary = json::parse(r.out);
    const Graded g = grade(out, dataset);
    EXPECT_LE(g.usage, budget);
    EXPECT_EQ(summary["spent"], g.usage);
    EXPECT_EQ(summary["requests"], g.requests);
    EXPECT_EQ(g.lines, 500u);
    EXPECT_EQ(g.ids, std::set<std::string>(batch.ids.begin(), batch.ids.end()));

    json cell;
    for (const json& c : replayed) {
      if (c["policy"] == policy) cell = c;
    }
    ASSERT_TRUE(cell.is_object()) << bench.out;
    EXPECT_EQ(cell["stream"], "questions");
    EXPECT_EQ(static_cast<double>(g.solved) / 500.0, cell["accuracy"].get<double>())
        << g.solved << " solved by the run";
    // The same schedule, not only the same score: the tokens the upstream generated and, for the
    // progressive slices, the requests made.
    EXPECT_EQ(static_cast<double>(g.usage), cell["consumed_tokens"].get<double>());
    EXPECT_EQ(static_cast<double>(g.requests), cell["requests"].get<double>());
    EXPECT_GT(g.solved, 0u);
  }
  EXPECT_EQ(replay.terminate(), 0) << slurp(dir / "replay.err");
}

}  // namespace
}  // namespace clearhouse::testing
