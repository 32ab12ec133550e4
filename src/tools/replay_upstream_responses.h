// The OpenAI Responses API shapes the replay upstream sends for POST /v1/responses: the response
// object and its typed stream events. Pure functions of their inputs (ids and times are passed in),
// so tests compare them field by field.
//
// A response's `output` is an optional reasoning item (no text: `summary: []`) and one assistant
// message with one output_text part. status "completed", or "incomplete" with incomplete_details
// {reason: "max_output_tokens"} when the answer was cut at the cap.
//
// A stream is a sequence of events, each sent as `event: <type>` and `data: {"type": <type>,
// "sequence_number": n, ...}` (n = 0, 1, 2, ...), with no [DONE] sentinel:
//   response.created, response.in_progress               (the response, in_progress, no output)
//   [response.output_item.added/.done for the reasoning item]
//   response.output_item.added                           (the message, in_progress, no content)
//   response.content_part.added                          (an empty output_text part)
//   response.output_text.delta ...                       (one per piece of the answer)
//   response.output_text.done, response.content_part.done, response.output_item.done
//   response.completed | response.incomplete             (the whole response, with usage)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/replay_upstream_format.h"

namespace clearhouse::tools {

struct ResponseIdentity {
  std::string id;               // "resp_..."
  std::string message_id;       // "msg_..."
  std::string reasoning_id;     // "rs_..."
  std::int64_t created_at = 0;  // Unix seconds
  std::string model;
};

// What a finished response says besides its text.
struct ResponseOutcome {
  bool incomplete = false;       // cut at max_output_tokens
  bool reasoning_item = false;   // output starts with a reasoning item
  std::optional<Usage> usage{};  // nullopt: "usage": null (usage shape none, no-usage fault)
};

// {input_tokens, input_tokens_details: {cached_tokens: 0}, output_tokens, output_tokens_details:
// {reasoning_tokens}, total_tokens}; reasoning_tokens is 0 when the usage has no reasoning count.
nlohmann::json response_usage_json(const Usage& usage);

// The whole response object of a non-streaming answer (and of response.completed/.incomplete).
nlohmann::json response_body(const ResponseIdentity& identity, std::string_view text,
                             const ResponseOutcome& outcome);

// "event: <type>\ndata: <json>\n\n" for an event object with a "type".
std::string sse_event(const nlohmann::json& event);

// The events of one stream, in order, numbered as they are made. Not thread-safe (one per stream).
class ResponseEvents {
 public:
  ResponseEvents(ResponseIdentity identity, ResponseOutcome outcome);
  // response.created ... response.content_part.added.
  std::vector<nlohmann::json> opening();
  // One response.output_text.delta.
  nlohmann::json delta(std::string_view text);
  // response.output_text.done ... response.completed or response.incomplete; `text` is the whole
  // answer.
  std::vector<nlohmann::json> closing(std::string_view text);

 private:
  nlohmann::json event(std::string_view type, nlohmann::json fields);
  nlohmann::json text_event(std::string_view type, nlohmann::json fields);

  ResponseIdentity identity_;
  ResponseOutcome outcome_;
  std::int64_t sequence_ = 0;
  int message_index_ = 0;  // output_index of the message (1 after a reasoning item)
};

}  // namespace clearhouse::tools
