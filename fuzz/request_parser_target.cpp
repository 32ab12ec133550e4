#include "fuzz/request_parser_target.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "http/http.h"
#include "http/sse.h"
#include "openai/request.h"
#include "openai/stream_relay.h"

namespace clearhouse::openai {
namespace {

using nlohmann::json;

void require(bool condition, const char* invariant) {
  if (!condition) throw FuzzFinding(std::string("invariant broken: ") + invariant);
}

// A rejection must be a client error with a message, never a 5xx or an empty error body.
void check_rejection(const http::HttpError& error) {
  require(error.status() == 400, "a rejected body is a 400");
  require(error.what()[0] != '\0', "a rejection has a message");
  require(!error.type().empty(), "a rejection has an OpenAI error type");
  // The error body the client would get must serialise (the message may quote the client's bytes).
  (void)http::error_body(error.status(), error.what(), error.type(), error.param(), error.code())
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<json> try_parse_json_body(std::string_view bytes) {
  try {
    json value = http::parse_json_body(bytes);
    require(value.is_object(), "parse_json_body returns an object");
    // What we parsed must serialise and read back as the same value (it is forwarded upstream).
    require(json::parse(value.dump()) == value, "a parsed body round-trips through dump()");
    return value;
  } catch (const http::HttpError& e) {
    check_rejection(e);
    return std::nullopt;
  }
}

void check_request(const openai::CompletionRequest& r, openai::Endpoint endpoint,
                   const json& body) {
  require(r.endpoint == endpoint, "the endpoint is kept");
  require(r.body == body, "the request keeps the client's whole body");
  require(r.n >= 1 && r.n <= openai::kMaxChoices, "n in [1, kMaxChoices]");
  require(r.best_of >= 1 && r.best_of <= openai::kMaxChoices, "best_of in [1, kMaxChoices]");
  require(r.generations() >= r.n && r.generations() >= r.best_of, "generations = max(n, best_of)");
  require(r.prompt_chars >= 0, "prompt_chars >= 0");
  require(endpoint == openai::Endpoint::kChat ? r.messages >= 1 : r.messages == 0, "message count");
  require(!r.max_tokens || *r.max_tokens >= 1, "max_tokens >= 1");
  require(!r.max_completion_tokens || *r.max_completion_tokens >= 1, "max_completion_tokens >= 1");
  const std::optional<std::int64_t> cap = r.client_cap();
  require(cap.has_value() == (r.max_tokens || r.max_completion_tokens),
          "client_cap set iff a cap is");
  if (cap) {
    require(*cap >= 1, "client_cap >= 1");
    require(!r.max_tokens || *cap <= *r.max_tokens, "client_cap <= max_tokens");
    require(!r.max_completion_tokens || *cap <= *r.max_completion_tokens,
            "client_cap <= max_completion_tokens");
  }
  require(!r.include_usage || r.body.contains("stream_options"),
          "include_usage from stream_options");

  // What the gateway forwards: the smaller cap, our model name, usage asked for on streams.
  const std::int64_t our_cap = cap ? std::min<std::int64_t>(*cap, 256) : 256;
  const json upstream = openai::upstream_body(r, our_cap, "fuzz-model");
  require(upstream.is_object(), "the upstream body is an object");
  require(upstream.value("model", "") == "fuzz-model", "the upstream model replaces the client's");
  const auto sent_cap = [&](const char* key) {
    return upstream.contains(key) && upstream.at(key).is_number_integer() &&
           upstream.at(key).get<std::int64_t>() == our_cap;
  };
  require(sent_cap("max_tokens") || sent_cap("max_completion_tokens"), "the upstream gets our cap");
  if (r.max_tokens) require(sent_cap("max_tokens"), "a client's max_tokens is lowered to our cap");
  if (endpoint == openai::Endpoint::kCompletions) {
    // vLLM ignores max_completion_tokens on /v1/completions: the cap goes as max_tokens alone.
    require(sent_cap("max_tokens") && !upstream.contains("max_completion_tokens"),
            "completions carry the cap as max_tokens alone");
  } else if (r.max_completion_tokens) {
    require(sent_cap("max_completion_tokens"), "a client's max_completion_tokens is lowered");
  }
  if (r.stream) {
    require(upstream.contains("stream_options") && upstream.at("stream_options").is_object() &&
                upstream.at("stream_options").value("include_usage", false),
            "streams ask for usage");
    require(!upstream.at("stream_options").contains("continuous_usage_stats"),
            "streams ask for one usage report");
  }
  for (const std::string_view field : openai::kVendorLengthFields) {
    require(!upstream.contains(std::string(field)), "vendor length fields never reach upstream");
  }
  for (const auto& [key, value] : body.items()) {
    if (key == "model" || key == "max_tokens" || key == "max_completion_tokens" ||
        key == "stream_options" ||
        std::find(openai::kVendorLengthFields.begin(), openai::kVendorLengthFields.end(), key) !=
            openai::kVendorLengthFields.end()) {
      continue;
    }
    require(upstream.contains(key) && upstream.at(key) == value,
            "other fields reach the upstream as sent");
  }
  (void)upstream.dump();  // must not throw: strings were validated as UTF-8 by the parser
}

bool try_parse_request(std::string_view bytes, openai::Endpoint endpoint,
                       const std::optional<json>& body) {
  try {
    const openai::CompletionRequest r =
        openai::parse_completion_request(bytes, endpoint, http::kMaxJsonDepth);
    require(body.has_value(), "a request that parses is a JSON object body");
    check_request(r, endpoint, *body);
    return true;
  } catch (const http::HttpError& e) {
    check_rejection(e);
    return false;
  }
}

std::size_t check_sse(std::string_view bytes) {
  http::SseParser whole;
  const std::vector<std::string> events = whole.feed(bytes);
  // The same bytes in three pieces, cut where the input says, give the same events.
  const std::size_t first_cut =
      bytes.empty() ? 0 : static_cast<unsigned char>(bytes[0]) % (bytes.size() + 1);
  const std::size_t second_cut = first_cut + (bytes.size() - first_cut) / 2;
  http::SseParser pieces;
  std::vector<std::string> joined;
  for (const std::string_view piece :
       {bytes.substr(0, first_cut), bytes.substr(first_cut, second_cut - first_cut),
        bytes.substr(second_cut)}) {
    for (std::string& event : pieces.feed(piece)) joined.push_back(std::move(event));
  }
  require(joined == events, "SSE events do not depend on how the bytes arrive");
  require(whole.has_partial_event() == pieces.has_partial_event(), "SSE partial state agrees");
  return events.size();
}

void check_usage(const openai::ReportedUsage& usage) {
  require(!usage.tokens() || *usage.tokens() >= 0, "a usage count is >= 0");
  require(usage.implausible() == !usage.problem().empty(), "implausible usage says why");
  require(!(usage.implausible() && usage.tokens()), "implausible usage has no count");
}

// The same bytes as an upstream's answer: a whole response, and a stream through the relay.
// Returns true when either reported usage (a count or an implausible report).
bool check_upstream_answer(std::string_view bytes) {
  std::string text;
  const openai::ReportedUsage whole = openai::completion_usage(bytes, &text);
  check_usage(whole);
  // The gateway reads a whole answer's usage from its text, without a DOM: the same report
  // whenever the bytes are JSON nlohmann accepts.
  const openai::ReportedUsage from_text = openai::reported_usage_in(bytes);
  check_usage(from_text);
  require(!json::accept(bytes) || from_text == whole, "usage read from text equals the DOM's");
  bool reported = !whole.absent();
  constexpr std::int64_t kCap = 512;
  for (const bool client_wants_usage : {false, true}) {
    openai::StreamRelay relay(client_wants_usage);
    (void)relay.feed(bytes);
    const openai::ReportedUsage& streamed = relay.reported();
    check_usage(streamed);
    const std::int64_t settled = relay.tokens_generated(kCap);
    require(settled >= 0 && settled <= kCap, "a stream settles within [0, cap]");
    require(!streamed.implausible() || settled == kCap, "implausible stream usage settles the cap");
    reported = reported || !streamed.absent();
  }
  return reported;
}

}  // namespace

RequestParserOutcome run_request_parser_input(std::string_view bytes) {
  RequestParserOutcome outcome;
  const std::optional<json> body = try_parse_json_body(bytes);
  outcome.json_object = body.has_value();
  outcome.chat = try_parse_request(bytes, openai::Endpoint::kChat, body);
  outcome.completions = try_parse_request(bytes, openai::Endpoint::kCompletions, body);
  outcome.sse_events = check_sse(bytes);
  outcome.usage_reported = check_upstream_answer(bytes);
  return outcome;
}

}  // namespace clearhouse::openai
