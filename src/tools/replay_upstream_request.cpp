#include "tools/replay_upstream_request.h"

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

}  // namespace

ReplayRequest parse_replay_request(const http::HttpRequest& request, bool chat) {
  const openai::CompletionRequest c = openai::parse_completion_request(
      request.body, chat ? openai::Endpoint::kChat : openai::Endpoint::kCompletions);
  if (c.generations() != 1) {
    throw http::HttpError(400, "'n' other than 1 is not supported by the replay upstream", {}, "n");
  }
  ReplayRequest r;
  r.chat = chat;
  r.model = c.model;
  r.prompt = c.prompt;
  r.prompt_chars = c.prompt_chars;
  r.messages = c.messages;
  r.max_tokens = c.max_tokens;
  r.max_completion_tokens = c.max_completion_tokens;
  r.stream = c.stream;
  r.include_usage = c.include_usage;
  const json& body = c.body;
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
