#include "run/wire.h"

#include "openai/stream_relay.h"

namespace clearhouse::run {

using nlohmann::json;

bool can_continue(const BatchQuery& query) {
  return query.endpoint == openai::Endpoint::kChat || query.body["prompt"].is_string();
}

json slice_body(const BatchQuery& query, const std::string& text_so_far, std::int64_t cap) {
  json body = query.body;
  body["max_tokens"] = cap;
  if (body.contains("max_completion_tokens")) body["max_completion_tokens"] = cap;
  if (text_so_far.empty()) return body;
  if (query.endpoint == openai::Endpoint::kCompletions) {
    body["prompt"] = body["prompt"].get<std::string>() + text_so_far;
  } else {
    body["messages"].push_back({{"role", "assistant"}, {"content", text_so_far}});
    body["continue_final_message"] = true;
    body["add_generation_prompt"] = false;
  }
  return body;
}

std::optional<SliceAnswer> read_answer(std::string_view body, std::int64_t cap) {
  json parsed = json::parse(body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("choices") || !parsed["choices"].is_array() ||
      parsed["choices"].empty() || !parsed["choices"][0].is_object()) {
    return std::nullopt;
  }
  SliceAnswer answer;
  // An implausible report (usage.h) is treated as none: the answer's text is estimated instead.
  const std::optional<std::int64_t> usage =
      openai::completion_usage_parsed(parsed, &answer.text).tokens();
  answer.usage_reported = usage.has_value();
  answer.tokens = std::min(cap, usage.value_or(openai::estimate_tokens_from_text(answer.text)));
  answer.tokens = std::max<std::int64_t>(answer.tokens, 0);
  const json& reason = parsed["choices"][0]["finish_reason"];
  answer.finished = !(reason.is_string() && reason.get<std::string>() == "length");
  answer.body = std::move(parsed);
  return answer;
}

namespace {

json merged_body(const BatchQuery& query, const QueryState& state, json body) {
  if (!body.is_object()) return json(nullptr);
  json& choice = body["choices"][0];
  if (query.endpoint == openai::Endpoint::kChat) {
    choice["message"]["content"] = state.text;
  } else {
    choice["text"] = state.text;
  }
  std::int64_t prompt_tokens = 0;
  if (body.contains("usage") && body["usage"].is_object() &&
      body["usage"].value("prompt_tokens", json()).is_number_integer()) {
    prompt_tokens = body["usage"]["prompt_tokens"].get<std::int64_t>();
  }
  body["usage"] = {{"prompt_tokens", prompt_tokens},
                   {"completion_tokens", state.generated},
                   {"total_tokens", prompt_tokens + state.generated}};
  return body;
}

}  // namespace

std::string output_line(const BatchQuery& query, std::size_t index, const QueryState& state,
                        bool abandoned, json last_body) {
  json line = {{"id", "clearhouse_req_" + std::to_string(index + 1)},
               {"custom_id", query.id},
               {"response", nullptr},
               {"error", nullptr}};
  if (state.rounds > 0) {
    if (last_body.is_null()) last_body = json::parse(state.last_body, nullptr, false);
    json body = merged_body(query, state, std::move(last_body));
    json& response = line["response"];
    response["status_code"] = 200;
    response["request_id"] = body.is_object() ? body.value("id", json("")) : json("");
    response["body"] = std::move(body);  // moved: a body is the largest part of a line
  }
  if (state.status == QueryStatus::kFailed) {
    line["error"] = {{"code", "request_failed"}, {"message", state.error}};
  } else if (abandoned) {
    line["error"] = {{"code", "budget_exhausted"},
                     {"message", "the token budget was spent before this query was served"}};
  }
  line["clearhouse"] = {{"cap", state.cap},
                        {"rounds", state.rounds},
                        {"tokens", state.generated},
                        {"charged", state.charged},
                        {"requests", state.requests},
                        {"abandoned", abandoned},
                        {"finished", state.status == QueryStatus::kFinished}};
  return line.dump();
}

}  // namespace clearhouse::run
