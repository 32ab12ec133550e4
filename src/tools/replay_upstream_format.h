// The OpenAI response shapes the replay upstream sends: chat.completion, text_completion, their
// stream chunks and usage. Pure functions of their inputs (no ids or clocks of their own), so tests
// compare them field by field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace clearhouse::tools {

enum class ApiKind { kChat, kCompletion };  // /v1/chat/completions or /v1/completions

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  [[nodiscard]] std::int64_t total_tokens() const { return prompt_tokens + completion_tokens; }
};

// Identity shared by a response and all chunks of a stream.
struct CompletionIdentity {
  std::string id;            // "chatcmpl-..." or "cmpl-..."
  std::int64_t created = 0;  // Unix seconds
  std::string model;
};

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
