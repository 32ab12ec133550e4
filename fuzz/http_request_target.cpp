#include "fuzz/http_request_target.h"

#include <string>
#include <variant>

#include "http/http.h"
#include "http/request_head.h"

namespace clearhouse::http {
namespace {

void require(bool condition, const char* invariant) {
  if (!condition) throw HttpFuzzFinding(std::string("invariant broken: ") + invariant);
}

// Small limits, so that inputs of a few kilobytes reach every one of them.
constexpr RequestLimits kLimits{
    .max_header_bytes = 1024, .max_header_count = 16, .max_url_bytes = 128, .max_body_bytes = 2048};

}  // namespace

HttpRequestOutcome run_http_request_input(std::string_view bytes) {
  const std::variant<HttpRequest, Rejection> result = parse_request(bytes, kLimits);
  HttpRequestOutcome outcome;
  if (const auto* rejection = std::get_if<Rejection>(&result)) {
    // Invariant: a rejection is one of the front door's client errors, with a message, and its
    // OpenAI error body serialises (the message may quote the client's bytes).
    require(rejection->status == 400 || rejection->status == 413 || rejection->status == 414 ||
                rejection->status == 431,
            "a rejection is 400, 413, 414 or 431");
    require(!rejection->message.empty(), "a rejection has a message");
    (void)error_body(rejection->status, rejection->message)
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    outcome.rejected_status = rejection->status;
    return outcome;
  }
  const HttpRequest& request = std::get<HttpRequest>(result);
  // Invariants: what passed is within every limit, and the path has no query.
  require(!request.method.empty(), "a request has a method");
  require(request.path.size() <= kLimits.max_url_bytes, "the target is within its limit");
  require(request.path.find('?') == std::string::npos, "the path has no query");
  require(request.headers.size() <= kLimits.max_header_count, "the fields are within their limit");
  require(request.body.size() <= kLimits.max_body_bytes, "the body is within its limit");
  // Header lookups the handlers make never fail on what the parser let through.
  (void)request.header("authorization");
  (void)request.header("content-type");
  (void)request.has_header("x-clearhouse-dataset");
  outcome.parsed = true;
  return outcome;
}

}  // namespace clearhouse::http
