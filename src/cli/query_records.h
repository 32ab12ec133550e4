// One query of `clearhouse allocate`'s JSONL input, parsed and validated at the edge.
//
// Fields: id (string or number, unique), tau (tokens, > 0), optional alpha and beta (utility
// overrides, > 0), value (scaled utility's peak value, > 0), teacher_tau (TALE-EP's teacher
// estimate, tokens, > 0), tokens_needed (oracle: true length, tokens, >= 0) and correct (oracle:
// bool), prompt or question (text, for a threshold predictor), dataset (workload name, for the
// predictor). Blank lines are skipped.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy_registry.h"

namespace clearhouse::cli {

struct QueryRecord {
  std::size_t line = 0;  // 1-based line in the input
  nlohmann::json id;
  std::optional<double> tau;
  std::optional<double> alpha;
  std::optional<double> beta;
  std::optional<double> value;
  std::optional<double> teacher_tau;
  std::optional<double> tokens_needed;
  std::optional<bool> correct;
  std::optional<std::string> prompt;
  std::optional<std::string> dataset;  // workload name (e.g. "gsm"), helps a threshold predictor
};

// Parses every non-blank line. Throws UsageError "<source>:<line>: field '<f>': ..." on a malformed
// line, a wrong type, a non-finite or out-of-range number, or a duplicate id; and on empty input.
[[nodiscard]] std::vector<QueryRecord> parse_query_records(std::string_view text,
                                                           std::string_view source);

// Throws UsageError "<source>:<line>: field '<f>': missing ..." for the first record without an
// input that `policy` requires (core::PolicySpec::required).
void require_inputs(const std::vector<QueryRecord>& records, std::string_view source,
                    const core::PolicySpec& policy);

// Whether the record carries `input` (success_belief: never; allocate's JSONL has no such field).
[[nodiscard]] bool has_input(const QueryRecord& record, core::PolicyInput input);

}  // namespace clearhouse::cli
