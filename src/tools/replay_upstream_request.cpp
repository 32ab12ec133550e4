#include "tools/replay_upstream_request.h"

#include <cmath>
#include <limits>

#include "base/utf8.h"
#include "openai/request.h"
#include "tools/replay_upstream_store.h"

namespace clearhouse::tools {
namespace {

using nlohmann::json;

FaultSpec parse_fault(std::string_view spec, const char* where) {
  try {
    return parse_fault_spec(spec);
  } catch (const std::invalid_argument& e) {
    throw http::HttpError(400, std::string(where) + ": " + e.what(), {}, where);
  }
}

[[noreturn]] void reject(const std::string& param, const std::string& message) {
  throw http::HttpError(400, "'" + param + "' " + message, {}, param);
}

// The request's qid and fault, from headers first, then the body's metadata.
void read_qid_and_fault(const http::HttpRequest& request, const json& body, ReplayRequest& r) {
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
}

// max_output_tokens: absent or null, or an integer >= 1 (512.0 counts as an integer, 512.5 not).
std::optional<std::int64_t> read_max_output_tokens(const json& body) {
  const auto it = body.find("max_output_tokens");
  if (it == body.end() || it->is_null()) return std::nullopt;
  constexpr auto kMax = std::numeric_limits<std::int32_t>::max();
  if (it->is_number_unsigned() && it->get<std::uint64_t>() >= 1 && it->get<std::uint64_t>() <= kMax)
    return static_cast<std::int64_t>(it->get<std::uint64_t>());
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (d >= 1 && d <= kMax && d == std::floor(d)) return static_cast<std::int64_t>(d);
  }
  reject("max_output_tokens", "must be an integer in [1, " + std::to_string(kMax) + "]");
}

// A message item's content: a string, or text parts (input_text, output_text) joined by "\n".
std::string item_text(const json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) reject(param, "must be a string or an array of content parts");
  std::string text;
  for (std::size_t j = 0; j < content.size(); ++j) {
    const json& part = content[j];
    const std::string at = param + "[" + std::to_string(j) + "]";
    if (!part.is_object()) reject(at, "must be an object");
    const json type = part.value("type", json());
    if (type != "input_text" && type != "output_text") {
      reject(at + ".type",
             "must be 'input_text' or 'output_text' (the replay upstream reads text)");
    }
    if (!part.contains("text") || !part["text"].is_string())
      reject(at + ".text", "must be a string");
    if (j > 0) text += "\n";
    text += part["text"].get<std::string>();
  }
  return text;
}

// `input` as a list of message items: the prompt is the last user message's text.
void read_input_items(const json& input, ReplayRequest& r) {
  if (input.empty()) reject("input", "must not be empty");
  for (std::size_t i = 0; i < input.size(); ++i) {
    const json& item = input[i];
    const std::string at = "input[" + std::to_string(i) + "]";
    if (!item.is_object()) reject(at, "must be an object");
    if (const auto type = item.find("type"); type != item.end() && *type != "message") {
      reject(at + ".type", "must be 'message' (the replay upstream reads messages only)");
    }
    const json role = item.value("role", json());
    if (role != "user" && role != "assistant" && role != "system" && role != "developer") {
      reject(at + ".role", "must be 'user', 'assistant', 'system' or 'developer'");
    }
    if (!item.contains("content")) reject(at + ".content", "is required");
    const std::string text = item_text(item["content"], at + ".content");
    r.prompt_chars += base::count_code_points(text);
    ++r.messages;
    if (role == "user") r.prompt = text;
  }
}

}  // namespace

ReplayRequest parse_responses_request(const http::HttpRequest& request) {
  const json body = http::parse_json_body(request.body);
  ReplayRequest r;
  r.api = ApiKind::kResponses;
  if (const auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) reject("model", "must be a string");
    r.model = it->get<std::string>();
  }
  const auto input = body.find("input");
  if (input == body.end() || input->is_null()) reject("input", "is required");
  if (input->is_string()) {
    r.prompt = input->get<std::string>();
    r.prompt_chars = base::count_code_points(r.prompt);
    r.messages = 1;  // a string input is one user message
  } else if (input->is_array()) {
    read_input_items(*input, r);
  } else {
    reject("input", "must be a string or an array of input items");
  }
  if (const auto it = body.find("instructions"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) reject("instructions", "must be a string");
    r.prompt_chars += base::count_code_points(it->get_ref<const std::string&>());
    ++r.messages;
  }
  if (const auto it = body.find("reasoning");
      it != body.end() && !it->is_null() && !it->is_object()) {
    reject("reasoning", "must be an object");
  }
  r.max_tokens = read_max_output_tokens(body);
  if (const auto it = body.find("stream"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) reject("stream", "must be a boolean");
    r.stream = it->get<bool>();
  }
  read_qid_and_fault(request, body, r);
  return r;
}

ReplayRequest parse_replay_request(const http::HttpRequest& request, bool chat) {
  const openai::CompletionRequest c = openai::parse_completion_request(
      request.body, chat ? openai::Endpoint::kChat : openai::Endpoint::kCompletions);
  if (c.generations() != 1) {
    throw http::HttpError(400, "'n' other than 1 is not supported by the replay upstream", {}, "n");
  }
  ReplayRequest r;
  r.api = chat ? ApiKind::kChat : ApiKind::kCompletion;
  r.model = c.model;
  r.prompt = c.prompt;
  r.prompt_chars = c.prompt_chars;
  r.messages = c.messages;
  r.max_tokens = c.max_tokens;
  r.max_completion_tokens = c.max_completion_tokens;
  r.stream = c.stream;
  r.include_usage = c.include_usage;
  const json& body = c.body;
  read_qid_and_fault(request, body, r);
  const auto messages = body.find("messages");
  if (chat && messages != body.end() && messages->is_array() && !messages->empty() &&
      messages->back().is_object() && messages->back().value("role", json()) == "assistant" &&
      messages->back().value("content", json()).is_string() &&
      body.value("continue_final_message", json()) == true) {
    r.assistant_prefix = messages->back()["content"].get<std::string>();
  }
  return r;
}

}  // namespace clearhouse::tools
