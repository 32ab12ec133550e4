#include "openai/responses_stream.h"

#include <algorithm>
#include <utility>

#include "openai/responses_request.h"
#include "openai/responses_translate.h"

namespace clearhouse::openai {
namespace {

using nlohmann::json;

bool is_text_delta(std::string_view type) {
  return type == "response.output_text.delta" || type == "response.reasoning_text.delta" ||
         type == "response.reasoning_summary_text.delta" || type == "response.refusal.delta";
}

bool is_end(std::string_view type) {
  return type == "response.completed" || type == "response.incomplete" || type == "response.failed";
}

std::int64_t bounded(const ReportedUsage& reported, std::int64_t chunks, std::int64_t cap) {
  if (reported.implausible()) return cap;
  return std::min(cap, reported.tokens().value_or(chunks));
}

// delta.<key> of a chat chunk's first choice, "" when absent.
std::string delta_text(const json& choice, const char* key) {
  const auto delta = choice.find("delta");
  if (delta == choice.end() || !delta->is_object()) return {};
  const auto v = delta->find(key);
  return v != delta->end() && v->is_string() ? v->get<std::string>() : std::string();
}

}  // namespace

std::string sse_typed_event(std::string_view type, std::string_view payload) {
  std::string out = "event: ";
  out += type;
  out += '\n';
  out += http::sse_data(payload);
  return out;
}

std::string responses_error_event(const json& error_body, std::int64_t sequence_number) {
  const json& e =
      error_body.is_object() && error_body.contains("error") ? error_body["error"] : error_body;
  const auto get = [&](const char* key) {
    return e.is_object() && e.contains(key) ? e[key] : json();
  };
  const json payload = {{"type", "error"},
                        {"code", get("code")},
                        {"message", get("message")},
                        {"param", get("param")},
                        {"sequence_number", sequence_number}};
  return sse_typed_event("error", payload.dump());
}

// ---- ResponsesStreamRelay ----

std::string ResponsesStreamRelay::feed(std::string_view bytes) {
  std::string out;
  for (const std::string& payload : parser_.feed(bytes)) {
    if (payload == http::kSseDonePayload) {  // not part of the Responses API; passed on
      out += http::kSseDone;
      continue;
    }
    out += relay_event(payload);
  }
  return out;
}

std::string ResponsesStreamRelay::relay_event(const std::string& payload) {
  const json event = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!event.is_object()) return http::sse_data(payload);
  const auto seq = event.find("sequence_number");
  if (seq != event.end() && seq->is_number_integer()) last_sequence_ = seq->get<std::int64_t>();
  const auto type_it = event.find("type");
  if (type_it == event.end() || !type_it->is_string()) return http::sse_data(payload);
  const std::string& type = type_it->get_ref<const std::string&>();
  if (type == "error") saw_error_ = true;
  if (is_text_delta(type)) {
    const auto delta = event.find("delta");
    if (delta != event.end() && delta->is_string() &&
        !delta->get_ref<const std::string&>().empty()) {
      ++content_chunks_;
    }
  }
  if (is_end(type)) {
    done_ = true;
    const auto response = event.find("response");
    if (response != event.end()) reported_.merge(reported_usage(*response));
  }
  return sse_typed_event(type, payload);
}

std::int64_t ResponsesStreamRelay::tokens_generated(std::int64_t cap) const {
  return bounded(reported_, content_chunks_, cap);
}

std::string ResponsesStreamRelay::error_event(const json& error_body) const {
  return responses_error_event(error_body, last_sequence_ + 1);
}

// ---- ChatToResponsesStream ----

ChatToResponsesStream::ChatToResponsesStream(const CompletionRequest& request,
                                             std::string response_id, std::int64_t cap)
    : request_(&request),
      id_(std::move(response_id)),
      item_id_("msg_" + id_),
      cap_(cap),
      model_(request.model) {}

std::string ChatToResponsesStream::event(json payload) {
  payload["sequence_number"] = sequence_++;
  const std::string type = payload["type"].get<std::string>();
  return sse_typed_event(type, payload.dump());
}

json ChatToResponsesStream::response(std::string_view status) const {
  return response_skeleton(*request_, id_, model_, 0, status);
}

json ChatToResponsesStream::text_part() const {
  return {{"type", "output_text"}, {"text", text_}, {"annotations", json::array()}};
}

json ChatToResponsesStream::message_item(std::string_view status) const {
  json content = json::array();
  if (status != "in_progress") content.push_back(text_part());
  return {{"type", "message"},
          {"id", item_id_},
          {"status", status},
          {"role", "assistant"},
          {"content", std::move(content)}};
}

std::string ChatToResponsesStream::feed(std::string_view bytes) {
  std::string out;
  for (const std::string& payload : parser_.feed(bytes)) {
    if (done_) break;
    if (payload == http::kSseDonePayload) {
      out += finish();
      continue;
    }
    const json chunk = json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (!chunk.is_object()) continue;  // nothing a Responses client could read
    out += chunk_events(chunk);
  }
  return out;
}

std::string ChatToResponsesStream::chunk_events(const json& chunk) {
  std::string out;
  if (!started_) {
    started_ = true;
    if (chunk.contains("model") && chunk["model"].is_string()) model_ = chunk["model"];
    out += event({{"type", "response.created"}, {"response", response("in_progress")}});
    out += event({{"type", "response.in_progress"}, {"response", response("in_progress")}});
  }
  if (chunk.contains("error")) {
    saw_error_ = true;
    out += responses_error_event(chunk, sequence_++);
    return out;
  }
  usage_.observe(chunk);
  if (chunk.contains("usage") && chunk["usage"].is_object()) chat_usage_ = chunk["usage"];
  const auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty() ||
      !(*choices)[0].is_object()) {
    return out;
  }
  const json& choice = (*choices)[0];
  const std::string reasoning = delta_text(choice, "reasoning_content");
  const std::string text = delta_text(choice, "content");
  if (!reasoning.empty() || !text.empty()) ++content_chunks_;
  if (!text.empty()) {
    out += start_message();
    text_ += text;
    out += event({{"type", "response.output_text.delta"},
                  {"item_id", item_id_},
                  {"output_index", 0},
                  {"content_index", 0},
                  {"delta", text},
                  {"logprobs", json::array()}});
  }
  const auto reason = choice.find("finish_reason");
  if (reason != choice.end() && !reason->is_null()) finish_reason_ = *reason;
  return out;
}

std::string ChatToResponsesStream::start_message() {
  if (message_started_) return {};
  message_started_ = true;
  std::string out = event({{"type", "response.output_item.added"},
                           {"output_index", 0},
                           {"item", message_item("in_progress")}});
  out += event({{"type", "response.content_part.added"},
                {"item_id", item_id_},
                {"output_index", 0},
                {"content_index", 0},
                {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}});
  return out;
}

std::string ChatToResponsesStream::finish() {
  done_ = true;
  std::string out;
  if (!started_) out += chunk_events(json::object());
  out += start_message();
  const ResponseStatus status = status_from_finish_reason(finish_reason_);
  const std::string item_status = status.status == "completed" ? "completed" : "incomplete";
  out += event({{"type", "response.output_text.done"},
                {"item_id", item_id_},
                {"output_index", 0},
                {"content_index", 0},
                {"text", text_},
                {"logprobs", json::array()}});
  out += event({{"type", "response.content_part.done"},
                {"item_id", item_id_},
                {"output_index", 0},
                {"content_index", 0},
                {"part", text_part()}});
  out += event({{"type", "response.output_item.done"},
                {"output_index", 0},
                {"item", message_item(item_status)}});
  json final_response = response(status.status);
  final_response["incomplete_details"] = status.incomplete_details;
  final_response["output"].push_back(message_item(item_status));
  final_response["usage"] = responses_usage_from_chat(chat_usage_, tokens_generated(cap_));
  out += event({{"type", "response." + status.status}, {"response", std::move(final_response)}});
  return out;
}

std::int64_t ChatToResponsesStream::tokens_generated(std::int64_t cap) const {
  return bounded(usage_.reported(), content_chunks_, cap);
}

std::string ChatToResponsesStream::error_event(const json& error_body) const {
  return responses_error_event(error_body, sequence_);
}

}  // namespace clearhouse::openai
