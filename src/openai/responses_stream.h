// The two streams of a Responses API request (POST /v1/responses, "stream": true), each with the
// interface of StreamRelay (stream_relay.h) so the gateway relays and settles them alike:
//
// * ResponsesStreamRelay: an upstream that serves the Responses API streams typed events
//   (`event: response.output_text.delta` + `data: {"type": ...}`); they pass through unchanged
//   (each re-emitted with its `event:` line from its data's "type"). The usage is
//   response.usage.output_tokens of the response.completed / response.incomplete event; the
//   stream is complete at response.completed, response.incomplete or response.failed.
// * ChatToResponsesStream: an upstream that serves only chat completions streams chat chunks; the
//   gateway makes them into the Responses events itself: response.created, response.in_progress,
//   response.output_item.added, response.content_part.added, response.output_text.delta per
//   chunk of text, then at the chat stream's [DONE]: response.output_text.done,
//   response.content_part.done, response.output_item.done and response.completed (or
//   response.incomplete with incomplete_details.reason "max_output_tokens" when the chat answer
//   finished for "length"), whose usage carries output_tokens = tokens_generated(cap): the count
//   the gateway settles. Reasoning deltas (reasoning_content) are counted, not forwarded.
//
// Both number their events (sequence_number) and format an error as a typed `error` event.
// Pure: no I/O; one per stream, not shared between threads.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "http/sse.h"
#include "openai/request.h"
#include "openai/stream_relay.h"
#include "openai/usage.h"

namespace clearhouse::openai {

// `event: <type>\ndata: <payload>\n\n`.
[[nodiscard]] std::string sse_typed_event(std::string_view type, std::string_view payload);

// The typed `error` event of a Responses stream for an OpenAI error body {"error": {...}}.
[[nodiscard]] std::string responses_error_event(const nlohmann::json& error_body,
                                                std::int64_t sequence_number);

class ResponsesStreamRelay {
 public:
  std::string feed(std::string_view bytes);

  [[nodiscard]] bool done() const { return done_; }
  [[nodiscard]] const ReportedUsage& reported() const { return reported_; }
  [[nodiscard]] std::int64_t content_chunks() const { return content_chunks_; }
  [[nodiscard]] bool saw_error() const { return saw_error_; }
  [[nodiscard]] std::int64_t tokens_generated(std::int64_t cap) const;
  [[nodiscard]] std::string error_event(const nlohmann::json& error_body) const;

 private:
  std::string relay_event(const std::string& payload);

  http::SseParser parser_;
  bool done_ = false;
  bool saw_error_ = false;
  ReportedUsage reported_;
  std::int64_t content_chunks_ = 0;
  std::int64_t last_sequence_ = -1;
};

class ChatToResponsesStream {
 public:
  // request: the client's kResponses request, which must outlive the stream (it is kept by
  // reference); response_id names the Response ("resp_..."); cap: the tokens reserved (what
  // tokens_generated is bounded by).
  ChatToResponsesStream(const CompletionRequest& request, std::string response_id,
                        std::int64_t cap);

  std::string feed(std::string_view bytes);

  [[nodiscard]] bool done() const { return done_; }
  [[nodiscard]] const ReportedUsage& reported() const { return usage_.reported(); }
  [[nodiscard]] std::int64_t content_chunks() const { return content_chunks_; }
  [[nodiscard]] bool saw_error() const { return saw_error_; }
  [[nodiscard]] std::int64_t tokens_generated(std::int64_t cap) const;
  [[nodiscard]] std::string error_event(const nlohmann::json& error_body) const;

 private:
  std::string chunk_events(const nlohmann::json& chunk);
  std::string start_message();
  std::string finish();
  std::string event(nlohmann::json payload);
  [[nodiscard]] nlohmann::json response(std::string_view status) const;
  [[nodiscard]] nlohmann::json message_item(std::string_view status) const;
  [[nodiscard]] nlohmann::json text_part() const;

  const CompletionRequest* request_;  // outlives the stream (the gateway keeps it)
  std::string id_;
  std::string item_id_;
  std::int64_t cap_ = 0;
  std::string model_;
  http::SseParser parser_;
  bool started_ = false;          // response.created sent
  bool message_started_ = false;  // output_item.added and content_part.added sent
  bool done_ = false;
  bool saw_error_ = false;
  ChatStreamUsage usage_;
  nlohmann::json chat_usage_ = nullptr;
  nlohmann::json finish_reason_ = nullptr;
  std::string text_;
  std::int64_t content_chunks_ = 0;
  std::int64_t sequence_ = 0;
};

}  // namespace clearhouse::openai
