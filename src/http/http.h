// A small HTTP request/response interface that hides the HTTP server (Boost.Beast, only in
// http/server.cpp) from the handlers, so handlers are plain functions testable without sockets.
//
// A handler maps an HttpRequest to an HttpResponse, either at once (HttpHandler) or as a coroutine
// on the server's event loop (AsyncHttpHandler, a Task<HttpResponse>: it may co_await upstream I/O
// but must never block the thread). A response carries its whole body, or a body written piece by
// piece (server-sent events) after the handler returned: a BodyProducer, which runs on a thread of
// its own and may block, or an AsyncBodyProducer, a coroutine on the event loop, which costs no
// thread while it waits (the gateway's streams). Expected failures are thrown as HttpError and
// turned by Router into OpenAI-style error bodies:
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

#include "http/coro.h"

namespace clearhouse::http {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;   // "GET", "POST", ...
  std::string path;     // without the query string
  HttpHeaders headers;  // names as received; look them up with header()
  std::string body;
  // Who sent the request, when the server's admit_head established it (the gateway: the API key's
  // id, so the key is hashed once per request); empty otherwise. Never read from the wire.
  std::string principal{};

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

// The event loop's BodyWriter: co_await write(data) resumes once the data is handed to the socket
// (backpressure), with false once the client has gone away. `data` must stay valid until then.
class AsyncBodyWriter {
 public:
  virtual ~AsyncBodyWriter() = default;
  virtual Task<bool> write(std::string_view data) = 0;
};

// BodyProducer's coroutine form: runs on the event loop, must not block.
using AsyncBodyProducer = std::function<Task<bool>(AsyncBodyWriter&)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  HttpHeaders headers;  // extra headers
  std::string body;     // the body, when `stream` is empty
  // When one is set, the body is sent as written: chunked to HTTP/1.1 clients, and to HTTP/1.0
  // clients as raw bytes ended by closing the connection. At most one of the two is set.
  BodyProducer stream;
  AsyncBodyProducer async_stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// The request outlives the returned task (the server awaits it); an async_stream must not refer to
// the request.
using AsyncHttpHandler = std::function<Task<HttpResponse>(const HttpRequest&)>;

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
// call_async_handler is the same for a coroutine.
[[nodiscard]] HttpResponse call_handler(const HttpHandler& handler, const HttpRequest& request);
[[nodiscard]] Task<HttpResponse> call_async_handler(const AsyncHttpHandler& handler,
                                                    const HttpRequest& request);

// Runs a task to completion on a private event loop of the calling thread (tests, tools, and
// Router::handle for async routes).
HttpResponse run_to_completion(Task<HttpResponse> task);

// Turns an async_stream into a blocking BodyProducer that runs it on a private event loop of the
// calling thread (tests, tools). No-op for other responses.
void make_stream_blocking(HttpResponse& response);

// The route table: each route is a method, an exact path, a metric label (a fixed string, so client
// input never becomes a label value) and a handler.
class Router {
 public:
  static constexpr std::string_view kOtherLabel = "other";  // the label of an unknown path

  // A route answered at once (it must not block for long: under the server it runs on the event
  // loop when served through handle_async), or a coroutine.
  void add(std::string method, std::string path, std::string label, HttpHandler handler);
  void add_async(std::string method, std::string path, std::string label, AsyncHttpHandler handler);
  // handle() answers async routes by running their coroutine to completion on a private loop (for
  // tests and tools); the server uses handle_async().
  [[nodiscard]] HttpResponse handle(const HttpRequest& request) const;
  [[nodiscard]] Task<HttpResponse> handle_async(const HttpRequest& request) const;
  // The label of the request's path (whatever its method), or kOtherLabel.
  [[nodiscard]] std::string_view label_of(const HttpRequest& request) const;
  // Every label, once each, in the order first added, then kOtherLabel.
  [[nodiscard]] std::vector<std::string> labels() const;

 private:
  struct Route {
    std::string method, path, label;
    HttpHandler handler;             // set for add()
    AsyncHttpHandler async_handler;  // set for add_async()
  };
  // The route for the request's method and path, or the 404/405 to send.
  [[nodiscard]] const Route* find(const HttpRequest& request, HttpResponse& refusal) const;
  std::vector<Route> routes_;
};

}  // namespace clearhouse::http
