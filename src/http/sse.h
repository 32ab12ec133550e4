// Server-sent events as OpenAI-compatible servers use them: each event is one `data: <json>` line
// followed by a blank line, and the stream ends with `data: [DONE]`.
//
// sse_data() formats an event; SseParser splits a byte stream (arriving in arbitrary pieces) back
// into the data payloads of complete events, for a client of such a server (the gateway reading its
// upstream, tests). Comment lines (":") and fields other than `data` are ignored; several `data`
// lines in one event are joined with "\n"; lines may end with "\n" or "\r\n".
//
//   SseParser parser;
//   for (const std::string& payload : parser.feed(bytes)) {
//     if (payload == kSseDonePayload) break;
//     auto chunk = nlohmann::json::parse(payload);
//   }
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace clearhouse::http {

inline constexpr std::string_view kSseDonePayload = "[DONE]";
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";
inline constexpr std::string_view kSseContentType = "text/event-stream";

// "data: " + payload + "\n\n". The payload must not contain a newline (compact JSON does not).
std::string sse_data(std::string_view payload);

class SseParser {
 public:
  // Feeds the next bytes; returns the payloads of the events completed by them, in order.
  std::vector<std::string> feed(std::string_view bytes);
  // True when bytes of an unfinished event are buffered (a stream that ends here was cut).
  [[nodiscard]] bool has_partial_event() const { return !line_.empty() || has_data_; }

 private:
  void end_line(std::vector<std::string>& events);

  std::string line_;
  std::string data_;
  bool has_data_ = false;
};

// All complete events of a whole text.
std::vector<std::string> parse_sse(std::string_view text);

}  // namespace clearhouse::http
