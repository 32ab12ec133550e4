// What the server checks of a request before it serves it, shared by the server (server.cpp, which
// reads from a socket) and the HTTP fuzz target (fuzz/http_request_target.cpp, which parses bytes
// at once), so the fuzzer exercises the server's own parser settings and checks.
//
// Beast's parser enforces the byte limits (header section, body for every transfer encoding);
// check_head() adds the header-field count and the target length. A rejection is an HTTP status
// (400, 408, 413, 414, 431) and a message for the client's error body.
//
// Thread-safety: stateless functions.
#pragma once

#include <boost/beast/http.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http/http.h"

namespace clearhouse::http {

struct RequestLimits {
  std::size_t max_header_bytes = 16u << 10u;
  std::size_t max_header_count = 100;
  std::size_t max_url_bytes = 8u << 10u;
  std::size_t max_body_bytes = 8u << 20u;
};

struct Rejection {
  int status = 400;
  std::string message;
};

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

void apply_limits(RequestParser& parser, const RequestLimits& limits);
// After the head is parsed: too many fields (431) or too long a target (414).
[[nodiscard]] std::optional<Rejection> check_head(const RequestParser& parser,
                                                  const RequestLimits& limits);
// The answer to a parse error of the parser (a limit, a timeout, malformed bytes).
[[nodiscard]] Rejection rejection_for(const boost::beast::error_code& ec,
                                      const RequestLimits& limits);
// The request's method, path (the target without its query) and headers; the body is left to the
// caller.
[[nodiscard]] HttpRequest request_head(const RequestParser& parser);

// One whole request from `bytes` (parsed at once; bytes past the request are ignored): the request
// with its body, or the rejection the server would send. Incomplete bytes are a 400.
[[nodiscard]] std::variant<HttpRequest, Rejection> parse_request(std::string_view bytes,
                                                                 const RequestLimits& limits);

}  // namespace clearhouse::http
