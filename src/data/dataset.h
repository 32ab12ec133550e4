// Dataset: the ZeroEval records (questions and per-model runs) loaded, validated and indexed.
//
// A question is identified by (dataset, qid), e.g. ("gsm", "gsm8k-main-test-#0"); a run is one
// model's greedy answer to one question: output tokens and correctness. Nothing is hard-coded: the
// models, datasets and tokenizers are whatever the files contain (held-out files in the same format
// work).
//
// Indexes: runs are stored sorted by (model, question), so runs_of_model(m) is a contiguous span
// and find_run(m, q) is a binary search; runs_of_question(q) lists run indices. Lookups by name
// return std::optional; model_index() throws DataError naming the available models. Immutable after
// loading, so concurrent reads are safe.
//
//   auto ds = clearhouse::data::load_zeroeval("data");          // data/ or data/zeroeval/
//   std::uint32_t m = ds.model_index("Qwen2-7B-Instruct");
//   for (const Run& r : ds.runs_of_model(m)) use(ds.question(r.question).question,
//   r.output_tokens);
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace clearhouse::data {

struct Question {
  std::string dataset;   // benchmark name, e.g. "gsm" or "math-l5"
  std::string qid;       // id, unique within its dataset
  std::string question;  // the question text shown to the model
  std::string answer;    // reference answer
  // Share of all ZeroEval models that solved it, in [0, 1]. Tiers only: never a predictor feature.
  double solve_rate = 0;
  std::int64_t models = 0;  // how many ZeroEval models ran it
};

struct Run {
  std::uint32_t model = 0;         // index into Dataset::models()
  std::uint32_t question = 0;      // index into Dataset::questions()
  std::int64_t output_tokens = 0;  // tokens of the output text (0 for an empty output)
  std::int64_t output_chars = 0;   // characters of the output text (0 if the column is absent)
  bool answer_parsed = true;       // an answer could be parsed from the output
  bool correct = false;            // graded correct at full length
  std::uint32_t tokenizer = 0;     // index into Dataset::tokenizers()
};

class Dataset {
 public:
  // Builds and indexes; throws DataError on duplicate questions or runs, or runs that reference a
  // missing question or model index. `questions_file`/`runs_file` name the sources in errors; the
  // 1-based source lines of runs (`run_lines`, parallel to `runs`, may be empty) are used in
  // errors.
  Dataset(std::vector<Question> questions, std::vector<std::string> models,
          std::vector<std::string> tokenizers, std::vector<Run> runs,
          std::string questions_file = "questions", std::string runs_file = "runs",
          std::vector<std::size_t> question_lines = {}, std::vector<std::size_t> run_lines = {});

  std::span<const Question> questions() const { return questions_; }
  const Question& question(std::uint32_t index) const { return questions_.at(index); }
  std::span<const std::string> models() const { return models_; }  // sorted by name
  std::span<const std::string> tokenizers() const { return tokenizers_; }
  std::span<const Run> runs() const { return runs_; }  // sorted by (model, question)

  std::optional<std::uint32_t> find_question(std::string_view dataset, std::string_view qid) const;
  std::optional<std::uint32_t> find_model(std::string_view name) const;
  // As find_model, but throws DataError("unknown model 'X' (available: ...)").
  std::uint32_t model_index(std::string_view name) const;

  std::span<const Run> runs_of_model(std::uint32_t model) const;
  // Nullptr if the model did not answer the question.
  const Run* find_run(std::uint32_t model, std::uint32_t question) const;
  // Indices into runs() of every run on the question, by model index.
  std::span<const std::uint32_t> runs_of_question(std::uint32_t question) const;

  // Where the data came from (for messages); empty when built in memory.
  const std::string& source() const { return source_; }
  void set_source(std::string source) { source_ = std::move(source); }

 private:
  static std::string key(std::string_view dataset, std::string_view qid);

  std::vector<Question> questions_;
  std::vector<std::string> models_;
  std::vector<std::string> tokenizers_;
  std::vector<Run> runs_;
  std::vector<std::size_t> model_offsets_;     // runs_ of model m: [offsets[m], offsets[m+1])
  std::vector<std::size_t> question_offsets_;  // CSR over question_runs_
  std::vector<std::uint32_t> question_runs_;
  std::unordered_map<std::string, std::uint32_t> question_by_key_;
  std::unordered_map<std::string, std::uint32_t> model_by_name_;
  std::string source_;
};

// Finds the directory holding questions.jsonl and runs.csv: `dir` itself or `dir`/zeroeval. Throws
// DataError if neither has them.
std::filesystem::path resolve_zeroeval_dir(const std::filesystem::path& dir);

// Loads and validates questions.jsonl and runs.csv from resolve_zeroeval_dir(dir).
Dataset load_zeroeval(const std::filesystem::path& dir);

// The same from in-memory texts (tests, other sources); the names label errors.
std::vector<Question> parse_questions(std::string_view jsonl, const std::string& file,
                                      std::vector<std::size_t>* lines = nullptr);
Dataset parse_zeroeval(std::string_view questions_jsonl, const std::string& questions_file,
                       std::string_view runs_csv, const std::string& runs_file);

}  // namespace clearhouse::data
