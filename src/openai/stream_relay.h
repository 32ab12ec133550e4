// StreamRelay: the gateway's pass-through of an upstream's server-sent event stream to its client,
// and what it learns on the way: the usage the upstream reported, or, when none arrives (the stream
// was cut, the client left, the upstream does not report usage), an estimate of the tokens
// generated.
//
// The gateway always asks the upstream for usage in streams (stream_options.include_usage), because
// the ledger must settle what was generated (usage.h: a report that cannot be a token count, or a
// second report that differs from the first, is kept as implausible, never clamped). A client that
// did not ask for it must not see it: the relay drops the usage-only chunk (empty `choices`) and
// removes `usage` from other chunks. Events the relay cannot parse as JSON are passed on unchanged.
// Pure: no I/O; one relay per stream, not shared between threads.
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

class StreamRelay {
 public:
  explicit StreamRelay(bool client_wants_usage) : client_wants_usage_(client_wants_usage) {}

  // Feeds upstream bytes; returns the bytes to send the client (whole events, possibly none).
  std::string feed(std::string_view bytes);

  [[nodiscard]] bool done() const { return done_; }  // `data: [DONE]` arrived
  // usage.completion_tokens as the upstream reported it: absent, one count (repeated reports of
  // the same count are one), or implausible (ReportedUsage::merge).
  [[nodiscard]] const ReportedUsage& reported_completion_tokens() const { return reported_; }
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
  ReportedUsage reported_;
  std::int64_t content_chunks_ = 0;
};

// Tokens of generated text estimated from its length when an upstream reports no usage: one token
// per four code points, rounded up (English and code average about four characters per token).
[[nodiscard]] std::int64_t estimate_tokens_from_text(std::string_view text);

// usage.completion_tokens of a whole (non-streamed) completion response (absent when the body is
// not a JSON object). `generated_text` receives the choices' text (message.content / text, joined)
// for estimates.
[[nodiscard]] ReportedUsage completion_usage(std::string_view response_body,
                                             std::string* generated_text);
// The same, of a response already parsed (anything but an object: absent).
[[nodiscard]] ReportedUsage completion_usage_parsed(const nlohmann::json& response,
                                                    std::string* generated_text);

}  // namespace clearhouse::openai
