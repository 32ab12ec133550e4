#include "data/math_samples.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <utility>

#include "data/data_error.h"
#include "data/fields.h"
#include "data/jsonl.h"

namespace clearhouse::data {

MathSamples::MathSamples(std::vector<MathQuestion> questions, std::vector<MathSample> samples)
    : questions_(std::move(questions)) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < questions_.size(); ++i) index.emplace(questions_[i].qid, i);
  std::vector<std::size_t> owner(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto it = index.find(samples[i].qid);
    if (it == index.end()) throw DataError("samples", 0, "qid", "sample of unknown question");
    owner[i] = it->second;
  }
  std::vector<std::size_t> perm(samples.size());
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  std::stable_sort(perm.begin(), perm.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(owner[a], samples[a].sample) < std::pair(owner[b], samples[b].sample);
  });
  offsets_.assign(questions_.size() + 1, 0);
  samples_.reserve(samples.size());
  for (const std::size_t i : perm) {
    ++offsets_[owner[i] + 1];
    samples_.push_back(std::move(samples[i]));
  }
  std::partial_sum(offsets_.begin(), offsets_.end(), offsets_.begin());
}

std::span<const MathSample> MathSamples::samples_of(std::size_t question) const {
  if (question >= questions_.size()) return {};
  return std::span<const MathSample>(samples_).subspan(offsets_[question],
                                                       offsets_[question + 1] - offsets_[question]);
}

MathSamples parse_math_samples(std::string_view jsonl, const std::string& file) {
  std::vector<MathQuestion> questions;
  std::vector<MathSample> samples;
  std::map<std::string, std::size_t> question_index;
  std::map<std::pair<std::string, std::int64_t>, std::size_t> seen;
  for_each_jsonl_object(jsonl, file, [&](const nlohmann::json& o, std::size_t line) {
    MathQuestion q;
    q.qid = required_string(o, "qid", file, line);
    q.question = required_string(o, "question", file, line);
    q.level = o.contains("level") ? required_string(o, "level", file, line) : std::string();
    q.answer = required_string(o, "answer", file, line);
    MathSample s;
    s.qid = q.qid;
    s.sample = required_count(o, "sample", file, line);
    s.output_tokens = required_count(o, "output_tokens", file, line);
    s.prediction = o.contains("prediction") && !o["prediction"].is_null()
                       ? required_string(o, "prediction", file, line)
                       : std::string();
    s.correct = required_bool(o, "correct", file, line);
    s.reward_score = required_number(o, "reward_score", file, line);
    if (!seen.emplace(std::pair(s.qid, s.sample), line).second) {
      throw DataError(file, line, "sample",
                      "duplicate sample " + std::to_string(s.sample) + " of qid " + s.qid);
    }
    const auto [it, inserted] = question_index.emplace(q.qid, questions.size());
    if (inserted) {
      questions.push_back(std::move(q));
    } else if (questions[it->second].question != q.question) {
      throw DataError(file, line, "question", "differs from an earlier line with qid " + q.qid);
    }
    samples.push_back(std::move(s));
  });
  return MathSamples(std::move(questions), std::move(samples));
}

MathSamples load_math_samples(const std::filesystem::path& path) {
  return parse_math_samples(read_whole_file(path), path.string());
}

}  // namespace clearhouse::data
