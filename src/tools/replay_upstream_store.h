// ReplayStore: recorded real model outputs, indexed for the replay upstream (see
// docs/replay-upstream.md).
//
// Loaded from a ZeroEval data directory (`data/` or `data/zeroeval/`): the full output texts of
// outputs/<model>.<dataset>.jsonl (lines {"qid", "output"}; every such file found is loaded, the
// model name is the file name up to its last dot before the dataset), the question texts of
// questions.jsonl, and the recorded token and character counts of runs.csv. A record whose run is
// missing from runs.csv gets its token count estimated from the model's average characters per
// token.
//
// Lookups, per model: by question text (exact, after trimming surrounding whitespace) and by qid
// (with or without a "dataset/" prefix). Immutable after construction, so concurrent reads are
// safe.
//
//   ReplayStore store = ReplayStore::load("data");
//   const RecordedOutput* r = store.find_by_text("Qwen2-7B-Instruct", question_text);
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/utf8.h"  // count_code_points, used with the records

namespace clearhouse::tools {

// Characters per token assumed for a model with no recorded counts (a common rule of thumb).
inline constexpr double kDefaultCharsPerToken = 4.0;

struct RecordedOutput {
  std::string model;
  std::string dataset;
  std::string qid;
  std::string question;            // the prompt text it answers ("" if the question is unknown)
  std::string output;              // the model's full answer
  std::int64_t output_tokens = 0;  // tokens of `output`, as recorded (or estimated, see above)
  std::int64_t output_chars = 0;   // Unicode code points of `output`
};

class ReplayStore {
 public:
  // Indexes the records; a later duplicate (model, dataset, qid) replaces an earlier one.
  explicit ReplayStore(std::vector<RecordedOutput> records);

  // Loads every outputs/*.jsonl of the ZeroEval directory `dir`. Throws data::DataError naming the
  // file and line for bad input, or when there is no output file at all.
  static ReplayStore load(const std::filesystem::path& dir);

  // Models with recorded outputs, sorted by name.
  [[nodiscard]] std::span<const std::string> models() const { return models_; }
  [[nodiscard]] bool has_model(std::string_view model) const;
  [[nodiscard]] std::span<const RecordedOutput> records() const { return records_; }

  // Nullptr when the model has no output for that prompt / qid.
  [[nodiscard]] const RecordedOutput* find_by_text(std::string_view model,
                                                   std::string_view text) const;
  [[nodiscard]] const RecordedOutput* find_by_qid(std::string_view model,
                                                  std::string_view qid) const;

  // The model's average characters per token over its records (kDefaultCharsPerToken if none).
  [[nodiscard]] double chars_per_token(std::string_view model) const;

 private:
  static std::string key(std::string_view model, std::string_view part);

  std::vector<RecordedOutput> records_;
  std::vector<std::string> models_;
  std::unordered_map<std::string, std::size_t> by_text_;  // model + '\n' + trimmed text
  std::unordered_map<std::string, std::size_t> by_qid_;   // model + '\n' + qid, and + dataset/qid
  std::unordered_map<std::string, double> chars_per_token_;
};

// `text` without leading and trailing ASCII whitespace.
std::string_view trim(std::string_view text);

}  // namespace clearhouse::tools
