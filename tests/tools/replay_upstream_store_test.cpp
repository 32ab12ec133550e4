// ReplayStore: loading recorded outputs (the shipped data and small hand-made directories), lookups
// and token counts.
#include "tools/replay_upstream_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "data/data_error.h"
#include "support/run_binary.h"

namespace clearhouse::tools {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A ZeroEval directory with two questions, runs of model M for q1 only, and outputs of M.
fs::path small_dir(const std::string& outputs_jsonl) {
  const fs::path dir = clearhouse::testing::scratch_dir();
  write(
      dir / "questions.jsonl",
      R"({"dataset": "gsm", "qid": "q1", "question": "  One plus one?\n", "answer": "2", "solve_rate": 1, "models": 1})"
      "\n"
      R"({"dataset": "gsm", "qid": "q2", "question": "Two plus two?", "answer": "4", "solve_rate": 1, "models": 1})"
      "\n");
  write(dir / "runs.csv",
        "model,dataset,qid,output_tokens,output_chars,answer_parsed,correct,tokenizer\n"
        "M,gsm,q1,5,20,1,1,qwen\n");
  write(dir / "outputs" / "M.gsm.jsonl", outputs_jsonl);
  return dir;
}

TEST(ReplayStore, LoadsTheShippedOutputs) {
  const ReplayStore store = ReplayStore::load(std::string(CLEARHOUSE_SOURCE_DIR) + "/data");
  ASSERT_FALSE(store.models().empty());
  EXPECT_TRUE(store.has_model("Qwen2-7B-Instruct"));
  EXPECT_GE(store.records().size(), 1000u);
  const RecordedOutput* r = store.find_by_qid("Qwen2-7B-Instruct", "gsm/gsm8k-main-test-#0");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->dataset, "gsm");
  EXPECT_GT(r->output_tokens, 0);
  EXPECT_EQ(r->output_chars, base::count_code_points(r->output));
  EXPECT_EQ(store.find_by_text("Qwen2-7B-Instruct", r->question), r);
  EXPECT_EQ(store.find_by_qid("Qwen2-7B-Instruct", "gsm8k-main-test-#0"), r);
  // Every record knows its question, and the average characters per token is plausible for an
  // English BPE tokenizer.
  for (const auto& rec : store.records()) EXPECT_FALSE(rec.question.empty()) << rec.qid;
  EXPECT_GT(store.chars_per_token("Qwen2-7B-Instruct"), 2.0);
  EXPECT_LT(store.chars_per_token("Qwen2-7B-Instruct"), 6.0);
}

TEST(ReplayStore, UsesRecordedCountsAndEstimatesMissingOnes) {
  const fs::path dir = small_dir(R"({"qid": "q1", "output": "twenty characters!!!"})"
                                 "\n"
                                 R"({"qid": "q2", "output": "eight ch"})"
                                 "\n"
                                 R"({"qid": "q9", "output": "no question"})"
                                 "\n");
  const ReplayStore store = ReplayStore::load(dir);
  ASSERT_EQ(store.records().size(), 3u);
  const RecordedOutput* q1 = store.find_by_text("M", "One plus one?");  // trimmed both sides
  ASSERT_NE(q1, nullptr);
  EXPECT_EQ(q1->qid, "q1");
  EXPECT_EQ(q1->output_tokens, 5);
  // q2 has no run: 8 characters at M's 4 characters per token (20 / 5).
  const RecordedOutput* q2 = store.find_by_qid("M", "q2");
  ASSERT_NE(q2, nullptr);
  EXPECT_EQ(q2->output_tokens, 2);
  // q9 has no question: found by qid only.
  ASSERT_NE(store.find_by_qid("M", "gsm/q9"), nullptr);
  EXPECT_TRUE(store.find_by_qid("M", "q9")->question.empty());
  EXPECT_EQ(store.find_by_text("M", "Three?"), nullptr);
  EXPECT_EQ(store.find_by_text("Other", "One plus one?"), nullptr);
}

TEST(ReplayStore, BadFilesNameTheFileAndLine) {
  const fs::path dir = small_dir(R"({"qid": "q1", "output": "ok"})"
                                 "\n"
                                 R"({"qid": "q2"})"
                                 "\n");
  try {
    (void)ReplayStore::load(dir);
    ADD_FAILURE() << "loaded a line without output";
  } catch (const data::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("M.gsm.jsonl:2"), std::string::npos) << e.what();
  }
  fs::remove_all(dir / "outputs");
  EXPECT_THROW((void)ReplayStore::load(dir), data::DataError);
  write(dir / "outputs" / "nodataset.jsonl", "");
  EXPECT_THROW((void)ReplayStore::load(dir), data::DataError);
}

}  // namespace
}  // namespace clearhouse::tools
