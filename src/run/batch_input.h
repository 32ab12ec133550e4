// The input of `clearhouse run`: a JSONL batch, one query per line, in either of two formats (a
// file may mix them):
//
//   OpenAI Batch API:  {"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions",
//                       "body": {"model": "...", "messages": [...], "max_tokens": 512}}
//                      url is "/v1/chat/completions" or "/v1/completions"; method must be POST.
//   clearhouse query:  {"id": "q1", "prompt": "..." | "messages": [...], "tau": 180,
//                       "max_tokens": 512}
//                      a prompt becomes one user message of a chat request.
// Both formats may add, at the top level: tau (tokens, > 0), the query's predicted length, used as
// its prior and by the one-shot policies; dataset (a non-empty string, e.g. "gsm"), the workload
// the query comes from, which the predictor and its calibration use as `clearhouse bench` does
// (without it, the body's metadata.dataset, the hint the gateway reads).
//
// Every error is a RunInputError whose message names "file:line: field: what" (line 1-based; blank
// lines are skipped but counted): a line that is not a JSON object, a missing or duplicate id, an
// unknown url or method, a body that is not an object, a request the OpenAI parser refuses (its
// `param` is the field), a missing model (none in the body and no default), a bad tau or
// max_tokens. Pure: no I/O; the caller reads the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "openai/request.h"

namespace clearhouse::run {

class RunInputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class LineFormat { kBatchApi, kQuery };

struct BatchQuery {
  std::size_t line = 0;  // 1-based line of the input file
  LineFormat format = LineFormat::kBatchApi;
  std::string id;  // custom_id or id, unique in the file
  openai::Endpoint endpoint = openai::Endpoint::kChat;
  nlohmann::json body;  // the request body to send (model filled in), never streamed
  std::string prompt;   // the last user message or the prompt (for the predictor)
  std::optional<std::int64_t> client_cap;  // the request's own max_tokens; never raised
  std::optional<double> tau;               // tokens, > 0
  std::string dataset;                     // "" = not given
};

// Parses a whole file's text. default_model fills a body without "model" ("" = none: an error).
[[nodiscard]] std::vector<BatchQuery> parse_batch(std::string_view text, std::string_view file,
                                                  std::string_view default_model);

}  // namespace clearhouse::run
