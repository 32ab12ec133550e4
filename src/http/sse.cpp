#include "http/sse.h"

namespace clearhouse::http {

std::string sse_data(std::string_view payload) {
  std::string event;
  event.reserve(payload.size() + 8);
  event += "data: ";
  event += payload;
  event += "\n\n";
  return event;
}

void SseParser::end_line(std::vector<std::string>& events) {
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_.empty()) {  // a blank line dispatches the event
    if (has_data_) events.push_back(std::move(data_));
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line_.front() != ':') {
    const auto colon = line_.find(':');
    const std::string_view field = std::string_view(line_).substr(0, colon);
    if (field == "data") {
      std::string_view value;
      if (colon != std::string::npos) {
        value = std::string_view(line_).substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      }
      if (has_data_) data_ += '\n';
      data_ += value;
      has_data_ = true;
    }
  }
  line_.clear();
}

std::vector<std::string> SseParser::feed(std::string_view bytes) {
  std::vector<std::string> events;
  for (const char c : bytes) {
    if (c == '\n') {
      end_line(events);
    } else {
      line_ += c;
    }
  }
  return events;
}

std::vector<std::string> parse_sse(std::string_view text) {
  SseParser parser;
  return parser.feed(text);
}

}  // namespace clearhouse::http
