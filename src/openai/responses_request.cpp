#include "openai/responses_request.h"

#include <algorithm>
#include <cassert>

#include "base/utf8.h"
#include "openai/json_fields.h"

namespace clearhouse::openai {
namespace {

using nlohmann::json;

bool listed(std::span<const std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The text of a message item's content: a string, or the text of its parts joined by "\n".
std::string message_text(const json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) reject_field(param, "must be a string or an array of content parts");
  std::string text;
  for (std::size_t j = 0; j < content.size(); ++j) {
    const json& part = content[j];
    const std::string part_param = param + "[" + std::to_string(j) + "]";
    const json* type = part.is_object() ? json_field(part, "type") : nullptr;
    if (type == nullptr || !type->is_string()) {
      reject_field(part_param, "must be an object with a string 'type'");
    }
    const std::string& name = type->get_ref<const std::string&>();
    if (!listed(kResponsesPartTypes, name)) {
      reject_field(part_param + ".type", "is not a content part type: '" + name + "'");
    }
    const json* t = json_field(part, name == "refusal" ? "refusal" : "text");
    const bool carries_text = name.ends_with("_text") || name == "refusal";
    if (!carries_text) continue;  // images, files and audio carry no text
    if (t == nullptr || !t->is_string()) {
      reject_field(part_param + (name == "refusal" ? ".refusal" : ".text"), "must be a string");
    }
    if (!text.empty()) text += '\n';
    text += t->get_ref<const std::string&>();
  }
  return text;
}

// One item of an `input` array: a message (counted into the prompt) or another known item type.
void parse_item(const json& item, std::size_t i, CompletionRequest& r) {
  const std::string param = "input[" + std::to_string(i) + "]";
  if (!item.is_object()) reject_field(param, "must be an object (a message or an input item)");
  const json* type = json_field(item, "type");
  if (type != nullptr && !type->is_string()) reject_field(param + ".type", "must be a string");
  const std::string kind = type == nullptr ? "message" : type->get<std::string>();
  if (kind != "message") {
    if (!listed(kResponsesItemTypes, kind)) {
      reject_field(param + ".type", "is not an input item type: '" + kind + "'");
    }
    return;
  }
  const json* role = json_field(item, "role");
  if (role == nullptr || !role->is_string()) reject_field(param + ".role", "must be a string");
  const std::string& who = role->get_ref<const std::string&>();
  if (who != "user" && who != "assistant" && who != "system" && who != "developer") {
    reject_field(param + ".role", "must be one of user, assistant, system, developer");
  }
  const json* content = json_field(item, "content");
  if (content == nullptr) reject_field(param + ".content", "is required");
  const std::string text = message_text(*content, param + ".content");
  r.prompt_chars += base::count_code_points(text);
  ++r.messages;
  if (who == "user") r.prompt = text;
}

void parse_input(const json& body, CompletionRequest& r) {
  const json* input = json_field(body, "input");
  if (input == nullptr) reject_field("input", "is required: a string or an array of input items");
  if (input->is_string()) {
    r.prompt = input->get<std::string>();
    r.prompt_chars += base::count_code_points(r.prompt);
    r.messages = 1;
    return;
  }
  if (!input->is_array() || input->empty()) {
    reject_field("input", "must be a string or a non-empty array of input items");
  }
  for (std::size_t i = 0; i < input->size(); ++i) parse_item((*input)[i], i, r);
}

void parse_reasoning(const json& body) {
  const json* reasoning = json_field(body, "reasoning");
  if (reasoning == nullptr) return;
  if (!reasoning->is_object()) reject_field("reasoning", "must be an object");
  const json* effort = json_field(*reasoning, "effort");
  if (effort != nullptr && !effort->is_string()) {
    reject_field("reasoning.effort", "must be a string (such as \"low\", \"medium\", \"high\")");
  }
}

}  // namespace

CompletionRequest responses_request_from_json(json body) {
  assert(body.is_object());
  CompletionRequest r;
  r.endpoint = Endpoint::kResponses;
  r.body = std::move(body);
  if (const json* model = json_field(r.body, "model")) {
    if (!model->is_string()) reject_field("model", "must be a string");
    r.model = model->get<std::string>();
  }
  if (const json* instructions = json_field(r.body, "instructions")) {
    if (!instructions->is_string()) reject_field("instructions", "must be a string");
    r.prompt_chars += base::count_code_points(instructions->get_ref<const std::string&>());
  }
  parse_input(r.body, r);
  r.max_output_tokens = optional_int_field(r.body, "max_output_tokens", 1, kMaxClientCap);
  parse_reasoning(r.body);
  r.stream = optional_bool_field(r.body, "stream", "stream");
  if (const json* metadata = json_field(r.body, "metadata");
      metadata != nullptr && metadata->is_object()) {
    if (const json* dataset = json_field(*metadata, "dataset");
        dataset != nullptr && dataset->is_string()) {
      r.dataset = dataset->get<std::string>();
    }
  }
  return r;
}

json responses_upstream_body(const CompletionRequest& request, std::int64_t cap,
                             std::string_view upstream_model, const UpstreamLengths& lengths) {
  json body = request.body;
  for (const std::string_view name : kVendorLengthFields) body.erase(std::string(name));
  for (const std::string& name : lengths.extra_length_fields) body.erase(name);
  body.erase("max_tokens");
  body.erase("max_completion_tokens");
  body.erase("n");  // one answer per request: the reservation holds one cap
  body.erase("best_of");
  if (!upstream_model.empty()) body["model"] = upstream_model;
  body["max_output_tokens"] = cap;
  if (!lengths.thinking_budget_field.empty()) {
    body[std::string(lengths.thinking_budget_field)] = thinking_budget(cap, lengths.answer_reserve);
  }
  return body;
}

std::string responses_output_text(const json& response) {
  std::string text;
  if (!response.is_object()) return text;
  const auto output = response.find("output");
  if (output == response.end() || !output->is_array()) return text;
  for (const json& item : *output) {
    if (!item.is_object()) continue;
    for (const char* holder : {"content", "summary"}) {
      const auto parts = item.find(holder);
      if (parts == item.end() || !parts->is_array()) continue;
      for (const json& part : *parts) {
        if (!part.is_object()) continue;
        const auto t = part.find("text");
        if (t != part.end() && t->is_string()) text += t->get_ref<const std::string&>();
      }
    }
  }
  return text;
}

}  // namespace clearhouse::openai
