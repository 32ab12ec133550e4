#include "tools/replay_upstream_responses.h"

#include "http/sse.h"

namespace clearhouse::tools {
namespace {

using nlohmann::json;

json output_text_part(std::string_view text) {
  return json{{"type", "output_text"}, {"text", std::string(text)}, {"annotations", json::array()}};
}

json reasoning_item(const ResponseIdentity& identity) {
  return json{{"type", "reasoning"}, {"id", identity.reasoning_id}, {"summary", json::array()}};
}

// The assistant message; `status` "in_progress" has no content yet.
json message_item(const ResponseIdentity& identity, std::string_view status,
                  std::string_view text) {
  json content = json::array();
  if (status != "in_progress") content.push_back(output_text_part(text));
  return json{{"type", "message"},
              {"id", identity.message_id},
              {"status", std::string(status)},
              {"role", "assistant"},
              {"content", std::move(content)}};
}

std::string_view final_status(const ResponseOutcome& outcome) {
  return outcome.incomplete ? "incomplete" : "completed";
}

// The response object in a given state; `output` and `usage` as they stand then.
json response_object(const ResponseIdentity& identity, std::string_view status, json output,
                     const std::optional<Usage>& usage) {
  json incomplete_details = nullptr;
  if (status == "incomplete") incomplete_details = json{{"reason", "max_output_tokens"}};
  return json{{"id", identity.id},
              {"object", "response"},
              {"created_at", identity.created_at},
              {"status", std::string(status)},
              {"error", nullptr},
              {"incomplete_details", std::move(incomplete_details)},
              {"model", identity.model},
              {"output", std::move(output)},
              {"usage", usage ? response_usage_json(*usage) : json(nullptr)}};
}

}  // namespace

json response_usage_json(const Usage& usage) {
  return json{{"input_tokens", usage.prompt_tokens},
              {"input_tokens_details", {{"cached_tokens", 0}}},
              {"output_tokens", usage.completion_tokens},
              {"output_tokens_details", {{"reasoning_tokens", usage.reasoning_tokens.value_or(0)}}},
              {"total_tokens", usage.total_tokens()}};
}

json response_body(const ResponseIdentity& identity, std::string_view text,
                   const ResponseOutcome& outcome) {
  json output = json::array();
  if (outcome.reasoning_item) output.push_back(reasoning_item(identity));
  output.push_back(message_item(identity, final_status(outcome), text));
  return response_object(identity, final_status(outcome), std::move(output), outcome.usage);
}

std::string sse_event(const json& event) {
  return "event: " + event["type"].get<std::string>() + "\n" + http::sse_data(event.dump());
}

ResponseEvents::ResponseEvents(ResponseIdentity identity, ResponseOutcome outcome)
    : identity_(std::move(identity)),
      outcome_(std::move(outcome)),
      message_index_(outcome_.reasoning_item ? 1 : 0) {}

json ResponseEvents::event(std::string_view type, json fields) {
  json e = {{"type", std::string(type)}, {"sequence_number", sequence_++}};
  e.update(fields);
  return e;
}

// An event about the message's text part: item_id, output_index and content_index.
json ResponseEvents::text_event(std::string_view type, json fields) {
  fields["item_id"] = identity_.message_id;
  fields["output_index"] = message_index_;
  fields["content_index"] = 0;
  return event(type, std::move(fields));
}

std::vector<json> ResponseEvents::opening() {
  std::vector<json> events;
  const json started = response_object(identity_, "in_progress", json::array(), std::nullopt);
  events.push_back(event("response.created", {{"response", started}}));
  events.push_back(event("response.in_progress", {{"response", started}}));
  if (outcome_.reasoning_item) {
    const json item = reasoning_item(identity_);
    events.push_back(event("response.output_item.added", {{"output_index", 0}, {"item", item}}));
    events.push_back(event("response.output_item.done", {{"output_index", 0}, {"item", item}}));
  }
  events.push_back(event(
      "response.output_item.added",
      {{"output_index", message_index_}, {"item", message_item(identity_, "in_progress", "")}}));
  events.push_back(text_event("response.content_part.added", {{"part", output_text_part("")}}));
  return events;
}

json ResponseEvents::delta(std::string_view text) {
  return text_event("response.output_text.delta",
                    {{"delta", std::string(text)}, {"logprobs", json::array()}});
}

std::vector<json> ResponseEvents::closing(std::string_view text) {
  std::vector<json> events;
  events.push_back(text_event("response.output_text.done",
                              {{"text", std::string(text)}, {"logprobs", json::array()}}));
  events.push_back(text_event("response.content_part.done", {{"part", output_text_part(text)}}));
  events.push_back(event("response.output_item.done",
                         {{"output_index", message_index_},
                          {"item", message_item(identity_, final_status(outcome_), text)}}));
  const std::string type = outcome_.incomplete ? "response.incomplete" : "response.completed";
  events.push_back(event(type, {{"response", response_body(identity_, text, outcome_)}}));
  return events;
}

}  // namespace clearhouse::tools
