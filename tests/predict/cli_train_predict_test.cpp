// End-to-end tests of `clearhouse train` and `clearhouse predict` through the real binary, on the
// tiny fixture (tests/fixtures/data/tiny): success paths and every expected failure (exit 2 with a
// message naming the file, line and field).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_binary.h"

namespace {

namespace fs = std::filesystem;

using Result = clearhouse::testing::RunResult;

class CliTrainPredict : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("clearhouse_cli_predict_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void write(const fs::path& p, const std::string& content) const {
    std::ofstream out(p, std::ios::binary);
    out << content;
  }
  // Runs the binary with `args` (shell-quoted by the caller), stdin from `input`.
  static Result run(const std::string& args, const std::string& input = "") {
    return clearhouse::testing::run_clearhouse_with_input(args, input);
  }
  std::string fixture() const { return std::string(CLEARHOUSE_FIXTURES) + "/data/tiny"; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string train_model() const {
    const std::string model = path("tiny.model");
    const Result r = run("train --data '" + fixture() + "' --model-name model-a --out '" + model +
                         "' --lambda 0.5,2");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return model;
  }

  fs::path dir_;
};

TEST_F(CliTrainPredict, TrainWritesAModelAndPredictAddsTau) {
  const std::string model = train_model();
  ASSERT_TRUE(fs::exists(model));
  const std::string input =
      R"({"id": "a", "prompt": "Tom has 3 apples and buys 2 more. How many?", "dataset": "gsm"})"
      "\n"
      R"({"question": "Find $x$ if $5x = 20$.", "id": 2})"
      "\n\n"
      R"({"messages": [{"role": "user", "content": "What is 7 * 6?"}]})"
      "\n";
  const Result r = run("predict --model '" + model + "' --sigma", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<nlohmann::ordered_json> rows;
  while (std::getline(lines, line)) rows.push_back(nlohmann::ordered_json::parse(line));
  ASSERT_EQ(rows.size(), 3u);
  // Keys keep their order; tau is appended.
  auto it = rows[0].begin();
  EXPECT_EQ(it.key(), "id");
  EXPECT_EQ(rows[0]["id"], "a");
  EXPECT_EQ(rows[1]["id"], 2);
  for (const auto& row : rows) {
    ASSERT_TRUE(row.contains("tau"));
    EXPECT_GE(row["tau"].get<double>(), 1.0);
    EXPECT_LE(row["tau"].get<double>(), 4096.0);  // clamped to the training range
    EXPECT_GT(row["tau_log_sigma"].get<double>(), 0.0);
  }
  // The same from a file, written to a file.
  write(dir_ / "queries.jsonl", input);
  const Result f = run("predict --model '" + model + "' --sigma -i '" + path("queries.jsonl") +
                       "' -o '" + path("out.jsonl") + "'");
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(read(dir_ / "out.jsonl"), r.out);
}

TEST_F(CliTrainPredict, EvalPrintsTheHeldOutTableAndJson) {
  const Result table =
      run("train --data '" + fixture() + "' --model-name model-a --eval --lambda 1");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("train questions 6 / test questions 2"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("baseline: question length"), std::string::npos);
  const Result json =
      run("train --data '" + fixture() + "' --model-name model-a --eval --json --lambda 1");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["model"], "model-a");
  EXPECT_EQ(j["train_questions"], 6);
  EXPECT_EQ(j["test_questions"], 2);
  EXPECT_TRUE(j["predictor"].contains("log_mae"));
  EXPECT_TRUE(j["baseline_mean"].contains("log_mae"));
  EXPECT_TRUE(j["baseline_length"].contains("spearman"));
}

TEST_F(CliTrainPredict, TrainOnTheTrainSplitOnly) {
  const Result r = run("train --data '" + fixture() +
                       "' --model-name model-a --split train --out '" + path("m") + "' --lambda 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("6 questions of model-a (train split)"), std::string::npos) << r.err;
}

TEST_F(CliTrainPredict, TrainErrorsExitTwoWithAClearMessage) {
  Result r =
      run("train --data '" + path("missing") + "' --model-name model-a --out '" + path("m") + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no such directory"), std::string::npos) << r.err;

  r = run("train --data '" + fixture() + "' --model-name gpt-9 --out '" + path("m") + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown model 'gpt-9' (available: model-a, model-b)"), std::string::npos)
      << r.err;

  r = run("train --data '" + fixture() + "' --model-name model-a");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nothing to do"), std::string::npos) << r.err;

  r = run("train --data '" + fixture() + "' --model-name model-a --split test --out x");
  EXPECT_EQ(r.exit_code, 2);

  // A bad number on line 3 of runs.csv.
  fs::create_directories(dir_ / "bad");
  fs::copy_file(fixture() + "/questions.jsonl", dir_ / "bad" / "questions.jsonl");
  write(dir_ / "bad" / "runs.csv",
        "model,dataset,qid,output_tokens,output_chars,answer_parsed,correct,tokenizer\n"
        "model-a,gsm,g1,20,80,1,1,qwen\n"
        "model-a,gsm,g2,forty,160,1,1,qwen\n");
  r = run("train --data '" + path("bad") + "' --model-name model-a --out '" + path("m") + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("runs.csv:3: field 'output_tokens': not a non-negative integer: 'forty'"),
            std::string::npos)
      << r.err;
  // A question line that is not JSON.
  write(dir_ / "bad" / "questions.jsonl", "{\"dataset\": \"gsm\", \"qid\": \"g1\"\nnot json\n");
  r = run("train --data '" + path("bad") + "' --model-name model-a --out '" + path("m") + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("questions.jsonl:1: invalid JSON"), std::string::npos) << r.err;
}

TEST_F(CliTrainPredict, PredictErrorsExitTwoNamingTheLine) {
  const std::string model = train_model();
  Result r = run("predict --model '" + path("nope.model") + "'", "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope.model: cannot open predictor model file"), std::string::npos) << r.err;

  write(dir_ / "fake.model", "{\"weights\": []}\n");
  r = run("predict --model '" + path("fake.model") + "'", "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a clearhouse predictor model file"), std::string::npos) << r.err;

  std::string bytes = read(model);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 1);
  write(dir_ / "corrupt.model", bytes);
  r = run("predict --model '" + path("corrupt.model") + "'", "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;

  r = run("predict --model '" + model + "'", "{\"prompt\": \"ok\"}\n{\"prompt\": \"broken\"\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("<stdin>:2: invalid JSON"), std::string::npos) << r.err;

  r = run("predict --model '" + model + "'", "{\"prompt\": \"ok\"}\n\n{\"text\": \"no prompt\"}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("<stdin>:3: field 'prompt': missing"), std::string::npos) << r.err;

  r = run("predict --model '" + model + "'", "{\"prompt\": 42}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("<stdin>:1: field 'prompt': not a string"), std::string::npos) << r.err;

  r = run("predict --model '" + model + "' -i '" + path("absent.jsonl") + "'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("absent.jsonl"), std::string::npos) << r.err;
}

}  // namespace
