// The translation between the Responses API and chat completions, for an upstream that serves only
// chat completions (`api: chat` in the gateway's config): the client's Responses request becomes a
// chat request, and the upstream's chat answer becomes a Response object. (The stream's events are
// translated by responses_stream.h.)
//
// Request:  instructions                  -> a first "system" message
//           input (string)                -> one "user" message
//           input message items           -> messages (role "developer" -> "system"); text parts
//                                            joined by "\n", input_image (by URL) -> image_url
//           max_output_tokens             -> max_tokens, set to the gateway's cap (request.h)
//           reasoning.effort              -> reasoning_effort
//           text.format                   -> response_format (text, json_object, json_schema)
//           text.verbosity                -> verbosity
//           store, parallel_tool_calls,   -> dropped (nothing to store; no tools to call; one
//           n, best_of                       answer per request)
//           max_tool_calls, stream_options,
//           truncation "disabled"
//           every other field             -> passed through unchanged (temperature, top_p, user,
//                                            metadata, seed, ...)
// Refused with a 400 naming the field, because chat completions cannot express it:
//           previous_response_id, conversation, background: true, prompt (templates), non-empty
//           tools or include, tool_choice other than "auto" / "none", truncation "auto",
//           top_logprobs, reasoning fields other than effort; input items other than messages
//           (function calls and outputs, reasoning, item references, ...); content parts other
//           than text and images by URL (files, audio, refusals, images by file_id).
//
// Answer:   choices[0].message.content    -> one "message" output item with one output_text part
//           finish_reason "length"        -> status "incomplete",
//                                            incomplete_details.reason "max_output_tokens"
//           finish_reason "content_filter"-> status "incomplete", reason "content_filter"
//           usage                         -> input_tokens, output_tokens (what the gateway
//                                            settled), output_tokens_details.reasoning_tokens,
//                                            total_tokens
// Reasoning text a chat upstream returns (reasoning_content) is not carried over; its tokens are.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "openai/request.h"

namespace clearhouse::openai {

// Throws HttpError 400 (param: the field) when `request` (a kResponses request) holds anything the
// translation to chat cannot express (the list above).
void check_chat_translatable(const CompletionRequest& request);

// The chat completions body for `request` (which must pass check_chat_translatable), built as
// request.h's upstream_body builds one (the cap in the upstream's cap field, the length fields
// removed, a thinking budget when the upstream declares one, usage asked for in streams).
[[nodiscard]] nlohmann::json chat_body_from_responses(const CompletionRequest& request,
                                                      std::int64_t cap,
                                                      std::string_view upstream_model,
                                                      const UpstreamLengths& lengths = {});

// The Response object of a chat answer. `response_id` names it ("resp_..."); `output_tokens` is
// the count the gateway settled (the upstream's usage, or its estimate when it reported none), so
// the client is told what it was charged.
[[nodiscard]] nlohmann::json response_from_chat(const nlohmann::json& chat,
                                                const CompletionRequest& request,
                                                std::string_view response_id,
                                                std::int64_t output_tokens);

// A Response object's common fields for `request`: id, object, created_at, status, model, the
// echoed settings (instructions, max_output_tokens, reasoning, metadata, temperature, top_p, text),
// and empty output. Shared by the whole answer and the stream's events.
[[nodiscard]] nlohmann::json response_skeleton(const CompletionRequest& request,
                                               std::string_view response_id, std::string_view model,
                                               std::int64_t created_at, std::string_view status);

// The Responses usage object from a chat usage (may be null) and the settled output tokens.
[[nodiscard]] nlohmann::json responses_usage_from_chat(const nlohmann::json& chat_usage,
                                                       std::int64_t output_tokens);

// The status and incomplete_details of a chat finish_reason ("length" -> incomplete,
// max_output_tokens; "content_filter" -> incomplete, content_filter; else completed, null).
struct ResponseStatus {
  std::string status = "completed";
  nlohmann::json incomplete_details = nullptr;
};
[[nodiscard]] ResponseStatus status_from_finish_reason(const nlohmann::json& finish_reason);

// A chat request field named in an upstream's error (`param`), as the Responses field the client
// sent: reasoning_effort -> reasoning.effort, max_tokens -> max_output_tokens, messages -> input,
// response_format -> text.format; other names unchanged.
[[nodiscard]] std::string responses_param_from_chat(std::string_view chat_param);

}  // namespace clearhouse::openai
