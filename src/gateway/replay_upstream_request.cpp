#include "gateway/replay_upstream_request.h"

#include "gateway/replay_upstream_store.h"

namespace clearhouse::gateway {
namespace {

using nlohmann::json;

std::optional<std::int64_t> optional_cap(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 1) {
    throw HttpError(400, std::string("'") + key + "' must be an integer >= 1", {}, key);
  }
  return it->get<std::int64_t>();
}

bool optional_bool(const json& object, const char* key, const char* param) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw HttpError(400, std::string("'") + param + "' must be a boolean", {}, param);
  return it->get<bool>();
}

// A message's content: a string, null, or an array of parts whose "text" parts are joined by "\n".
std::string content_text(const json& content, std::size_t index) {
  if (content.is_null()) return {};
  if (content.is_string()) return content.get<std::string>();
  const std::string param = "messages[" + std::to_string(index) + "].content";
  if (!content.is_array()) throw HttpError(400, "'" + param + "' must be a string or an array", {}, param);
  std::string text;
  for (const json& part : content) {
    if (!part.is_object()) throw HttpError(400, "'" + param + "' parts must be objects", {}, param);
    const auto t = part.find("text");
    if (t == part.end()) continue;  // images and other parts carry no text
    if (!t->is_string()) throw HttpError(400, "'" + param + "' text parts must be strings", {}, param);
    if (!text.empty()) text += '\n';
    text += t->get<std::string>();
  }
  return text;
}

FaultSpec parse_fault(std::string_view spec, const char* where) {
  try {
    return parse_fault_spec(spec);
  } catch (const std::invalid_argument& e) {
    throw HttpError(400, std::string(where) + ": " + e.what(), {}, where);
  }
}

}  // namespace

ReplayRequest parse_replay_request(const HttpRequest& request, bool chat) {
  const json body = parse_json_body(request.body);
  ReplayRequest r;
  r.chat = chat;
  if (const auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) throw HttpError(400, "'model' must be a string", {}, "model");
    r.model = it->get<std::string>();
  }
  if (chat) {
    const auto it = body.find("messages");
    if (it == body.end() || !it->is_array() || it->empty()) {
      throw HttpError(400, "'messages' must be a non-empty array", {}, "messages");
    }
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& message = (*it)[i];
      const std::string param = "messages[" + std::to_string(i) + "]";
      if (!message.is_object() || !message.contains("role") || !message["role"].is_string()) {
        throw HttpError(400, "'" + param + "' must be an object with a string 'role'", {}, param);
      }
      const std::string text = content_text(message.value("content", json()), i);
      r.prompt_chars += count_code_points(text);
      ++r.messages;
      if (message["role"] == "user") r.prompt = text;
    }
  } else {
    const auto it = body.find("prompt");
    const json* prompt = it == body.end() ? nullptr : &*it;
    if (prompt != nullptr && prompt->is_array() && prompt->size() == 1) prompt = &(*prompt)[0];
    if (prompt == nullptr || !prompt->is_string()) {
      throw HttpError(400, "'prompt' must be a string (or an array of one string)", {}, "prompt");
    }
    r.prompt = prompt->get<std::string>();
    r.prompt_chars = count_code_points(r.prompt);
  }
  r.max_tokens = optional_cap(body, "max_tokens");
  r.max_completion_tokens = optional_cap(body, "max_completion_tokens");
  if (const auto it = body.find("n"); it != body.end() && !it->is_null() && *it != 1) {
    throw HttpError(400, "'n' other than 1 is not supported by the replay upstream", {}, "n");
  }
  r.stream = optional_bool(body, "stream", "stream");
  if (const auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw HttpError(400, "'stream_options' must be an object", {}, "stream_options");
    r.include_usage = optional_bool(*it, "include_usage", "stream_options.include_usage");
  }
  json metadata = json::object();
  if (const auto it = body.find("metadata"); it != body.end() && it->is_object()) metadata = *it;
  if (request.has_header("x-replay-qid")) {
    r.qid = std::string(trim(request.header("x-replay-qid")));
  } else if (metadata.contains("qid") && metadata["qid"].is_string()) {
    r.qid = metadata["qid"].get<std::string>();
  }
  if (request.has_header("x-replay-fault")) {
    r.fault = parse_fault(request.header("x-replay-fault"), "x-replay-fault");
  } else if (metadata.contains("replay_fault") && metadata["replay_fault"].is_string()) {
    r.fault = parse_fault(metadata["replay_fault"].get<std::string>(), "metadata.replay_fault");
  }
  return r;
}

}  // namespace clearhouse::gateway
