// Parsing a request of the replay upstream (chat, completions, responses): what it asks for,
// validated, with errors as HttpError 400 naming the offending field (OpenAI's "param").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "http/http.h"
#include "tools/replay_upstream_fault.h"
#include "tools/replay_upstream_format.h"

namespace clearhouse::tools {

struct ReplayRequest {
  ApiKind api = ApiKind::kChat;
  std::string model;  // as requested ("" when absent)
  // The last user message (chat, responses), the prompt (completions) or the input string
  // (responses).
  std::string prompt;
  std::int64_t prompt_chars = 0;  // code points of all messages (and instructions) / the prompt
  std::int64_t messages = 0;      // chat messages or input items (0 for completions)
  std::optional<std::int64_t> max_tokens;  // responses: max_output_tokens
  std::optional<std::int64_t> max_completion_tokens;
  bool stream = false;
  bool include_usage = false;      // stream_options.include_usage (never for responses)
  std::string qid;                 // x-replay-qid header or metadata.qid; "" when absent
  std::optional<FaultSpec> fault;  // x-replay-fault header or metadata.replay_fault
  // Continuation: the text of a final assistant message sent with continue_final_message: true
  // (chat). nullopt: a fresh request. (A continued completion is recognised by the handler, which
  // knows the recorded question.)
  std::optional<std::string> assistant_prefix;
};

// Parsed with parse_completion_request (openai/request.h), so the replay upstream validates exactly
// as the gateway does. Throws HttpError (400) for invalid JSON, a missing or malformed `messages` /
// `prompt`, caps that are not integers >= 1, `n` other than 1, or a bad fault spec.
ReplayRequest parse_replay_request(const http::HttpRequest& request, bool chat);

// POST /v1/responses: `model`, `input` (a string, or a list of message items {role, content:
// string | [{type: input_text | output_text, text}]}, `type` "message" or absent), `instructions`
// (string; counted as a prompt message), `max_output_tokens` (integer >= 1), `stream` (boolean);
// `reasoning` (an object) and other fields are accepted and ignored. qid and fault as for chat.
// Throws HttpError 400 naming the field: a missing or malformed `input`, an item of another type
// (`input[i].type`), a content part other than text (`input[i].content[j].type`), a bad cap.
ReplayRequest parse_responses_request(const http::HttpRequest& request);

}  // namespace clearhouse::tools
