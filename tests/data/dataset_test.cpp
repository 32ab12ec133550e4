// Tests of the ZeroEval loader: the tiny fixture's numbers, the indexes, and errors naming file,
// line and field for every kind of bad row.
#include "data/dataset.h"

#include <gtest/gtest.h>

#include <string>

#include "data/data_error.h"

namespace clearhouse::data {
namespace {

const std::string kFixture = std::string(CLEARHOUSE_FIXTURES) + "/data/tiny";

constexpr const char* kQuestions =
    R"({"dataset": "gsm", "qid": "a", "question": "Q a?", "answer": "1", "solve_rate": 0.5, "models": 2}
{"dataset": "gsm", "qid": "b", "question": "Q b?", "answer": "2", "solve_rate": 1, "models": 2}
)";
constexpr const char* kHeader =
    "model,dataset,qid,output_tokens,output_chars,answer_parsed,correct,tokenizer\n";

// Expects parse_zeroeval to throw a DataError at `line` about `field`.
void expect_runs_error(const std::string& runs, std::size_t line, const std::string& field,
                       const std::string& fragment) {
  try {
    parse_zeroeval(kQuestions, "q.jsonl", runs, "runs.csv");
    FAIL() << "no error for:\n" << runs;
  } catch (const DataError& e) {
    EXPECT_EQ(e.file(), "runs.csv");
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_EQ(e.field(), field) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("runs.csv:" + std::to_string(line)), std::string::npos)
        << e.what();
  }
}

TEST(Dataset, LoadsTinyFixtureWithHandCheckedNumbers) {
  const Dataset ds = load_zeroeval(kFixture);
  ASSERT_EQ(ds.questions().size(), 8u);
  ASSERT_EQ(ds.models().size(), 2u);
  EXPECT_EQ(ds.models()[0], "model-a");
  EXPECT_EQ(ds.models()[1], "model-b");
  EXPECT_EQ(ds.runs().size(), 12u);

  const std::uint32_t a = ds.model_index("model-a");
  const std::uint32_t b = ds.model_index("model-b");
  EXPECT_EQ(ds.runs_of_model(a).size(), 8u);
  EXPECT_EQ(ds.runs_of_model(b).size(), 4u);
  std::int64_t tokens = 0;
  int correct = 0;
  for (const data::Run& r : ds.runs_of_model(a)) {
    tokens += r.output_tokens;
    correct += r.correct ? 1 : 0;
  }
  EXPECT_EQ(tokens, 20 + 40 + 80 + 160 + 100 + 200 + 400 + 4096);
  EXPECT_EQ(correct, 5);

  const auto q = ds.find_question("math-l5", "3");
  ASSERT_TRUE(q.has_value());
  const data::Run* run = ds.find_run(a, *q);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->output_tokens, 4096);
  EXPECT_FALSE(run->answer_parsed);
  EXPECT_EQ(ds.tokenizers()[run->tokenizer], "qwen");
  EXPECT_EQ(ds.find_run(b, *q), nullptr);  // model-b never ran math-l5
  EXPECT_EQ(ds.runs_of_question(*q).size(), 1u);

  const auto g1 = ds.find_question("gsm", "g1");
  ASSERT_TRUE(g1.has_value());
  EXPECT_EQ(ds.runs_of_question(*g1).size(), 2u);
  EXPECT_EQ(ds.find_run(b, *g1)->output_tokens, 10);
  EXPECT_DOUBLE_EQ(ds.question(*g1).solve_rate, 1.0);
  EXPECT_FALSE(ds.find_question("gsm", "0").has_value());  // qids are per dataset
}

TEST(Dataset, RunsOfModelAreSortedByQuestion) {
  const Dataset ds = load_zeroeval(kFixture);
  for (std::uint32_t m = 0; m < ds.models().size(); ++m) {
    const auto runs = ds.runs_of_model(m);
    for (std::size_t i = 0; i < runs.size(); ++i) {
      EXPECT_EQ(runs[i].model, m);
      if (i > 0) {
        EXPECT_LT(runs[i - 1].question, runs[i].question);
      }
    }
  }
}

TEST(Dataset, AcceptsParentFolderWithZeroevalSubfolder) {
  const Dataset ds = load_zeroeval(std::string(CLEARHOUSE_SOURCE_DIR) + "/data");
  EXPECT_GT(ds.questions().size(), 1000u);
  EXPECT_TRUE(ds.find_model("Qwen2-7B-Instruct").has_value());
}

// Loading speed is measured by bench/ and reported in docs/performance.md, not asserted here (a
// timed unit test fails on a loaded or sanitized machine without anything being wrong).
TEST(Dataset, ShippedRunsLoadCompletely) {
  const Dataset ds = load_zeroeval(std::string(CLEARHOUSE_SOURCE_DIR) + "/data/zeroeval");
  EXPECT_EQ(ds.runs().size(), 56882u);
  const std::uint32_t m = ds.model_index("Qwen2-7B-Instruct");
  EXPECT_EQ(ds.runs_of_model(m).size(), 1617u);
}

TEST(Dataset, UnknownModelNamesTheAvailableOnes) {
  const Dataset ds = load_zeroeval(kFixture);
  try {
    ds.model_index("gpt-9");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.field(), "model");
    EXPECT_NE(std::string(e.what()).find("unknown model 'gpt-9'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("model-a, model-b"), std::string::npos);
  }
}

TEST(Dataset, QuotedCsvFieldsAndCrlf) {
  const std::string runs = std::string(kHeader) +
                           "\"m,1\",gsm,a,10,40,1,1,\"q\"\"x\"\r\n"
                           "\"m,1\",gsm,b,20,80,1,0,qwen\r\n";
  const Dataset ds = parse_zeroeval(kQuestions, "q.jsonl", runs, "runs.csv");
  ASSERT_EQ(ds.models().size(), 1u);
  EXPECT_EQ(ds.models()[0], "m,1");
  EXPECT_EQ(ds.tokenizers()[ds.runs()[0].tokenizer], "q\"x");
  EXPECT_EQ(ds.runs()[1].output_tokens, 20);
}

TEST(Dataset, ColumnsAreFoundByName) {
  const std::string runs =
      "qid,correct,output_tokens,dataset,model\n"
      "a,1,10,gsm,m\n";
  const Dataset ds = parse_zeroeval(kQuestions, "q.jsonl", runs, "runs.csv");
  EXPECT_EQ(ds.runs()[0].output_tokens, 10);
  EXPECT_TRUE(ds.runs()[0].correct);
}

TEST(Dataset, BadRunsNameLineAndField) {
  const std::string h = kHeader;
  expect_runs_error(h + "m,gsm,a,10,40,1,1,qwen\nm,gsm,b,12x,40,1,1,qwen\n", 3, "output_tokens",
                    "'12x'");
  expect_runs_error(h + "m,gsm,a,-5,40,1,1,qwen\n", 2, "output_tokens", "non-negative");
  expect_runs_error(h + "m,gsm,a,10,40,1,2,qwen\n", 2, "correct", "0/1");
  expect_runs_error(h + "m,gsm,a,10,40,yes,1,qwen\n", 2, "answer_parsed", "0/1");
  expect_runs_error(h + "m,gsm,a,10,40,1,1\n", 2, "", "expected 8 fields, got 7");
  expect_runs_error(h + "m,gsm,zz,10,40,1,1,qwen\n", 2, "qid", "no question (gsm, zz)");
  expect_runs_error(h + "m,math,a,10,40,1,1,qwen\n", 2, "qid", "no question (math, a)");
  expect_runs_error(h + "m,gsm,a,10,40,1,1,qwen\n\nm,gsm,a,11,40,1,1,qwen\n", 4, "qid",
                    "duplicate run");
  expect_runs_error(h + ",gsm,a,10,40,1,1,qwen\n", 2, "model", "empty");
  expect_runs_error("model,dataset,qid,correct\nm,gsm,a,1\n", 1, "output_tokens", "missing column");
  expect_runs_error(h + "m,gsm,a,10,40,1,1,\"qwen\n", 2, "", "unterminated");
}

TEST(Dataset, BadQuestionsNameLineAndField) {
  auto expect_error = [](const std::string& questions, std::size_t line, const std::string& field,
                         const std::string& fragment) {
    try {
      parse_zeroeval(questions, "q.jsonl", kHeader, "runs.csv");
      FAIL() << questions;
    } catch (const DataError& e) {
      EXPECT_EQ(e.file(), "q.jsonl");
      EXPECT_EQ(e.line(), line) << e.what();
      EXPECT_EQ(e.field(), field) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  const std::string ok =
      R"({"dataset": "gsm", "qid": "a", "question": "Q?", "answer": "1", "solve_rate": 0.5, "models": 2})";
  expect_error(ok + "\n{\"dataset\": \"gsm\"\n", 2, "", "invalid JSON");
  expect_error(ok + "\n[1, 2]\n", 2, "", "not a JSON object");
  expect_error(R"({"dataset": "gsm", "qid": "a", "answer": "1", "solve_rate": 0.5, "models": 2})",
               1, "question", "missing");
  expect_error(
      R"({"dataset": "gsm", "qid": "a", "question": "Q", "answer": "1", "solve_rate": "x", "models": 2})",
      1, "solve_rate", "not a number");
  expect_error(
      R"({"dataset": "gsm", "qid": "a", "question": "Q", "answer": "1", "solve_rate": 1.5, "models": 2})",
      1, "solve_rate", "[0, 1]");
  expect_error(ok + "\n\n" + ok + "\n", 3, "qid", "duplicate question");
}

TEST(Dataset, MissingDirectoryIsADataError) {
  EXPECT_THROW(load_zeroeval("/nonexistent/clearhouse-data"), DataError);
  EXPECT_THROW(load_zeroeval(std::string(CLEARHOUSE_FIXTURES)), DataError);  // no runs.csv there
}

}  // namespace
}  // namespace clearhouse::data
