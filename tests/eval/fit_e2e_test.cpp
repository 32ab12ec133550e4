// `clearhouse fit` through the real binary on real-data fixtures: tests/fixtures/bench (180
// ZeroEval questions) and tests/fixtures/fit/samples.jsonl (6 Qwen2.5-Math questions x 8 samples).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/run_binary.h"

namespace clearhouse::testing {
namespace {

using nlohmann::json;

std::string fit_args(const std::filesystem::path& out) {
  return "fit --data " + fixture("bench") + " --samples " + fixture("fit/samples.jsonl") +
         " --question-points 16 --out " + out.string();
}

TEST(FitE2E, JsonHasEveryCurveAndFamilyAndTheFilesAreWritten) {
  const auto dir = scratch_dir();
  const auto r = run_clearhouse(fit_args(dir / "fit") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc["models"], json({"Qwen2-7B-Instruct"}));
  EXPECT_EQ(doc["grid"].size(), 49u);
  const std::set<std::string> families{"surge-phi", "surge-capped", "surge-cdf", "log-logistic",
                                       "power-law", "shifted-exp",  "log-normal"};
  std::set<std::string> names;
  for (const auto& c : doc["curves"]) {
    names.insert(c["curve"].get<std::string>());
    ASSERT_EQ(c["fits"].size(), families.size());
    EXPECT_EQ(c["t"].size(), c["y"].size());
    for (const auto& f : c["fits"]) {
      EXPECT_TRUE(families.count(f["family"].get<std::string>()));
      EXPECT_GE(f["rmse"].get<double>(), 0.0);
      EXPECT_EQ(f["params"].size(), 3u);
    }
    EXPECT_TRUE(families.count(c["winner"].get<std::string>()));
    if (c["curve"] == "all") {
      // The finding this command exists for: the paper's phi, used as-is, fits a monotone
      // accuracy curve far worse than its monotone variants.
      EXPECT_GT(c["fits"][0]["rmse"].get<double>(), 3 * c["fits"][2]["rmse"].get<double>());
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"easy", "medium", "hard", "all", "dataset:gsm",
                                          "dataset:math-l5", "pooled"}));
  const auto& summary = doc["samples"]["summary"];
  EXPECT_EQ(summary["questions"], 6);
  EXPECT_EQ(summary["flat"], 1);  // question 3: no sample correct
  int wins = 0;
  for (const auto& f : summary["families"]) wins += f["wins"].get<int>();
  EXPECT_EQ(wins, 5);
  EXPECT_EQ(doc["samples"]["questions"].size(), 5u);
  for (const char* file : {"fit.md", "fit.csv", "fit.json", "points.csv", "questions.csv",
                           "fit-Qwen2-7B-Instruct-easy.svg", "fit-Qwen2-7B-Instruct-all.svg",
                           "fit-samples-pooled.svg", "fit-samples-q-6.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / "fit" / file)) << file;
  }
  EXPECT_NE(r.err.find("fitted"), std::string::npos) << "progress on stderr";
}

TEST(FitE2E, MarkdownByDefaultSeveralModelsAndTheSameNumbersEveryRun) {
  const auto dir = scratch_dir();
  const std::string args = "fit --data " + fixture("bench") +
                           " --model-name Qwen2-7B-Instruct,gpt-4o-2024-08-06 --samples none "
                           "--grid lin:8:2048:40 --quiet --out " +
                           (dir / "f").string();
  const auto a = run_clearhouse(args);
  const auto b = run_clearhouse(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_TRUE(a.err.empty()) << a.err;
  EXPECT_NE(a.out.find("| zeroeval:gpt-4o-2024-08-06 hard |"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("| surge-phi |"), std::string::npos);
  EXPECT_EQ(a.out.find("Per question"), std::string::npos);  // --samples none
}

TEST(FitE2E, BadInputExitsTwoWithOneLineNamingIt) {
  const auto dir = scratch_dir();
  const std::string data = " --data " + fixture("bench") + " --out " + (dir / "f").string();
  struct Case {
    std::string args, needle;
  };
  for (const Case& c : std::vector<Case>{
           {"fit --model-name no-such-model --samples none" + data, "no-such-model"},
           {"fit --samples /nonexistent/samples.jsonl" + data, "/nonexistent/samples.jsonl"},
           {"fit --samples none --grid 64,32,128" + data, "--grid"},
           {"fit --samples none --grid log:16:8:10" + data, "--grid"},
           {"fit --data /nonexistent/dir --samples none", "/nonexistent/dir"},
           {"fit --samples " + fixture("allocate/malformed.jsonl") + data, "malformed.jsonl"},
       }) {
    SCOPED_TRACE(c.args);
    const auto r = run_clearhouse(c.args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace clearhouse::testing
