// A small HTTP request/response interface that hides the HTTP library (cpp-httplib, used only in
// http/server.cpp) from the handlers, so handlers are plain functions testable without sockets.
//
// A handler maps an HttpRequest to an HttpResponse. A response either carries its whole body, or a
// BodyProducer that writes the body piece by piece (server-sent events) after the handler returned;
// the producer runs on the connection's thread and may block (pacing). Expected failures are thrown
// as HttpError and turned by Router into OpenAI-style error bodies:
//
//   {"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens", "code":
//   null}}
//
// Any other exception escaping a handler becomes a 500 with type "server_error": call_handler() is
// the one wrapper that does it, for Router and HttpServer alike (as in llama.cpp's server).
// Thread-safety: Router::handle is const and may be called from many threads once the routes are
// added.
//
//   Router router;
//   router.add("GET", "/health", "health",
//              [](const HttpRequest&) { return json_response(200, {{"status", "ok"}}); });
//   HttpResponse r = router.handle(HttpRequest{"GET", "/health", {}, ""});
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clearhouse::http {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;   // "GET", "POST", ...
  std::string path;     // without the query string
  HttpHeaders headers;  // names as received; look them up with header()
  std::string body;

  // The first value of header `name` (ASCII case-insensitive), or "" when absent.
  [[nodiscard]] std::string_view header(std::string_view name) const;
  [[nodiscard]] bool has_header(std::string_view name) const;
};

// Where a streamed body goes. write() returns false once the client has gone away; the producer
// should then stop.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  virtual bool write(std::string_view data) = 0;
};

// Writes a whole streamed body. Returns true when the body is complete; false drops the connection
// without finishing the body (the client sees a truncated response).
using BodyProducer = std::function<bool(BodyWriter&)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  HttpHeaders headers;  // extra headers
  std::string body;     // the body, when `stream` is empty
  BodyProducer stream;  // when set, the body is sent with chunked transfer encoding as written
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// An expected failure of a request, reported to the client as an OpenAI error body. Empty `param`
// or `code` are sent as null.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message, std::string type = {}, std::string param = {},
            std::string code = {});
  [[nodiscard]] int status() const { return status_; }
  [[nodiscard]] const std::string& type() const { return type_; }
  [[nodiscard]] const std::string& param() const { return param_; }
  [[nodiscard]] const std::string& code() const { return code_; }

 private:
  int status_;
  std::string type_, param_, code_;
};

// The OpenAI error "type" used for a status when none is given: 400 invalid_request_error,
// 401 authentication_error, 403 permission_error, 404 not_found_error, 413 invalid_request_error,
// 429 rate_limit_error, other 4xx invalid_request_error, 5xx server_error.
std::string default_error_type(int status);

// {"error": {"message", "type", "param", "code"}}; empty type means default_error_type(status).
nlohmann::json error_body(int status, std::string_view message, std::string_view type = {},
                          std::string_view param = {}, std::string_view code = {});
HttpResponse error_response(int status, std::string_view message, std::string_view type = {},
                            std::string_view param = {}, std::string_view code = {});
HttpResponse error_response(const HttpError& error);
HttpResponse json_response(int status, const nlohmann::json& body);

// The text of a JSON value sent to a client. Strings that echo client bytes (a path, a parse error
// quoting the body) may hold invalid UTF-8, on which nlohmann's dump() throws: here each invalid
// byte becomes U+FFFD instead, so building a response never throws. json_response uses it.
[[nodiscard]] std::string to_response_text(const nlohmann::json& value);

// Largest nesting depth of arrays and objects a request body may have.
inline constexpr int kMaxJsonDepth = 64;

// Parses a request body as JSON. Throws HttpError 400 (invalid_request_error) for a body that is
// not UTF-8 (naming the offset of the first bad byte), for invalid JSON, for nesting deeper than
// max_depth, or when the top level is not an object.
nlohmann::json parse_json_body(std::string_view body, int max_depth = kMaxJsonDepth);

// Dispatches on exact method and path. An unknown path is a 404, a known path with another method a
// 405, both with OpenAI error bodies; HttpError and other exceptions become error responses.
// Runs handler(request); an HttpError becomes its error response, any other exception a 500.
[[nodiscard]] HttpResponse call_handler(const HttpHandler& handler, const HttpRequest& request);

// The route table: each route is a method, an exact path, a metric label (a fixed string, so client
// input never becomes a label value) and a handler.
class Router {
 public:
  static constexpr std::string_view kOtherLabel = "other";  // the label of an unknown path

  void add(std::string method, std::string path, std::string label, HttpHandler handler);
  [[nodiscard]] HttpResponse handle(const HttpRequest& request) const;
  // The label of the request's path (whatever its method), or kOtherLabel.
  [[nodiscard]] std::string_view label_of(const HttpRequest& request) const;
  // Every label, once each, in the order first added, then kOtherLabel.
  [[nodiscard]] std::vector<std::string> labels() const;

 private:
  struct Route {
    std::string method, path, label;
    HttpHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace clearhouse::http
