// A client's OpenAI Responses API request (POST /v1/responses), parsed and validated into the
// CompletionRequest the gateway admits every request as (request.h: endpoint kResponses, the
// client's body kept whole), and rebuilt for an upstream that serves the Responses API itself.
// (An upstream that serves only chat completions gets it translated: responses_translate.h.)
//
// Read: `model`; `input`, a string or a non-empty array of items (messages, with or without
// "type": "message", and the Responses API's other item types: function calls and their outputs,
// reasoning, item references, ...); `instructions` (a string); `max_output_tokens`, the client's
// cap, an integer in [1, kMaxClientCap] (like max_completion_tokens: the upstream gets the smaller
// of it and the gateway's, never more); `reasoning` (an object whose `effort` must be a string;
// its value is the upstream's to accept or refuse); `stream` (a boolean); `metadata.dataset` (a
// predictor hint). Every other field is passed through. Invalid requests throw HttpError 400 whose
// `param` names the field ("input[2].type", "max_output_tokens", "reasoning.effort").
//
// The prompt the predictor sees is the text of the last user message (the string `input`);
// prompt_chars counts the instructions and every message's text. n and best_of are 1: a Responses
// request generates one answer.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "openai/request.h"
#include "openai/usage.h"

namespace clearhouse::openai {

// The input item types of the Responses API besides messages: valid in `input` (a Responses
// upstream understands them), refused by the translation to chat (responses_translate.h).
inline constexpr std::array<std::string_view, 20> kResponsesItemTypes = {
    "function_call",
    "function_call_output",
    "reasoning",
    "item_reference",
    "file_search_call",
    "web_search_call",
    "computer_call",
    "computer_call_output",
    "image_generation_call",
    "code_interpreter_call",
    "local_shell_call",
    "local_shell_call_output",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
    "custom_tool_call",
    "custom_tool_call_output",
    "shell_call",
    "shell_call_output",
};

// The content part types a message item may hold.
inline constexpr std::array<std::string_view, 8> kResponsesPartTypes = {
    "input_text",  "output_text", "input_image",  "input_file",
    "input_audio", "refusal",     "summary_text", "reasoning_text",
};

// Parses and validates a Responses request body (a JSON object); throws HttpError 400.
[[nodiscard]] CompletionRequest responses_request_from_json(nlohmann::json body);

// The body for an upstream serving the Responses API: the client's, with `model` replaced by
// upstream_model (when not empty), max_output_tokens set to `cap`, the other length fields
// (kVendorLengthFields, max_tokens, max_completion_tokens, lengths.extra_length_fields) removed,
// and the thinking budget field set when the upstream declares one (lengths.max_tokens_field does
// not apply: the Responses API has one cap field).
[[nodiscard]] nlohmann::json responses_upstream_body(const CompletionRequest& request,
                                                     std::int64_t cap,
                                                     std::string_view upstream_model,
                                                     const UpstreamLengths& lengths = {});

// The text of a Response object's output (output_text and reasoning parts, joined), for an
// estimate when it reports no usage.
[[nodiscard]] std::string responses_output_text(const nlohmann::json& response);

}  // namespace clearhouse::openai
