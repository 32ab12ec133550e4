// MathSamples: the Qwen2.5-Math sampled solutions (data/qwen25-math-samples/samples.jsonl), several
// graded samples per question with output tokens and reward scores, loaded, validated and grouped
// by question. Used for per-question accuracy-versus-tokens curves, majority vote and best-of-N.
//
//   auto s = clearhouse::data::load_math_samples("data/qwen25-math-samples/samples.jsonl");
//   for (std::size_t q = 0; q < s.question_count(); ++q) for (const MathSample& x :
//   s.samples_of(q)) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace clearhouse::data {

struct MathSample {
  std::string qid;          // question id (integers in the shipped file are kept in decimal)
  std::int64_t sample = 0;  // sample number within the question
  std::int64_t output_tokens = 0;
  std::string prediction;  // the sample's parsed answer
  bool correct = false;
  double reward_score = 0;  // reward model score (higher is better)
};

struct MathQuestion {
  std::string qid;
  std::string question;
  std::string level;   // e.g. "Level 3"
  std::string answer;  // reference
};

class MathSamples {
 public:
  // Samples are grouped by question in order of first appearance, and by sample number within one.
  MathSamples(std::vector<MathQuestion> questions, std::vector<MathSample> samples);

  std::size_t question_count() const { return questions_.size(); }
  const MathQuestion& question(std::size_t index) const { return questions_.at(index); }
  std::span<const MathSample> samples_of(std::size_t question) const;
  std::span<const MathSample> samples() const { return samples_; }

 private:
  std::vector<MathQuestion> questions_;
  std::vector<MathSample> samples_;
  std::vector<std::size_t> offsets_;
};

// Throws DataError naming the line and field of any bad row (missing field, wrong type, negative
// tokens, a duplicate (qid, sample), or one qid with two different question texts).
MathSamples parse_math_samples(std::string_view jsonl, const std::string& file);
MathSamples load_math_samples(const std::filesystem::path& path);

}  // namespace clearhouse::data
