#include "http/http.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cassert>
#include <cctype>
#include <exception>
#include <optional>

#include "base/utf8.h"

namespace clearhouse::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

nlohmann::json null_if_empty(std::string_view s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(s));
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

bool HttpRequest::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return iequals(h.first, name); });
}

HttpError::HttpError(int status, const std::string& message, std::string type, std::string param,
                     std::string code)
    : std::runtime_error(message),
      status_(status),
      type_(type.empty() ? default_error_type(status) : std::move(type)),
      param_(std::move(param)),
      code_(std::move(code)) {}

std::string default_error_type(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    default: break;
  }
  return status >= 500 ? "server_error" : "invalid_request_error";
}

nlohmann::json error_body(int status, std::string_view message, std::string_view type,
                          std::string_view param, std::string_view code) {
  return {{"error",
           {{"message", std::string(message)},
            {"type", type.empty() ? default_error_type(status) : std::string(type)},
            {"param", null_if_empty(param)},
            {"code", null_if_empty(code)}}}};
}

HttpResponse error_response(int status, std::string_view message, std::string_view type,
                            std::string_view param, std::string_view code) {
  return json_response(status, error_body(status, message, type, param, code));
}

HttpResponse error_response(const HttpError& error) {
  return error_response(error.status(), error.what(), error.type(), error.param(), error.code());
}

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  response.body = to_response_text(body);
  return response;
}

std::string to_response_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// True when text nests arrays and objects more than max_depth deep (brackets inside strings do
// not count). A scan of the bytes, so the parser itself runs without a callback per value (the
// callback parser cost about twice the plain one); for valid JSON it decides as the parser's
// depth would, and invalid JSON is the parser's to report.
bool nests_deeper_than(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is, does not end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

}  // namespace

nlohmann::json parse_json_body(std::string_view body, int max_depth) {
  if (nests_deeper_than(body, max_depth)) {
    throw HttpError(400,
                    "request body nests JSON deeper than " + std::to_string(max_depth) + " levels");
  }
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    // JSON text is UTF-8 (RFC 8259); say so plainly rather than quote the parser on a bad byte.
    if (const std::optional<std::size_t> at = base::first_invalid_utf8(body)) {
      throw HttpError(400, "request body is not valid UTF-8 (first invalid byte at offset " +
                               std::to_string(*at) + ")");
    }
    throw HttpError(400, std::string("request body is not valid JSON: ") + e.what());
  }
  if (!value.is_object()) throw HttpError(400, "request body must be a JSON object");
  return value;
}

HttpResponse call_handler(const HttpHandler& handler, const HttpRequest& request) {
  try {
    return handler(request);
  } catch (const HttpError& e) {
    return error_response(e);
  } catch (const std::exception& e) {
    return error_response(500, std::string("internal error: ") + e.what());
  }
}

Task<HttpResponse> call_async_handler(const AsyncHttpHandler& handler, const HttpRequest& request) {
  // co_await is not allowed in a handler block: note the error, answer after it.
  std::optional<HttpResponse> failed;
  try {
    co_return co_await handler(request);
  } catch (const HttpError& e) {
    failed = error_response(e);
  } catch (const std::exception& e) {
    failed = error_response(500, std::string("internal error: ") + e.what());
  }
  co_return std::move(*failed);
}

HttpResponse run_to_completion(Task<HttpResponse> task) {
  boost::asio::io_context loop;
  std::optional<HttpResponse> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(loop, std::move(task), [&](std::exception_ptr e, HttpResponse response) {
    failure = e;
    if (!e) out = std::move(response);
  });
  loop.run();
  if (failure) std::rethrow_exception(failure);
  assert(out.has_value());
  return std::move(*out);
}

void make_stream_blocking(HttpResponse& response) {
  if (!response.async_stream) return;
  class Adapter : public AsyncBodyWriter {
   public:
    explicit Adapter(BodyWriter& out) : out_(out) {}
    Task<bool> write(std::string_view data) override { co_return out_.write(data); }

   private:
    BodyWriter& out_;
  };
  response.stream = [producer = std::move(response.async_stream)](BodyWriter& out) {
    Adapter adapter(out);
    boost::asio::io_context loop;
    bool complete = false;
    boost::asio::co_spawn(loop, producer(adapter),
                          [&complete](std::exception_ptr e, bool ok) { complete = !e && ok; });
    loop.run();
    return complete;
  };
  response.async_stream = nullptr;
}

void Router::add(std::string method, std::string path, std::string label, HttpHandler handler) {
  routes_.push_back(
      Route{std::move(method), std::move(path), std::move(label), std::move(handler), {}});
}

void Router::add_async(std::string method, std::string path, std::string label,
                       AsyncHttpHandler handler) {
  routes_.push_back(
      Route{std::move(method), std::move(path), std::move(label), {}, std::move(handler)});
}

std::string_view Router::label_of(const HttpRequest& request) const {
  for (const Route& route : routes_) {
    if (route.path == request.path) return route.label;
  }
  return kOtherLabel;
}

std::vector<std::string> Router::labels() const {
  std::vector<std::string> out;
  for (const Route& route : routes_) {
    if (std::find(out.begin(), out.end(), route.label) == out.end()) out.push_back(route.label);
  }
  out.emplace_back(kOtherLabel);
  return out;
}

const Router::Route* Router::find(const HttpRequest& request, HttpResponse& refusal) const {
  bool path_known = false;
  for (const Route& route : routes_) {
    if (route.path != request.path) continue;
    path_known = true;
    if (route.method == request.method) return &route;
  }
  refusal = path_known ? error_response(
                             405, "method " + request.method + " not allowed on " + request.path)
                       : error_response(404, "no route for " + request.method + " " + request.path,
                                        {}, {}, "unknown_url");
  return nullptr;
}

HttpResponse Router::handle(const HttpRequest& request) const {
  HttpResponse refusal;
  const Route* route = find(request, refusal);
  if (route == nullptr) return refusal;
  if (route->handler) return call_handler(route->handler, request);
  return run_to_completion(call_async_handler(route->async_handler, request));
}

Task<HttpResponse> Router::handle_async(const HttpRequest& request) const {
  HttpResponse refusal;
  const Route* route = find(request, refusal);
  if (route == nullptr) co_return refusal;
  if (route->handler) co_return call_handler(route->handler, request);
  co_return co_await call_async_handler(route->async_handler, request);
}

}  // namespace clearhouse::http
