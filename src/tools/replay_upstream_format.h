// The OpenAI response shapes the replay upstream sends: chat.completion, text_completion, their
// stream chunks and usage, and the usage shapes of the servers it imitates. Pure functions of their
// inputs (no ids or clocks of their own), so tests compare them field by field. (The Responses
// API's shapes: replay_upstream_responses.h.)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace clearhouse::tools {

// /v1/chat/completions, /v1/completions or /v1/responses. The chat-completion shapes below take
// kChat or kCompletion only; kResponses has its own (replay_upstream_responses.h).
enum class ApiKind { kChat, kCompletion, kResponses };

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;  // all generated tokens, reasoning included
  // Of completion_tokens, those reported as reasoning; nullopt leaves completion_tokens_details out
  // (the server is not in reasoning mode).
  std::optional<std::int64_t> reasoning_tokens{};
  [[nodiscard]] std::int64_t total_tokens() const { return prompt_tokens + completion_tokens; }
};

// How a stream reports usage, after the servers the gateway meets (non-streaming answers carry a
// `usage` field in every shape but kNone):
//   kOpenAI          with stream_options.include_usage: every chunk has "usage": null and a last
//                    chunk has "choices": [] and the usage; without it, no usage at all
//   kLlamaCpp        the finish chunk (choices with finish_reason) carries the usage, asked or not
//   kVllmContinuous  every chunk carries the usage so far (vLLM's continuous_usage_stats: counts
//                    grow chunk by chunk), plus OpenAI's last usage chunk when include_usage
//   kNone            no usage anywhere, streamed or not
enum class UsageShape { kOpenAI, kLlamaCpp, kVllmContinuous, kNone };

// "openai" | "llamacpp" | "vllm-continuous" | "none"; throws std::invalid_argument otherwise.
UsageShape parse_usage_shape(std::string_view name);
std::string_view to_string(UsageShape shape);

// Identity shared by a response and all chunks of a stream.
struct CompletionIdentity {
  std::string id;            // "chatcmpl-..." or "cmpl-..."
  std::int64_t created = 0;  // Unix seconds
  std::string model;
};

// {prompt_tokens, completion_tokens, total_tokens}, and completion_tokens_details.reasoning_tokens
// when the usage has a reasoning count.
nlohmann::json usage_json(const Usage& usage);

// A whole non-streaming response; `usage` nullopt leaves the field out.
nlohmann::json completion_body(ApiKind kind, const CompletionIdentity& identity,
                               std::string_view text, std::string_view finish_reason,
                               const std::optional<Usage>& usage);

// A stream chunk. Chat: `role_chunk` sends delta {"role": "assistant", "content": ""}; otherwise
// the delta carries `text` (empty text with a finish_reason gives the empty delta {}). Completion:
// the chunk carries `text`. `finish_reason` empty is null. With include_usage every chunk has
// "usage": null, as OpenAI's do.
nlohmann::json stream_chunk(ApiKind kind, const CompletionIdentity& identity, std::string_view text,
                            std::string_view finish_reason, bool include_usage,
                            bool role_chunk = false);

// The last chunk of a stream with stream_options.include_usage: no choices, the usage.
nlohmann::json usage_chunk(ApiKind kind, const CompletionIdentity& identity, const Usage& usage);

}  // namespace clearhouse::tools
