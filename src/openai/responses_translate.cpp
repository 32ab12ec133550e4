#include "openai/responses_translate.h"

#include <array>

#include "openai/json_fields.h"

namespace clearhouse::openai {
namespace {

using nlohmann::json;

[[noreturn]] void untranslatable(const std::string& param, const std::string& what) {
  reject_field(param, what +
                          ": this model is served by an upstream that speaks chat completions "
                          "only, which cannot express it (docs/gateway.md, The Responses API)");
}

bool is_empty_array(const json& value) {
  return value.is_array() && value.empty();
}

void check_top_level(const json& body) {
  for (const char* name : {"previous_response_id", "conversation", "prompt", "top_logprobs"}) {
    if (json_field(body, name) != nullptr) untranslatable(name, "is not supported");
  }
  if (const json* background = json_field(body, "background");
      background != nullptr && *background != false) {
    untranslatable("background", "is not supported");
  }
  for (const char* name : {"tools", "include"}) {
    if (const json* v = json_field(body, name); v != nullptr && !is_empty_array(*v)) {
      untranslatable(name, "is not supported");
    }
  }
  if (const json* choice = json_field(body, "tool_choice");
      choice != nullptr && *choice != "auto" && *choice != "none") {
    untranslatable("tool_choice", "is not supported");
  }
  if (const json* truncation = json_field(body, "truncation");
      truncation != nullptr && *truncation != "disabled") {
    untranslatable("truncation", "is not supported (only \"disabled\")");
  }
  if (const json* reasoning = json_field(body, "reasoning")) {
    for (const auto& [key, value] : reasoning->items()) {
      if (key != "effort" && !value.is_null())
        untranslatable("reasoning." + key, "is not supported");
    }
  }
  if (const json* text = json_field(body, "text")) {
    if (!text->is_object()) reject_field("text", "must be an object");
    if (const json* format = json_field(*text, "format")) {
      const json* type = format->is_object() ? json_field(*format, "type") : nullptr;
      if (type == nullptr ||
          (*type != "text" && *type != "json_object" && *type != "json_schema")) {
        untranslatable("text.format", "must be of type text, json_object or json_schema");
      }
    }
  }
}

// A content part as a chat part; throws for what chat cannot carry.
json chat_part(const json& part, const std::string& param) {
  const std::string type = part.value("type", "");
  if (type == "input_text" || type == "output_text") {
    return {{"type", "text"}, {"text", part["text"]}};
  }
  if (type == "input_image") {
    const json* url = json_field(part, "image_url");
    if (url == nullptr || !url->is_string()) {
      untranslatable(param + ".image_url", "an image must be given by URL");
    }
    json image = {{"url", *url}};
    if (const json* detail = json_field(part, "detail")) image["detail"] = *detail;
    return {{"type", "image_url"}, {"image_url", image}};
  }
  untranslatable(param + ".type", "a content part of type '" + type + "' is not supported");
}

// A message item's content as chat content: a string, or the parts (text joined when all are text).
json chat_content(const json& content, const std::string& param) {
  if (content.is_string()) return content;
  json parts = json::array();
  bool text_only = true;
  for (std::size_t j = 0; j < content.size(); ++j) {
    parts.push_back(chat_part(content[j], param + "[" + std::to_string(j) + "]"));
    text_only = text_only && parts.back()["type"] == "text";
  }
  if (!text_only) return parts;
  std::string text;
  for (const json& p : parts) {
    if (!text.empty()) text += '\n';
    text += p["text"].get<std::string>();
  }
  return text;
}

json chat_messages(const json& body) {
  json messages = json::array();
  if (const json* instructions = json_field(body, "instructions")) {
    messages.push_back({{"role", "system"}, {"content", *instructions}});
  }
  const json& input = body["input"];
  if (input.is_string()) {
    messages.push_back({{"role", "user"}, {"content", input}});
    return messages;
  }
  for (std::size_t i = 0; i < input.size(); ++i) {
    const json& item = input[i];
    const std::string param = "input[" + std::to_string(i) + "]";
    const std::string type = item.value("type", "message");
    if (type != "message") untranslatable(param + ".type", "an item of type '" + type + "'");
    std::string role = item["role"].get<std::string>();
    if (role == "developer") role = "system";
    messages.push_back(
        {{"role", role}, {"content", chat_content(item["content"], param + ".content")}});
  }
  return messages;
}

// text.format as chat's response_format (null for plain text).
json response_format(const json& format) {
  const std::string type = format["type"].get<std::string>();
  if (type == "text") return nullptr;
  if (type == "json_object") return {{"type", "json_object"}};
  json schema = json::object();
  for (const char* key : {"name", "schema", "strict", "description"}) {
    if (format.contains(key)) schema[key] = format[key];
  }
  return {{"type", "json_schema"}, {"json_schema", schema}};
}

}  // namespace

void check_chat_translatable(const CompletionRequest& request) {
  check_top_level(request.body);
  // Builds the chat body once: whatever it would throw for is thrown here, at admission, never
  // after the reservation.
  (void)chat_body_from_responses(request, 1, {});
}

json chat_body_from_responses(const CompletionRequest& request, std::int64_t cap,
                              std::string_view upstream_model, const UpstreamLengths& lengths) {
  json chat = request.body;
  for (const char* name :
       {"input", "instructions", "max_output_tokens", "reasoning", "text", "store",
        "parallel_tool_calls", "max_tool_calls", "stream_options", "truncation", "tools",
        "tool_choice", "include", "background", "n", "best_of"}) {
    chat.erase(name);
  }
  chat["messages"] = chat_messages(request.body);
  if (const json* reasoning = json_field(request.body, "reasoning")) {
    if (const json* effort = json_field(*reasoning, "effort")) chat["reasoning_effort"] = *effort;
  }
  if (const json* text = json_field(request.body, "text")) {
    if (const json* format = json_field(*text, "format")) {
      if (json f = response_format(*format); !f.is_null()) chat["response_format"] = std::move(f);
    }
    if (const json* verbosity = json_field(*text, "verbosity")) chat["verbosity"] = *verbosity;
  }
  const CompletionRequest as_chat = completion_request_from_json(std::move(chat), Endpoint::kChat);
  return upstream_body(as_chat, cap, upstream_model, lengths);
}

json response_skeleton(const CompletionRequest& request, std::string_view response_id,
                       std::string_view model, std::int64_t created_at, std::string_view status) {
  const json& body = request.body;
  json r = {{"id", response_id},     {"object", "response"},    {"created_at", created_at},
            {"status", status},      {"error", nullptr},        {"incomplete_details", nullptr},
            {"model", model},        {"output", json::array()}, {"parallel_tool_calls", false},
            {"tool_choice", "none"}, {"tools", json::array()},  {"store", false},
            {"usage", nullptr}};
  for (const char* key : {"instructions", "max_output_tokens", "metadata", "temperature", "top_p",
                          "previous_response_id", "user"}) {
    r[key] = body.contains(key) ? body[key] : json(nullptr);
  }
  r["reasoning"] = body.contains("reasoning") ? body["reasoning"] : json::object();
  r["text"] = body.contains("text") ? body["text"] : json{{"format", {{"type", "text"}}}};
  return r;
}

json responses_usage_from_chat(const json& chat_usage, std::int64_t output_tokens) {
  const auto count = [](const json& object, const char* holder, const char* key) -> std::int64_t {
    if (!object.is_object()) return 0;
    const json* h = holder == nullptr ? &object : json_field(object, holder);
    if (h == nullptr || !h->is_object()) return 0;
    const json* v = json_field(*h, key);
    return v != nullptr && v->is_number_integer() ? v->get<std::int64_t>() : 0;
  };
  const std::int64_t input = count(chat_usage, nullptr, "prompt_tokens");
  return {
      {"input_tokens", input},
      {"input_tokens_details",
       {{"cached_tokens", count(chat_usage, "prompt_tokens_details", "cached_tokens")}}},
      {"output_tokens", output_tokens},
      {"output_tokens_details",
       {{"reasoning_tokens", count(chat_usage, "completion_tokens_details", "reasoning_tokens")}}},
      {"total_tokens", input + output_tokens}};
}

ResponseStatus status_from_finish_reason(const json& finish_reason) {
  if (finish_reason == "length") {
    return {"incomplete", {{"reason", "max_output_tokens"}}};
  }
  if (finish_reason == "content_filter") return {"incomplete", {{"reason", "content_filter"}}};
  return {};
}

json response_from_chat(const json& chat, const CompletionRequest& request,
                        std::string_view response_id, std::int64_t output_tokens) {
  const json* choices = chat.is_object() ? json_field(chat, "choices") : nullptr;
  const json* choice =
      choices != nullptr && choices->is_array() && !choices->empty() ? &(*choices)[0] : nullptr;
  std::string text;
  json finish_reason = nullptr;
  if (choice != nullptr && choice->is_object()) {
    if (const json* message = json_field(*choice, "message"); message != nullptr) {
      if (const json* content = json_field(*message, "content");
          content != nullptr && content->is_string()) {
        text = content->get<std::string>();
      }
    }
    if (const json* reason = json_field(*choice, "finish_reason")) finish_reason = *reason;
  }
  const std::string model = chat.is_object() && chat.contains("model") && chat["model"].is_string()
                                ? chat["model"].get<std::string>()
                                : request.model;
  const std::int64_t created =
      chat.is_object() && chat.contains("created") && chat["created"].is_number_integer()
          ? chat["created"].get<std::int64_t>()
          : 0;
  const ResponseStatus status = status_from_finish_reason(finish_reason);
  json r = response_skeleton(request, response_id, model, created, status.status);
  r["incomplete_details"] = status.incomplete_details;
  r["output"].push_back(
      {{"type", "message"},
       {"id", "msg_" + std::string(response_id)},
       {"status", status.status == "completed" ? "completed" : "incomplete"},
       {"role", "assistant"},
       {"content", {{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}}}}});
  r["usage"] = responses_usage_from_chat(
      chat.is_object() && chat.contains("usage") ? chat["usage"] : json(nullptr), output_tokens);
  return r;
}

std::string responses_param_from_chat(std::string_view chat_param) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kNames = {{
      {"reasoning_effort", "reasoning.effort"},
      {"max_tokens", "max_output_tokens"},
      {"max_completion_tokens", "max_output_tokens"},
      {"messages", "input"},
      {"response_format", "text.format"},
  }};
  for (const auto& [chat, responses] : kNames) {
    if (chat_param == chat) return std::string(responses);
  }
  return std::string(chat_param);
}

}  // namespace clearhouse::openai
