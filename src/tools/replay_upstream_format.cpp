#include "tools/replay_upstream_format.h"

#include <stdexcept>

namespace clearhouse::tools {
namespace {

using nlohmann::json;

json null_if_empty(std::string_view s) {
  return s.empty() ? json(nullptr) : json(std::string(s));
}

json envelope(ApiKind kind, const CompletionIdentity& identity, bool chunk) {
  const char* object = kind == ApiKind::kChat
                           ? (chunk ? "chat.completion.chunk" : "chat.completion")
                           : "text_completion";
  return json{{"id", identity.id},
              {"object", object},
              {"created", identity.created},
              {"model", identity.model},
              {"system_fingerprint", "clearhouse-replay"}};
}

}  // namespace

UsageShape parse_usage_shape(std::string_view name) {
  for (const UsageShape shape : {UsageShape::kOpenAI, UsageShape::kLlamaCpp,
                                 UsageShape::kVllmContinuous, UsageShape::kNone}) {
    if (name == to_string(shape)) return shape;
  }
  throw std::invalid_argument("unknown usage shape '" + std::string(name) +
                              "' (openai, llamacpp, vllm-continuous or none)");
}

std::string_view to_string(UsageShape shape) {
  switch (shape) {
    case UsageShape::kOpenAI: return "openai";
    case UsageShape::kLlamaCpp: return "llamacpp";
    case UsageShape::kVllmContinuous: return "vllm-continuous";
    case UsageShape::kNone: return "none";
  }
  return "openai";
}

json usage_json(const Usage& usage) {
  json out{{"prompt_tokens", usage.prompt_tokens},
           {"completion_tokens", usage.completion_tokens},
           {"total_tokens", usage.total_tokens()}};
  if (usage.reasoning_tokens) {
    out["completion_tokens_details"] = json{{"reasoning_tokens", *usage.reasoning_tokens}};
  }
  return out;
}

json completion_body(ApiKind kind, const CompletionIdentity& identity, std::string_view text,
                     std::string_view finish_reason, const std::optional<Usage>& usage) {
  json body = envelope(kind, identity, false);
  json choice = {
      {"index", 0}, {"logprobs", nullptr}, {"finish_reason", null_if_empty(finish_reason)}};
  if (kind == ApiKind::kChat) {
    choice["message"] = json{{"role", "assistant"}, {"content", std::string(text)}};
  } else {
    choice["text"] = std::string(text);
  }
  body["choices"] = json::array({choice});
  if (usage) body["usage"] = usage_json(*usage);
  return body;
}

json stream_chunk(ApiKind kind, const CompletionIdentity& identity, std::string_view text,
                  std::string_view finish_reason, bool include_usage, bool role_chunk) {
  json chunk = envelope(kind, identity, true);
  json choice = {
      {"index", 0}, {"logprobs", nullptr}, {"finish_reason", null_if_empty(finish_reason)}};
  if (kind == ApiKind::kChat) {
    json delta = json::object();
    if (role_chunk) {
      delta = json{{"role", "assistant"}, {"content", ""}};
    } else if (!text.empty() || finish_reason.empty()) {
      delta["content"] = std::string(text);
    }
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = std::string(text);
  }
  chunk["choices"] = json::array({choice});
  if (include_usage) chunk["usage"] = nullptr;
  return chunk;
}

json usage_chunk(ApiKind kind, const CompletionIdentity& identity, const Usage& usage) {
  json chunk = envelope(kind, identity, true);
  chunk["choices"] = json::array();
  chunk["usage"] = usage_json(usage);
  return chunk;
}

}  // namespace clearhouse::tools
