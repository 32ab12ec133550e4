// What `clearhouse run` sends and writes: the body of one slice of a query (with continuation), the
// reading of an answer, and the Batch API output line of a query.
//
// Continuation on the wire (a query continued from its text so far):
//   /v1/completions        the prompt followed by the text so far (the prompt must be a string)
//   /v1/chat/completions   a final assistant message holding the text so far, with
//                          continue_final_message: true, add_generation_prompt: false (vLLM's
//                          fields; llama.cpp's server continues a final assistant message)
// Every slice sets max_tokens (and max_completion_tokens when the line had it) to the slice's cap
// and is never streamed.
//
// Tokens: usage.completion_tokens as reported, else estimated from the text (one per four code
// points, openai::estimate_tokens_from_text), never above the cap. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "run/batch_input.h"
#include "run/run_state.h"

namespace clearhouse::run {

// The body of a request for `query` continued from `text_so_far` ("" = first slice), capped at cap.
[[nodiscard]] nlohmann::json slice_body(const BatchQuery& query, const std::string& text_so_far,
                                        std::int64_t cap);

// Whether a line can be continued on the wire (a completions prompt that is not a string cannot).
[[nodiscard]] bool can_continue(const BatchQuery& query);

struct SliceAnswer {
  std::int64_t tokens = 0;  // completion tokens charged, <= cap
  bool usage_reported = false;
  std::string text;       // the text this slice generated
  bool finished = false;  // finish_reason is not "length"
  nlohmann::json body;    // the response, parsed
};

// nullopt when the body is not a completion response (no choices).
[[nodiscard]] std::optional<SliceAnswer> read_answer(std::string_view body, std::int64_t cap);

// The Batch API output line (one JSON object, no newline) of query number `index`:
// {"id", "custom_id", "response": {"status_code", "request_id", "body"} | null,
//  "error": {"code", "message"} | null, "clearhouse": {...}}. The body is the last response with
// the whole text and the usage summed over rounds. abandoned: never answered, budget spent.
// last_body: state.last_body already parsed (null: parse it).
[[nodiscard]] std::string output_line(const BatchQuery& query, std::size_t index,
                                      const QueryState& state, bool abandoned,
                                      nlohmann::json last_body = nullptr);

}  // namespace clearhouse::run
