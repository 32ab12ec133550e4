#include "tools/replay_upstream_store.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "data/data_error.h"
#include "data/dataset.h"
#include "data/jsonl.h"

namespace clearhouse::tools {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw data::DataError(path.string(), 0, "", "cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::int64_t estimate_tokens(std::int64_t chars, double chars_per_token) {
  if (chars <= 0) return 0;
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::llround(static_cast<double>(chars) / chars_per_token)));
}

}  // namespace

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

std::string ReplayStore::key(std::string_view model, std::string_view part) {
  std::string k;
  k.reserve(model.size() + 1 + part.size());
  k += model;
  k += '\n';
  k += part;
  return k;
}

ReplayStore::ReplayStore(std::vector<RecordedOutput> records) : records_(std::move(records)) {
  std::unordered_map<std::string, std::pair<double, double>> totals;  // model -> (chars, tokens)
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const RecordedOutput& r = records_[i];
    if (!r.question.empty()) by_text_[key(r.model, trim(r.question))] = i;
    by_qid_[key(r.model, r.qid)] = i;
    by_qid_[key(r.model, r.dataset + "/" + r.qid)] = i;
    auto& [chars, tokens] = totals[r.model];
    if (r.output_tokens > 0) {
      chars += static_cast<double>(r.output_chars);
      tokens += static_cast<double>(r.output_tokens);
    }
    if (std::find(models_.begin(), models_.end(), r.model) == models_.end()) {
      models_.push_back(r.model);
    }
  }
  std::sort(models_.begin(), models_.end());
  for (const auto& [model, t] : totals) {
    chars_per_token_[model] =
        t.second > 0 && t.first > 0 ? t.first / t.second : kDefaultCharsPerToken;
  }
}

ReplayStore ReplayStore::load(const std::filesystem::path& dir) {
  const std::filesystem::path root = data::resolve_zeroeval_dir(dir);
  const data::Dataset dataset = data::load_zeroeval(root);
  const std::filesystem::path outputs = root / "outputs";

  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(outputs)) {
    for (const auto& entry : std::filesystem::directory_iterator(outputs)) {
      if (entry.is_regular_file() && entry.path().extension() == ".jsonl") {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    throw data::DataError(outputs.string(), 0, "",
                          "no recorded outputs (<model>.<dataset>.jsonl files) to replay");
  }

  // Characters per token of each model over all its runs (for records without a run).
  std::unordered_map<std::string, double> ratio;
  for (std::uint32_t m = 0; m < dataset.models().size(); ++m) {
    double chars = 0, tokens = 0;
    for (const data::Run& run : dataset.runs_of_model(m)) {
      if (run.output_tokens <= 0 || run.output_chars <= 0) continue;
      chars += static_cast<double>(run.output_chars);
      tokens += static_cast<double>(run.output_tokens);
    }
    if (tokens > 0) ratio[dataset.models()[m]] = chars / tokens;
  }

  std::vector<RecordedOutput> records;
  for (const auto& path : files) {
    const std::string stem = path.stem().string();  // <model>.<dataset>
    const auto dot = stem.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == stem.size()) {
      throw data::DataError(path.string(), 0, "",
                            "file name must be <model>.<dataset>.jsonl, e.g. "
                            "Qwen2-7B-Instruct.gsm.jsonl");
    }
    const std::string model = stem.substr(0, dot);
    const std::string dataset_name = stem.substr(dot + 1);
    const auto model_index = dataset.find_model(model);
    const double model_ratio = ratio.count(model) != 0 ? ratio.at(model) : kDefaultCharsPerToken;
    const std::string file = path.string();
    data::for_each_jsonl_object(
        read_file(path), file, [&](const nlohmann::json& object, std::size_t line) {
          RecordedOutput r;
          r.model = model;
          r.dataset = dataset_name;
          r.qid = data::required_string(object, "qid", file, line);
          r.output = data::required_string(object, "output", file, line);
          r.output_chars = base::count_code_points(r.output);
          const auto question = dataset.find_question(dataset_name, r.qid);
          if (question) r.question = dataset.question(*question).question;
          const data::Run* run =
              question && model_index ? dataset.find_run(*model_index, *question) : nullptr;
          r.output_tokens = run != nullptr && (run->output_tokens > 0 || r.output_chars == 0)
                                ? run->output_tokens
                                : estimate_tokens(r.output_chars, model_ratio);
          records.push_back(std::move(r));
        });
  }
  return ReplayStore(std::move(records));
}

bool ReplayStore::has_model(std::string_view model) const {
  return std::binary_search(models_.begin(), models_.end(), model);
}

const RecordedOutput* ReplayStore::find_by_text(std::string_view model,
                                                std::string_view text) const {
  const auto it = by_text_.find(key(model, trim(text)));
  return it == by_text_.end() ? nullptr : &records_[it->second];
}

const RecordedOutput* ReplayStore::find_by_qid(std::string_view model, std::string_view qid) const {
  const auto it = by_qid_.find(key(model, trim(qid)));
  return it == by_qid_.end() ? nullptr : &records_[it->second];
}

double ReplayStore::chars_per_token(std::string_view model) const {
  const auto it = chars_per_token_.find(std::string(model));
  return it == chars_per_token_.end() ? kDefaultCharsPerToken : it->second;
}

}  // namespace clearhouse::tools
