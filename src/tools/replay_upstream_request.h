// Parsing a completion request for the replay upstream: what it asks for, validated, with errors as
// HttpError 400 naming the offending field (OpenAI's "param").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "http/http.h"
#include "tools/replay_upstream_fault.h"

namespace clearhouse::tools {

struct ReplayRequest {
  bool chat = true;               // /v1/chat/completions (else /v1/completions)
  std::string model;              // as requested ("" when absent)
  std::string prompt;             // last user message (chat) or the prompt (completions)
  std::int64_t prompt_chars = 0;  // code points of all messages / the prompt
  std::int64_t messages = 0;      // chat messages (0 for completions)
  std::optional<std::int64_t> max_tokens;
  std::optional<std::int64_t> max_completion_tokens;
  bool stream = false;
  bool include_usage = false;      // stream_options.include_usage
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

}  // namespace clearhouse::tools
