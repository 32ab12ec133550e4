#include "openai/stream_relay.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/utf8.h"

namespace clearhouse::openai {
namespace {

using nlohmann::json;

// The text a choice carries: delta.content / delta.reasoning_content (chat chunks),
// message.content (chat responses) or text (completions).
void append_choice_text(const json& choice, std::string& out) {
  if (!choice.is_object()) return;
  for (const char* holder : {"delta", "message"}) {
    const auto h = choice.find(holder);
    if (h == choice.end() || !h->is_object()) continue;
    for (const char* key : {"reasoning_content", "content"}) {
      const auto c = h->find(key);
      if (c != h->end() && c->is_string()) out += c->get_ref<const std::string&>();
    }
  }
  const auto t = choice.find("text");
  if (t != choice.end() && t->is_string()) out += t->get_ref<const std::string&>();
}

// A choice still generating: no finish_reason yet (absent or null).
bool unfinished(const json& choice) {
  if (!choice.is_object()) return false;
  const auto reason = choice.find("finish_reason");
  return reason == choice.end() || reason->is_null();
}

}  // namespace

void ChatStreamUsage::observe(const json& chunk) {
  if (!chunk.is_object()) return;
  const ReportedUsage usage = reported_usage(chunk);
  if (usage.absent()) return;
  const auto choices = chunk.find("choices");
  if (reported_.absent() && choices != chunk.end() && choices->is_array() &&
      std::any_of(choices->begin(), choices->end(), unfinished)) {
    continuous_ = true;  // the first report came mid-answer (see the header)
  }
  if (continuous_) {
    reported_.advance(usage);
  } else {
    reported_.merge(usage);
  }
}

std::string StreamRelay::feed(std::string_view bytes) {
  std::string out;
  for (const std::string& payload : parser_.feed(bytes)) {
    if (payload == http::kSseDonePayload) {
      done_ = true;
      out += http::kSseDone;
      continue;
    }
    out += relay_event(payload);
  }
  return out;
}

std::string StreamRelay::relay_event(const std::string& payload) {
  json chunk = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!chunk.is_object()) return http::sse_data(payload);
  if (chunk.contains("error")) saw_error_ = true;
  const auto choices = chunk.find("choices");
  const bool has_choices = choices != chunk.end() && choices->is_array() && !choices->empty();
  usage_.observe(chunk);
  if (has_choices) {
    std::string text;
    for (const json& choice : *choices) append_choice_text(choice, text);
    if (!text.empty()) ++content_chunks_;
  }
  if (client_wants_usage_ || !chunk.contains("usage")) return http::sse_data(payload);
  if (!has_choices) return {};  // the usage-only chunk the client did not ask for
  chunk.erase("usage");
  return http::sse_data(chunk.dump());
}

std::int64_t StreamRelay::tokens_generated(std::int64_t cap) const {
  if (reported().implausible()) return cap;
  return std::min(cap, reported().tokens().value_or(content_chunks_));
}

std::int64_t estimate_tokens_from_text(std::string_view text) {
  return (base::count_code_points(text) + 3) / 4;
}

ReportedUsage completion_usage(std::string_view response_body, std::string* generated_text) {
  return completion_usage_parsed(json::parse(response_body, nullptr, /*allow_exceptions=*/false),
                                 generated_text);
}

ReportedUsage completion_usage_parsed(const json& body, std::string* generated_text) {
  if (!body.is_object()) return {};
  if (generated_text != nullptr) {
    const auto choices = body.find("choices");
    if (choices != body.end() && choices->is_array()) {
      for (const json& choice : *choices) append_choice_text(choice, *generated_text);
    }
  }
  return reported_usage(body);
}

}  // namespace clearhouse::openai
