// The curves file: providers' compute curves as CSV text (parsing only; the caller reads the file).
//
//   provider,price_per_mtok,theta,accuracy,tokens
//   Qwen2-7B,0.20,64,0.05,60.1
//   Qwen2-7B,0.20,256,0.21,190.4
//   ...
//
// Columns may come in any order, extra columns are ignored, fields may be double-quoted. Units:
// price_per_mtok in USD per million output tokens, tokens = mean output tokens per query, accuracy
// in [0, 1], theta the compute knob. One provider's rows are contiguous, in strictly increasing
// theta, with one price; every provider has the same number of levels; at least two providers.
// Any violation yields an error naming the line (1-based, the header is line 1) and the field.
//
// Example:
//   CurvesParse parsed = parse_curves_csv(text, "curves.csv");
//   if (!parsed.ok()) fail(parsed.error);   // e.g. "curves.csv line 7: accuracy 1.3 outside [0,
//   1]"
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "market/provider.h"

namespace clearhouse::market {

struct CurvesParse {
  std::vector<Provider> providers;
  std::string error;  // empty on success
  [[nodiscard]] bool ok() const { return error.empty(); }
};

inline constexpr std::string_view kCurvesHeader = "provider,price_per_mtok,theta,accuracy,tokens";

// `source` names the text in messages (a file path).
[[nodiscard]] CurvesParse parse_curves_csv(std::string_view text, std::string_view source);

// The CSV text of providers, header first, numbers with 17 significant digits where needed.
[[nodiscard]] std::string format_curves_csv(const std::vector<Provider>& providers);

// Splits one CSV line on commas, honouring double quotes ("" inside quotes is a quote). Returns
// false on an unterminated quote.
[[nodiscard]] bool split_csv_line(std::string_view line, std::vector<std::string>& fields);

}  // namespace clearhouse::market
