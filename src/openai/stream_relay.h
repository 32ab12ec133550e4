// StreamRelay: the gateway's pass-through of an upstream's server-sent event stream to its client,
// and what it learns on the way: the usage the upstream reported, or, when none arrives (the stream
// was cut, the client left, the upstream does not report usage), an estimate of the tokens
// generated.
//
// The gateway always asks the upstream for usage in streams (stream_options.include_usage), because
// the ledger must settle what was generated (usage.h: a report that cannot be a token count, or a
// second report that differs from the first, is kept as implausible, never clamped). A client that
// did not ask for it must not see it: the relay drops the usage-only chunk (empty `choices`) and
// removes `usage` from other chunks, keeping their choices. Events the relay cannot parse as JSON
// are passed on unchanged. Pure: no I/O; one relay per stream, not shared between threads.
//
// The usage shapes it settles, each counted once:
//   OpenAI      a final chunk with `choices: []` and `usage`
//   llama.cpp   a final chunk with both `choices` (carrying finish_reason) and `usage`
//   vLLM        with stream_options.continuous_usage_stats, `usage` on every chunk, growing; the
//               last report is the answer's (and repeats in a final usage-only chunk)
//   none        no usage at all: the tokens are estimated from the content chunks
// Which rule applies: a stream whose first report arrives on a chunk with a choice that has not
// finished (no finish_reason) reports continuously, and its reports advance (usage.h: they may
// grow, never shrink); any other stream reports once, and a second report must repeat the first
// (merge). An upstream cannot switch to continuous after a final report: that stays merge.
//
//   StreamRelay relay(/*client_wants_usage=*/false);
//   client.write(relay.feed(upstream_bytes));            // complete events only
//   std::int64_t used = relay.tokens_generated(cap);     // reported, else estimated, <= cap
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http/sse.h"
#include "openai/usage.h"

namespace clearhouse::openai {

// The usage one chat completions stream reports, chunk by chunk, under the rule above (continuous
// reports advance, a one-time report merges). Shared by StreamRelay and by the Responses API's
// translation of a chat stream (responses_stream.h), so both settle every shape alike.
class ChatStreamUsage {
 public:
  void observe(const nlohmann::json& chunk);  // a parsed chunk (any JSON value)
  [[nodiscard]] const ReportedUsage& reported() const { return reported_; }
  [[nodiscard]] bool continuous() const { return continuous_; }

 private:
  ReportedUsage reported_;
  bool continuous_ = false;
};

class StreamRelay {
 public:
  explicit StreamRelay(bool client_wants_usage) : client_wants_usage_(client_wants_usage) {}

  // Feeds upstream bytes; returns the bytes to send the client (whole events, possibly none).
  std::string feed(std::string_view bytes);

  [[nodiscard]] bool done() const { return done_; }  // `data: [DONE]` arrived
  // The usage the upstream reported (completion tokens, reasoning among them): absent, one report
  // (repeated identical reports are one; continuous reports: the last), or implausible.
  [[nodiscard]] const ReportedUsage& reported() const { return usage_.reported(); }
  // The upstream reported usage continuously (on chunks of an unfinished answer).
  [[nodiscard]] bool continuous_usage() const { return usage_.continuous(); }
  // Chunks that carried generated text: servers stream about one token per chunk.
  [[nodiscard]] std::int64_t content_chunks() const { return content_chunks_; }
  // The upstream sent an {"error": ...} event.
  [[nodiscard]] bool saw_error() const { return saw_error_; }
  // The tokens to settle: the reported count, else the number of content chunks; at most `cap`,
  // and `cap` when the report is implausible.
  [[nodiscard]] std::int64_t tokens_generated(std::int64_t cap) const;

 private:
  std::string relay_event(const std::string& payload);

  bool client_wants_usage_;
  http::SseParser parser_;
  bool done_ = false;
  bool saw_error_ = false;
  ChatStreamUsage usage_;
  std::int64_t content_chunks_ = 0;
};

// Tokens of generated text estimated from its length when an upstream reports no usage: one token
// per four code points, rounded up (English and code average about four characters per token).
[[nodiscard]] std::int64_t estimate_tokens_from_text(std::string_view text);

// The usage of a whole (non-streamed) completion response (absent when the body is
// not a JSON object). `generated_text` receives the choices' text (message.content / text, joined)
// for estimates.
[[nodiscard]] ReportedUsage completion_usage(std::string_view response_body,
                                             std::string* generated_text);
// The same, of a response already parsed (anything but an object: absent).
[[nodiscard]] ReportedUsage completion_usage_parsed(const nlohmann::json& response,
                                                    std::string* generated_text);

}  // namespace clearhouse::openai
