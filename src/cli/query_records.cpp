#include "cli/query_records.h"

#include <cmath>
#include <unordered_map>

#include "cli/errors.h"
#include "cli/io.h"

namespace clearhouse::cli {
namespace {

using nlohmann::json;

[[noreturn]] void fail(std::string_view source, std::size_t line, std::string_view field,
                       std::string_view problem) {
  std::string msg = std::string(source) + ":" + std::to_string(line) + ": ";
  if (!field.empty()) msg += "field '" + std::string(field) + "': ";
  throw UsageError(msg + std::string(problem));
}

enum class Range { kPositive, kNonNegative };

std::optional<double> number_field(const json& obj, const char* field, Range range,
                                   std::string_view source, std::size_t line) {
  const auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) fail(source, line, field, "expected a number, got " + it->dump());
  const double v = it->get<double>();
  if (!std::isfinite(v)) fail(source, line, field, "must be finite");
  if (range == Range::kPositive && v <= 0.0) {
    fail(source, line, field, "must be > 0, got " + it->dump());
  }
  if (range == Range::kNonNegative && v < 0.0) {
    fail(source, line, field, "must be >= 0, got " + it->dump());
  }
  return v;
}

}  // namespace

std::vector<QueryRecord> parse_query_records(std::string_view text, std::string_view source) {
  std::vector<QueryRecord> records;
  std::unordered_map<std::string, std::size_t> seen;  // id's JSON text -> line
  const auto lines = split_lines(text);
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const std::size_t line = n + 1;
    const std::string_view raw = lines[n];
    if (raw.find_first_not_of(" \t") == std::string_view::npos) continue;
    json obj;
    try {
      obj = json::parse(raw);
    } catch (const json::exception& e) {
      // nlohmann's message starts with "[json.exception.<kind>] "; keep the readable rest.
      std::string detail = e.what();
      if (const auto close = detail.find("] "); close != std::string::npos) {
        detail = detail.substr(close + 2);
      }
      fail(source, line, "", "not valid JSON (" + detail + ")");
    }
    if (!obj.is_object()) fail(source, line, "", "expected a JSON object");
    QueryRecord r;
    r.line = line;
    const auto id = obj.find("id");
    if (id == obj.end() || !(id->is_string() || id->is_number_integer())) {
      fail(source, line, "id", id == obj.end() ? "missing" : "expected a string or an integer");
    }
    r.id = *id;
    const auto [where, inserted] = seen.emplace(id->dump(), line);
    if (!inserted) {
      fail(source, line, "id",
           "duplicate id " + id->dump() + " (first on line " + std::to_string(where->second) + ")");
    }
    r.tau = number_field(obj, "tau", Range::kPositive, source, line);
    r.alpha = number_field(obj, "alpha", Range::kPositive, source, line);
    r.beta = number_field(obj, "beta", Range::kPositive, source, line);
    r.value = number_field(obj, "value", Range::kPositive, source, line);
    r.teacher_tau = number_field(obj, "teacher_tau", Range::kPositive, source, line);
    r.tokens_needed = number_field(obj, "tokens_needed", Range::kNonNegative, source, line);
    if (const auto c = obj.find("correct"); c != obj.end() && !c->is_null()) {
      if (!c->is_boolean()) fail(source, line, "correct", "expected true or false");
      r.correct = c->get<bool>();
    }
    for (const char* field : {"prompt", "question"}) {
      if (const auto p = obj.find(field); p != obj.end() && !p->is_null()) {
        if (!p->is_string()) fail(source, line, field, "expected a string");
        r.prompt = p->get<std::string>();
        break;
      }
    }
    if (const auto d = obj.find("dataset"); d != obj.end() && !d->is_null()) {
      if (!d->is_string()) fail(source, line, "dataset", "expected a string");
      r.dataset = d->get<std::string>();
    }
    records.push_back(std::move(r));
  }
  if (records.empty()) throw UsageError(std::string(source) + ": no queries (empty input)");
  return records;
}

bool has_input(const QueryRecord& record, core::PolicyInput input) {
  switch (input) {
    case core::PolicyInput::kTau: return record.tau.has_value();
    case core::PolicyInput::kTeacherTau: return record.teacher_tau.has_value();
    case core::PolicyInput::kTokensNeeded: return record.tokens_needed.has_value();
    case core::PolicyInput::kCorrect: return record.correct.has_value();
    case core::PolicyInput::kSuccessBelief: return false;
  }
  return false;
}

void require_inputs(const std::vector<QueryRecord>& records, std::string_view source,
                    const core::PolicySpec& policy) {
  for (const core::PolicyInput input : policy.required) {
    for (const auto& r : records) {
      if (has_input(r, input)) continue;
      std::string problem = "missing (policy " + std::string(policy.name) + " needs it)";
      if (input == core::PolicyInput::kTau && r.prompt) {
        problem +=
            "; this query has a prompt but no threshold: a threshold predictor is needed "
            "to estimate tau from text (--predictor FILE, made by clearhouse train)";
      }
      fail(source, r.line, core::to_string(input), problem);
    }
  }
}

}  // namespace clearhouse::cli
