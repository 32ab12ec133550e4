#include "data/dataset.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "data/csv_reader.h"
#include "data/data_error.h"
#include "data/fields.h"
#include "data/jsonl.h"

namespace clearhouse::data {

std::string Dataset::key(std::string_view dataset, std::string_view qid) {
  std::string k;
  k.reserve(dataset.size() + qid.size() + 1);
  k.append(dataset);
  k.push_back('\x1f');
  k.append(qid);
  return k;
}

Dataset::Dataset(std::vector<Question> questions, std::vector<std::string> models,
                 std::vector<std::string> tokenizers, std::vector<Run> runs,
                 std::string questions_file, std::string runs_file,
                 std::vector<std::size_t> question_lines, std::vector<std::size_t> run_lines)
    : questions_(std::move(questions)), tokenizers_(std::move(tokenizers)) {
  auto qline = [&](std::size_t i) { return i < question_lines.size() ? question_lines[i] : i + 1; };
  auto rline = [&](std::size_t i) { return i < run_lines.size() ? run_lines[i] : i + 1; };

  question_by_key_.reserve(questions_.size());
  for (std::size_t i = 0; i < questions_.size(); ++i) {
    const Question& q = questions_[i];
    if (!question_by_key_.emplace(key(q.dataset, q.qid), static_cast<std::uint32_t>(i)).second) {
      throw DataError(questions_file, qline(i), "qid",
                      "duplicate question (" + q.dataset + ", " + q.qid + ")");
    }
  }

  // Models sorted by name; remap run indices.
  std::vector<std::uint32_t> order(models.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](std::uint32_t a, std::uint32_t b) { return models[a] < models[b]; });
  std::vector<std::uint32_t> new_index(models.size());
  models_.reserve(models.size());
  for (std::uint32_t rank = 0; rank < order.size(); ++rank) {
    new_index[order[rank]] = rank;
    models_.push_back(std::move(models[order[rank]]));
    if (!model_by_name_.emplace(models_.back(), rank).second) {
      throw DataError(runs_file, 0, "model", "model listed twice: " + models_.back());
    }
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    Run& r = runs[i];
    if (r.model >= new_index.size())
      throw DataError(runs_file, rline(i), "model", "bad model index");
    if (r.question >= questions_.size()) {
      throw DataError(runs_file, rline(i), "qid", "bad question index");
    }
    if (r.tokenizer >= tokenizers_.size() && !tokenizers_.empty()) {
      throw DataError(runs_file, rline(i), "tokenizer", "bad tokenizer index");
    }
    r.model = new_index[r.model];
  }

  // Sort runs by (model, question) through a permutation, so duplicates can name their line.
  std::vector<std::uint32_t> perm(runs.size());
  std::iota(perm.begin(), perm.end(), 0u);
  std::stable_sort(perm.begin(), perm.end(), [&](std::uint32_t a, std::uint32_t b) {
    return std::pair(runs[a].model, runs[a].question) < std::pair(runs[b].model, runs[b].question);
  });
  runs_.reserve(runs.size());
  for (std::size_t k = 0; k < perm.size(); ++k) {
    const Run& r = runs[perm[k]];
    if (k > 0 && runs_.back().model == r.model && runs_.back().question == r.question) {
      const Question& q = questions_[r.question];
      throw DataError(
          runs_file, rline(perm[k]), "qid",
          "duplicate run of model " + models_[r.model] + " on (" + q.dataset + ", " + q.qid + ")");
    }
    runs_.push_back(r);
  }

  model_offsets_.assign(models_.size() + 1, 0);
  for (const Run& r : runs_) ++model_offsets_[r.model + 1];
  std::partial_sum(model_offsets_.begin(), model_offsets_.end(), model_offsets_.begin());

  question_offsets_.assign(questions_.size() + 1, 0);
  for (const Run& r : runs_) ++question_offsets_[r.question + 1];
  std::partial_sum(question_offsets_.begin(), question_offsets_.end(), question_offsets_.begin());
  question_runs_.resize(runs_.size());
  std::vector<std::size_t> fill(question_offsets_.begin(), question_offsets_.end() - 1);
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    question_runs_[fill[runs_[i].question]++] = static_cast<std::uint32_t>(i);
  }
}

std::optional<std::uint32_t> Dataset::find_question(std::string_view dataset,
                                                    std::string_view qid) const {
  const auto it = question_by_key_.find(key(dataset, qid));
  if (it == question_by_key_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::uint32_t> Dataset::find_model(std::string_view name) const {
  const auto it = model_by_name_.find(std::string(name));
  if (it == model_by_name_.end()) return std::nullopt;
  return it->second;
}

std::uint32_t Dataset::model_index(std::string_view name) const {
  if (const auto m = find_model(name)) return *m;
  std::string available;
  for (const std::string& model : models_) {
    if (!available.empty()) available += ", ";
    available += model;
  }
  throw DataError(source_.empty() ? "dataset" : source_, 0, "model",
                  "unknown model '" + std::string(name) + "' (available: " + available + ")");
}

std::span<const Run> Dataset::runs_of_model(std::uint32_t model) const {
  if (model >= models_.size()) return {};
  return std::span<const Run>(runs_).subspan(model_offsets_[model],
                                             model_offsets_[model + 1] - model_offsets_[model]);
}

const Run* Dataset::find_run(std::uint32_t model, std::uint32_t question) const {
  const std::span<const Run> runs = runs_of_model(model);
  const auto it = std::lower_bound(runs.begin(), runs.end(), question,
                                   [](const Run& r, std::uint32_t q) { return r.question < q; });
  if (it == runs.end() || it->question != question) return nullptr;
  return &*it;
}

std::span<const std::uint32_t> Dataset::runs_of_question(std::uint32_t question) const {
  if (question >= questions_.size()) return {};
  return std::span<const std::uint32_t>(question_runs_)
      .subspan(question_offsets_[question],
               question_offsets_[question + 1] - question_offsets_[question]);
}

std::filesystem::path resolve_zeroeval_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir / "questions.jsonl", ec) && fs::exists(dir / "runs.csv", ec)) return dir;
  if (fs::exists(dir / "zeroeval" / "questions.jsonl", ec) &&
      fs::exists(dir / "zeroeval" / "runs.csv", ec)) {
    return dir / "zeroeval";
  }
  if (!fs::exists(dir, ec)) throw DataError(dir.string(), 0, "", "no such directory");
  throw DataError(dir.string(), 0, "",
                  "no questions.jsonl and runs.csv in this directory or its zeroeval/ folder");
}

std::vector<Question> parse_questions(std::string_view jsonl, const std::string& file,
                                      std::vector<std::size_t>* lines) {
  std::vector<Question> questions;
  for_each_jsonl_object(jsonl, file, [&](const nlohmann::json& o, std::size_t line) {
    Question q;
    q.dataset = required_string(o, "dataset", file, line);
    q.qid = required_string(o, "qid", file, line);
    q.question = required_string(o, "question", file, line);
    q.answer = required_string(o, "answer", file, line);
    q.solve_rate = required_number(o, "solve_rate", file, line);
    if (q.solve_rate < 0.0 || q.solve_rate > 1.0) {
      throw DataError(file, line, "solve_rate", "not in [0, 1]");
    }
    q.models = required_count(o, "models", file, line);
    if (q.dataset.empty()) throw DataError(file, line, "dataset", "empty");
    if (q.qid.empty()) throw DataError(file, line, "qid", "empty");
    questions.push_back(std::move(q));
    if (lines) lines->push_back(line);
  });
  return questions;
}

namespace {

struct Columns {
  static constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);
  std::size_t model = kAbsent, dataset = kAbsent, qid = kAbsent, output_tokens = kAbsent,
              output_chars = kAbsent, answer_parsed = kAbsent, correct = kAbsent,
              tokenizer = kAbsent;
  std::size_t count = 0;
};

Columns read_header(CsvReader& reader, std::vector<std::string_view>& fields) {
  if (!reader.next_row(fields)) throw DataError(reader.file(), 0, "", "empty file (no header)");
  Columns c;
  c.count = fields.size();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string_view name = fields[i];
    if (name == "model")
      c.model = i;
    else if (name == "dataset")
      c.dataset = i;
    else if (name == "qid")
      c.qid = i;
    else if (name == "output_tokens")
      c.output_tokens = i;
    else if (name == "output_chars")
      c.output_chars = i;
    else if (name == "answer_parsed")
      c.answer_parsed = i;
    else if (name == "correct")
      c.correct = i;
    else if (name == "tokenizer")
      c.tokenizer = i;
  }
  const std::pair<const char*, std::size_t> required[] = {{"model", c.model},
                                                          {"dataset", c.dataset},
                                                          {"qid", c.qid},
                                                          {"output_tokens", c.output_tokens},
                                                          {"correct", c.correct}};
  for (const auto& [name, index] : required) {
    if (index == Columns::kAbsent) {
      throw DataError(reader.file(), reader.line(), name, "missing column in header");
    }
  }
  return c;
}

}  // namespace

Dataset parse_zeroeval(std::string_view questions_jsonl, const std::string& questions_file,
                       std::string_view runs_csv, const std::string& runs_file) {
  std::vector<std::size_t> question_lines;
  std::vector<Question> questions =
      parse_questions(questions_jsonl, questions_file, &question_lines);
  std::unordered_map<std::string, std::uint32_t> question_by_key;
  question_by_key.reserve(questions.size());
  std::string k;
  for (std::size_t i = 0; i < questions.size(); ++i) {
    k.assign(questions[i].dataset).push_back('\x1f');
    k.append(questions[i].qid);
    question_by_key.emplace(k, static_cast<std::uint32_t>(i));  // duplicates reported by Dataset
  }

  CsvReader reader(runs_csv, runs_file);
  std::vector<std::string_view> f;
  const Columns col = read_header(reader, f);

  std::vector<std::string> models;
  std::unordered_map<std::string, std::uint32_t> model_ids;
  std::vector<std::string> tokenizers;
  std::unordered_map<std::string, std::uint32_t> tokenizer_ids;
  std::vector<Run> runs;
  std::vector<std::size_t> run_lines;
  runs.reserve(runs_csv.size() / 60);
  run_lines.reserve(runs_csv.size() / 60);
  std::string last_model;
  std::uint32_t last_model_id = 0;

  auto intern = [](std::string_view name, std::vector<std::string>& names,
                   std::unordered_map<std::string, std::uint32_t>& ids) {
    const auto [it, inserted] =
        ids.emplace(std::string(name), static_cast<std::uint32_t>(names.size()));
    if (inserted) names.emplace_back(name);
    return it->second;
  };

  while (reader.next_row(f)) {
    const std::size_t line = reader.line();
    if (f.size() != col.count) {
      throw DataError(
          runs_file, line, "",
          "expected " + std::to_string(col.count) + " fields, got " + std::to_string(f.size()));
    }
    Run r;
    const std::string_view model = f[col.model];
    if (model.empty()) throw DataError(runs_file, line, "model", "empty");
    if (runs.empty() || model != last_model) {
      last_model.assign(model);
      last_model_id = intern(model, models, model_ids);
    }
    r.model = last_model_id;
    k.assign(f[col.dataset]).push_back('\x1f');
    k.append(f[col.qid]);
    const auto q = question_by_key.find(k);
    if (q == question_by_key.end()) {
      throw DataError(runs_file, line, "qid",
                      "no question (" + std::string(f[col.dataset]) + ", " +
                          std::string(f[col.qid]) + ") in " + questions_file);
    }
    r.question = q->second;
    r.output_tokens = parse_count(f[col.output_tokens], {runs_file, line, "output_tokens"});
    if (col.output_chars != Columns::kAbsent) {
      r.output_chars = parse_count(f[col.output_chars], {runs_file, line, "output_chars"});
    }
    if (col.answer_parsed != Columns::kAbsent) {
      r.answer_parsed = parse_flag(f[col.answer_parsed], {runs_file, line, "answer_parsed"});
    }
    r.correct = parse_flag(f[col.correct], {runs_file, line, "correct"});
    const std::string_view tokenizer = col.tokenizer != Columns::kAbsent ? f[col.tokenizer] : "";
    r.tokenizer = intern(tokenizer, tokenizers, tokenizer_ids);
    runs.push_back(r);
    run_lines.push_back(line);
  }
  return Dataset(std::move(questions), std::move(models), std::move(tokenizers), std::move(runs),
                 questions_file, runs_file, std::move(question_lines), std::move(run_lines));
}

Dataset load_zeroeval(const std::filesystem::path& dir) {
  const std::filesystem::path root = resolve_zeroeval_dir(dir);
  const std::filesystem::path qpath = root / "questions.jsonl";
  const std::filesystem::path rpath = root / "runs.csv";
  const std::string questions = read_whole_file(qpath);
  const std::string runs = read_whole_file(rpath);
  Dataset ds = parse_zeroeval(questions, qpath.string(), runs, rpath.string());
  ds.set_source(root.string());
  return ds;
}

}  // namespace clearhouse::data
