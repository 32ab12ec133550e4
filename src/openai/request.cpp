#include "openai/request.h"

#include <algorithm>
#include <cassert>

#include "base/utf8.h"
#include "openai/json_fields.h"
#include "openai/responses_request.h"

namespace clearhouse::openai {
namespace {

using nlohmann::json;

[[noreturn]] void reject(const std::string& param, const std::string& what) {
  reject_field(param, what);
}

const json* field(const json& object, const char* key) {
  return json_field(object, key);
}

// A message's content: a string, null, or an array of parts whose "text" parts are joined by "\n".
std::string content_text(const json& content, std::size_t index) {
  if (content.is_null()) return {};
  if (content.is_string()) return content.get<std::string>();
  const std::string param = "messages[" + std::to_string(index) + "].content";
  if (!content.is_array()) reject(param, "must be a string or an array of content parts");
  std::string text;
  for (const json& part : content) {
    if (!part.is_object()) reject(param, "parts must be objects");
    const json* t = field(part, "text");
    if (t == nullptr) continue;  // images, audio and other parts carry no text
    if (!t->is_string()) reject(param, "text parts must be strings");
    if (!text.empty()) text += '\n';
    text += t->get_ref<const std::string&>();
  }
  return text;
}

void parse_messages(const json& body, CompletionRequest& r) {
  const json* messages = field(body, "messages");
  if (messages == nullptr || !messages->is_array() || messages->empty()) {
    reject("messages", "must be a non-empty array");
  }
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const json& message = (*messages)[i];
    const std::string param = "messages[" + std::to_string(i) + "]";
    const json* role = message.is_object() ? field(message, "role") : nullptr;
    if (role == nullptr || !role->is_string())
      reject(param, "must be an object with a string 'role'");
    const auto content = message.find("content");
    const std::string text = content_text(content == message.end() ? json() : *content, i);
    r.prompt_chars += base::count_code_points(text);
    ++r.messages;
    if (role->get_ref<const std::string&>() == "user") r.prompt = text;
  }
}

void parse_prompt(const json& body, CompletionRequest& r) {
  const json* prompt = field(body, "prompt");
  if (prompt != nullptr && prompt->is_array()) {
    if (prompt->size() != 1) {
      reject("prompt", "must be a string or an array of one string (send one prompt per request)");
    }
    prompt = &(*prompt)[0];
  }
  if (prompt == nullptr || !prompt->is_string()) {
    reject("prompt", "must be a string (or an array of one string)");
  }
  r.prompt = prompt->get<std::string>();
  r.prompt_chars = base::count_code_points(r.prompt);
}

}  // namespace

std::string_view endpoint_path(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kChat: return "/v1/chat/completions";
    case Endpoint::kCompletions: return "/v1/completions";
    case Endpoint::kResponses: return "/v1/responses";
  }
  return "/v1/chat/completions";
}

std::optional<std::int64_t> CompletionRequest::client_cap() const {
  std::optional<std::int64_t> cap;
  for (const auto& c : {max_tokens, max_completion_tokens, max_output_tokens}) {
    if (c) cap = cap ? std::min(*cap, *c) : *c;
  }
  return cap;
}

std::int64_t CompletionRequest::generations() const {
  return std::max(n, best_of);
}

CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint,
                                           int max_json_depth) {
  return completion_request_from_json(http::parse_json_body(body, max_json_depth), endpoint);
}

CompletionRequest completion_request_from_json(json body, Endpoint endpoint) {
  assert(body.is_object());
  if (endpoint == Endpoint::kResponses) return responses_request_from_json(std::move(body));
  CompletionRequest r;
  r.endpoint = endpoint;
  r.body = std::move(body);
  if (const json* model = field(r.body, "model")) {
    if (!model->is_string()) reject("model", "must be a string");
    r.model = model->get<std::string>();
  }
  if (endpoint == Endpoint::kChat) {
    parse_messages(r.body, r);
  } else {
    parse_prompt(r.body, r);
  }
  r.max_tokens = optional_int_field(r.body, "max_tokens", 1, kMaxClientCap);
  r.max_completion_tokens = optional_int_field(r.body, "max_completion_tokens", 1, kMaxClientCap);
  r.n = optional_int_field(r.body, "n", 1, kMaxChoices).value_or(1);
  r.best_of = optional_int_field(r.body, "best_of", 1, kMaxChoices).value_or(1);
  r.stream = optional_bool_field(r.body, "stream", "stream");
  if (const json* options = field(r.body, "stream_options")) {
    if (!options->is_object()) reject("stream_options", "must be an object");
    r.include_usage =
        optional_bool_field(*options, "include_usage", "stream_options.include_usage");
  }
  if (const json* metadata = field(r.body, "metadata");
      metadata != nullptr && metadata->is_object()) {
    if (const json* dataset = field(*metadata, "dataset");
        dataset != nullptr && dataset->is_string()) {
      r.dataset = dataset->get<std::string>();
    }
  }
  return r;
}

bool is_field_the_gateway_reads(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kRead = {
      "model", "messages", "prompt", "max_tokens",    "max_completion_tokens",
      "n",     "best_of",  "stream", "stream_options"};
  return std::find(kRead.begin(), kRead.end(), name) != kRead.end();
}

std::int64_t thinking_budget(std::int64_t cap, std::int64_t answer_reserve) {
  return std::max<std::int64_t>(0, cap - answer_reserve);
}

json upstream_body(const CompletionRequest& request, std::int64_t cap,
                   std::string_view upstream_model, const UpstreamLengths& lengths) {
  json body = request.body;
  for (const std::string_view name : kVendorLengthFields) body.erase(std::string(name));
  for (const std::string& name : lengths.extra_length_fields) body.erase(name);
  if (!upstream_model.empty()) body["model"] = upstream_model;
  MaxTokensField cap_field = lengths.max_tokens_field;
  if (request.endpoint == Endpoint::kCompletions) cap_field = MaxTokensField::kMaxTokens;
  bool set_max = field(body, "max_tokens") != nullptr;
  bool set_completion_max = field(body, "max_completion_tokens") != nullptr;
  if (cap_field == MaxTokensField::kAsClientSent) {
    set_max = set_max || !set_completion_max;
  } else {
    set_max = cap_field == MaxTokensField::kMaxTokens;
    set_completion_max = !set_max;
  }
  body.erase("max_tokens");
  body.erase("max_completion_tokens");
  if (set_max) body["max_tokens"] = cap;
  if (set_completion_max) body["max_completion_tokens"] = cap;
  if (!lengths.thinking_budget_field.empty()) {
    body[std::string(lengths.thinking_budget_field)] = thinking_budget(cap, lengths.answer_reserve);
  }
  if (request.stream) {
    if (!body.contains("stream_options") || !body["stream_options"].is_object()) {
      body["stream_options"] = json::object();
    }
    body["stream_options"]["include_usage"] = true;
    body["stream_options"].erase("continuous_usage_stats");
  }
  return body;
}

}  // namespace clearhouse::openai
