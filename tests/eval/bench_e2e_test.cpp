// `clearhouse bench` through the real binary on a small real-data fixture (tests/fixtures/bench).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/split.h"
#include "support/param_names.h"
#include "support/run_binary.h"

namespace clearhouse::testing {
namespace {

using nlohmann::json;

TEST(BenchE2E, JsonHasTheContractAndTheOracleBoundsEveryPolicy) {
  const auto dir = scratch_dir();
  const auto r = run_clearhouse("bench --data " + fixture("bench") +
                                " --seeds 2 --stream-size 60 --budgets 64,256 --json --out " +
                                (dir / "report").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["model"], "Qwen2-7B-Instruct");
  EXPECT_EQ(doc["budgets"], json({64, 256}));
  EXPECT_GT(doc["predictor"]["spearman"].get<double>(), 0.0);
  EXPECT_GT(doc["predictor"]["log_mae"].get<double>(), 0.0);
  const auto& rows = doc["results"];
  ASSERT_EQ(rows.size(), 4u * 2u * 12u);  // the default grid: every policy of the registry
  std::map<std::string, double> oracle;
  for (const auto& row : rows) {
    const double acc = row["accuracy"].get<double>();
    EXPECT_GE(acc, 0.0);
    EXPECT_LE(acc, 1.0);
    EXPECT_LE(row["accuracy_ci"][0].get<double>(), acc);
    EXPECT_GE(row["accuracy_ci"][1].get<double>(), acc);
    EXPECT_LE(row["allocated_tokens"].get<double>(), 60.0 * row["budget"].get<double>());
    EXPECT_LE(row["consumed_tokens"].get<double>(), row["allocated_tokens"].get<double>());
    if (row["policy"] == "oracle") {
      oracle[row["stream"].get<std::string>() + std::to_string(row["budget"].get<int>())] = acc;
    }
  }
  for (const auto& row : rows) {
    const auto key = row["stream"].get<std::string>() + std::to_string(row["budget"].get<int>());
    EXPECT_LE(row["accuracy"].get<double>(), oracle.at(key) + 1e-12) << row.dump();
  }
  for (const char* file : {"results.csv", "results.json", "results.md", "pareto-balanced.svg",
                           "pareto-u-shaped.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / "report" / file)) << file;
  }
  EXPECT_NE(r.err.find("replayed"), std::string::npos) << "progress on stderr";
  EXPECT_TRUE(doc["gap_closed"].contains("progressive")) << doc["gap_closed"].dump();
}

TEST(BenchE2E, ProgressiveChargesEveryRoundAndTheLengthOracleBoundsTheFinishedCount) {
  const auto dir = scratch_dir();
  const auto r = run_clearhouse("bench --data " + fixture("bench") +
                                " --seeds 2 --stream-size 60 --budgets 64,128,256 --streams "
                                "balanced,mostly-hard --policies "
                                "uniform,clear,oracle,progressive,progressive-length,"
                                "progressive-p,length-oracle --json --quiet --out " +
                                (dir / "report").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  ASSERT_EQ(doc["results"].size(), 2u * 3u * 7u);
  std::map<std::string, std::map<std::string, json>> cell;  // cell[stream+budget][policy]
  for (const auto& row : doc["results"]) {
    cell[row["stream"].get<std::string>() + std::to_string(row["budget"].get<int>())]
        [row["policy"].get<std::string>()] = row;
  }
  for (const auto& [key, rows] : cell) {
    for (const char* p : {"progressive", "progressive-length", "progressive-p"}) {
      const auto& row = rows.at(p);
      // A slice's unused cap goes back to the budget: what was charged is what was generated.
      EXPECT_DOUBLE_EQ(row["allocated_tokens"].get<double>(), row["consumed_tokens"].get<double>());
      EXPECT_LE(row["allocated_tokens"].get<double>(), 60.0 * row["budget"].get<double>());
      EXPECT_LE(row["accuracy"].get<double>(), rows.at("oracle")["accuracy"].get<double>() + 1e-12);
      // Every query served at least once is one request or more.
      EXPECT_GE(row["requests"].get<double>(), 60.0 - row["abandoned"].get<double>());
    }
    EXPECT_DOUBLE_EQ(rows.at("uniform")["requests"].get<double>(),
                     60.0 - rows.at("uniform")["abandoned"].get<double>());
    EXPECT_LE(rows.at("length-oracle")["accuracy"].get<double>(),
              rows.at("oracle")["accuracy"].get<double>() + 1e-12);
    EXPECT_LE(rows.at("length-oracle")["consumed_tokens"].get<double>(),
              60.0 * rows.at("length-oracle")["budget"].get<double>());
  }
  // Continuation at 64 tokens per query: far above one-shot uniform, which finishes almost nothing.
  EXPECT_GT(cell.at("balanced64").at("progressive")["accuracy"].get<double>(),
            cell.at("balanced64").at("uniform")["accuracy"].get<double>() + 0.05);
  const std::string md = slurp((dir / "report" / "results.md").string());
  EXPECT_NE(md.find("| progressive |"), std::string::npos);
  EXPECT_NE(md.find("| length-oracle |"), std::string::npos);
  EXPECT_NE(md.find("clear -> oracle gap closed"), std::string::npos);
}

TEST(BenchE2E, MarkdownByDefaultAndTheSameNumbersEveryRun) {
  const auto dir = scratch_dir();
  const std::string args = "bench --data " + fixture("bench") +
                           " --seeds 2 --stream-size 40 --budgets 128 --streams balanced --quiet "
                           "--out " +
                           (dir / "r").string();
  const auto a = run_clearhouse(args);
  const auto b = run_clearhouse(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.out.find("| clear-plus |"), std::string::npos);
  EXPECT_EQ(a.out, b.out);
  EXPECT_TRUE(a.err.empty()) << a.err;
}

struct BadBench {
  const char* name;  // the test's name in ctest
  const char* args;
  const char* expected;
};
class BenchBadInput : public ::testing::TestWithParam<BadBench> {};

TEST_P(BenchBadInput, ExitsWithStatusTwoAndNamesTheProblem) {
  const auto r = run_clearhouse(std::string("bench --data ") + fixture("bench") + " --out " +
                                (scratch_dir() / "r").string() + " " + GetParam().args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(GetParam().expected), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BenchBadInput,
    ::testing::Values(
        BadBench{"UnknownStream", "--streams sideways", "--streams: unknown stream 'sideways'"},
        BadBench{"UnknownPolicy", "--policies uniform,greedy",
                 "--policies: unknown policy 'greedy'"},
        BadBench{"BudgetNotANumber", "--budgets 64,abc", "--budgets: expected a number of tokens"},
        BadBench{"ZeroBudget", "--budgets 0", "--budgets: must be positive"},
        BadBench{"UnknownModel", "--model-name NoSuchModel", "unknown model 'NoSuchModel'"},
        BadBench{"UnknownTeacher", "--teacher NoSuchModel", "--teacher: unknown model"},
        BadBench{"MissingPredictorFile", "--predictor /nonexistent/model.bin", "--predictor"},
        BadBench{"ZeroSeeds", "--seeds 0", "--seeds"},
        BadBench{"TuneWithPredictor", "--tune --predictor /nonexistent/model.bin", "--tune"}),
    NamedAfterMember{});

TEST(BenchE2E, TuneEvaluatesOnHalfTheTrainSplitNotOnTest) {
  const auto dir = scratch_dir();
  const std::string common = "bench --data " + fixture("bench") +
                             " --seeds 1 --stream-size 30 --budgets 128 --streams balanced "
                             "--policies clear,oracle,progressive --json --quiet --out ";
  const auto test = run_clearhouse(common + (dir / "a").string());
  const auto tune = run_clearhouse(common + (dir / "b").string() + " --tune");
  ASSERT_EQ(test.exit_code, 0) << test.err;
  ASSERT_EQ(tune.exit_code, 0) << tune.err;
  const json t = json::parse(test.out)["predictor"], u = json::parse(tune.out)["predictor"];
  EXPECT_NE(u["source"].get<std::string>().find("--tune"), std::string::npos) << u.dump();
  EXPECT_EQ(t["source"].get<std::string>().find("--tune"), std::string::npos) << t.dump();
  EXPECT_NE(u["evaluated_on"], t["evaluated_on"]);
}

TEST(TrainBenchE2E, TrainWritesTheCalibrationThatBenchAndAllocateUse) {
  const auto dir = scratch_dir();
  const auto model = (dir / "m.model").string();
  const auto t = run_clearhouse("train --data " + fixture("bench") +
                                " --model-name Qwen2-7B-Instruct --split train --out " + model);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  ASSERT_TRUE(std::filesystem::exists(model + ".calibration.json"));
  const json cal = json::parse(slurp(model + ".calibration.json"));
  EXPECT_EQ(cal["format"], "clearhouse-success-calibration");

  const auto b = run_clearhouse("bench --data " + fixture("bench") + " --predictor " + model +
                                " --seeds 1 --stream-size 30 --budgets 128 --json --out " +
                                (dir / "r").string());
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.err.find("no clear-plus calibration"), std::string::npos) << b.err;
  EXPECT_NE(json::parse(b.out)["predictor"]["source"].get<std::string>().find(model),
            std::string::npos);

  // A query with a prompt and no tau gets one from the predictor.
  const auto a = run_clearhouse("allocate " + fixture("allocate/prompt_only.jsonl") +
                                " --budget 500 --predictor " + model);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(json::parse(a.err)["tau_predicted"], 1);
  EXPECT_NE(a.out.find("\"max_tokens\""), std::string::npos);

  // A corrupt calibration beside the model is a clear error, not a silent fallback.
  {
    std::ofstream bad(model + ".calibration.json");
    bad << "{\"format\": \"something-else\"}";
  }
  const auto c = run_clearhouse("bench --data " + fixture("bench") + " --predictor " + model +
                                " --seeds 1 --stream-size 30 --budgets 128 --quiet --out " +
                                (dir / "r2").string());
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("m.model.calibration.json"), std::string::npos) << c.err;
}

// Writes the ids of the fixture's questions in `questions` that Qwen2-7B-Instruct answered, in
// reverse order, and returns how many of them it answered right.
std::size_t write_ids(const std::filesystem::path& path, const data::Dataset& dataset,
                      const std::vector<std::uint32_t>& questions) {
  const std::uint32_t model = dataset.model_index("Qwen2-7B-Instruct");
  std::ofstream out(path);
  out << "# one dataset/qid per line\n";
  std::size_t correct = 0;
  for (auto q = questions.rbegin(); q != questions.rend(); ++q) {
    const data::Run* run = dataset.find_run(model, *q);
    if (run == nullptr) continue;
    out << dataset.question(*q).dataset << "/" << dataset.question(*q).qid << "\n";
    correct += run->correct ? 1 : 0;
  }
  return correct;
}

TEST(BenchE2E, QuestionsReplaysExactlyTheListedQuestionsAsOneStream) {
  const auto dir = scratch_dir();
  const data::Dataset dataset = data::load_zeroeval(fixture("bench"));
  const data::QuestionSplit split = data::split_questions(dataset);
  std::size_t listed = 0;
  {
    const std::uint32_t model = dataset.model_index("Qwen2-7B-Instruct");
    for (const std::uint32_t q : split.test) listed += dataset.find_run(model, q) != nullptr;
  }
  ASSERT_GT(listed, 5u);
  const std::size_t correct = write_ids(dir / "ids.txt", dataset, split.test);
  const auto r = run_clearhouse("bench --data " + fixture("bench") + " --questions " +
                                (dir / "ids.txt").string() +
                                " --policies oracle,uniform --budgets 4096 --json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["stream_size"], listed);
  EXPECT_EQ(doc["seeds"], 1);
  ASSERT_EQ(doc["results"].size(), 2u);
  for (const json& cell : doc["results"]) {
    EXPECT_EQ(cell["stream"], "questions");
    // At 4,096 tokens per query every recorded answer fits: the oracle solves exactly the listed
    // questions answered right (no question drawn twice), and uniform serves every one of them.
    if (cell["policy"] == "oracle") {
      EXPECT_EQ(cell["accuracy"].get<double>(),
                static_cast<double>(correct) / static_cast<double>(listed));
    } else {
      EXPECT_EQ(cell["abandoned"], 0.0);
      EXPECT_EQ(cell["requests"], static_cast<double>(listed));
    }
  }
}

TEST(BenchE2E, QuestionsRefusesUnknownTrainingOrDrawnStreams) {
  const auto dir = scratch_dir();
  const data::Dataset dataset = data::load_zeroeval(fixture("bench"));
  const data::QuestionSplit split = data::split_questions(dataset);
  const std::string common = "bench --data " + fixture("bench") + " --json --quiet --questions ";
  {
    std::ofstream out(dir / "unknown.txt");
    out << dataset.question(split.test[0]).dataset << "/" << dataset.question(split.test[0]).qid
        << "\ngsm/no-such-question\n";
  }
  const auto unknown = run_clearhouse(common + (dir / "unknown.txt").string());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown.txt:2: unknown question 'gsm/no-such-question'"),
            std::string::npos)
      << unknown.err;
  // Without --predictor, bench trains on the train split: those questions cannot be evaluated.
  write_ids(dir / "train.txt", dataset, split.train);
  const auto training = run_clearhouse(common + (dir / "train.txt").string());
  EXPECT_EQ(training.exit_code, 2);
  EXPECT_NE(training.err.find("the predictor was trained on"), std::string::npos) << training.err;
  write_ids(dir / "test.txt", dataset, split.test);
  const auto streams = run_clearhouse(common + (dir / "test.txt").string() + " --streams balanced");
  EXPECT_EQ(streams.exit_code, 2);
  EXPECT_NE(streams.err.find("--questions replaces --streams"), std::string::npos) << streams.err;
}

// --json alone prints the results and writes no report files, so it never replaces a report.
TEST(BenchE2E, JsonWithoutOutWritesOnlyStandardOutput) {
  const auto dir = scratch_dir();
  const auto r =
      run_shell_in(dir, std::string(CLEARHOUSE_BIN) + " bench --data " + fixture("bench") +
                            " --seeds 1 --stream-size 30 --budgets 128 --json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["budgets"], json({128}));
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "no report/ (or anything else) in the cwd";
}

TEST(BenchE2E, HelpListsEveryPolicyOfTheRegistry) {
  const auto r = run_clearhouse("bench --help");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* line : {"uniform: ", "clear: ", "oracle: ", "clear-plus: "}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }
}

TEST(BenchE2E, MissingDataDirectoryIsAClearError) {
  const auto r = run_clearhouse("bench --data /nonexistent/data --quiet");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/data"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace clearhouse::testing
