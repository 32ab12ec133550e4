#include "http/request_head.h"

#include <boost/beast/core/error.hpp>
#include <iterator>

namespace clearhouse::http {

namespace bhttp = boost::beast::http;

void apply_limits(RequestParser& parser, const RequestLimits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
}

std::optional<Rejection> check_head(const RequestParser& parser, const RequestLimits& limits) {
  const auto& message = parser.get();
  if (message.target().size() > limits.max_url_bytes) {
    return Rejection{
        414, "request target longer than " + std::to_string(limits.max_url_bytes) + " bytes"};
  }
  const auto fields = static_cast<std::size_t>(std::distance(message.begin(), message.end()));
  if (fields > limits.max_header_count) {
    return Rejection{
        431, "more than " + std::to_string(limits.max_header_count) + " request header fields"};
  }
  return std::nullopt;
}

Rejection rejection_for(const boost::beast::error_code& ec, const RequestLimits& limits) {
  if (ec == bhttp::error::header_limit) {
    return {431, "request header section larger than " + std::to_string(limits.max_header_bytes) +
                     " bytes"};
  }
  if (ec == bhttp::error::body_limit) {
    return {413,
            "request body too large (limit " + std::to_string(limits.max_body_bytes) + " bytes)"};
  }
  if (ec == boost::beast::error::timeout) return {408, "request not received in time"};
  return {400, "malformed HTTP request: " + ec.message()};
}

HttpRequest request_head(const RequestParser& parser) {
  const auto& message = parser.get();
  HttpRequest out;
  out.method = std::string(message.method_string());
  const std::string_view target(message.target().data(), message.target().size());
  out.path = std::string(target.substr(0, target.find('?')));
  out.headers.reserve(16);
  for (const auto& field : message) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return out;
}

std::variant<HttpRequest, Rejection> parse_request(std::string_view bytes,
                                                   const RequestLimits& limits) {
  RequestParser parser;
  apply_limits(parser, limits);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (!ec && !parser.is_done() && used < bytes.size()) {
    const std::size_t n =
        parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (n == 0 && !ec) break;  // needs more than there is
    used += n;
    if (!ec && parser.is_header_done()) {
      if (auto rejected = check_head(parser, limits)) return *rejected;
    }
  }
  if (ec == bhttp::error::need_more) ec = {};
  if (ec) return rejection_for(ec, limits);
  if (!parser.is_done()) return Rejection{400, "incomplete HTTP request"};
  HttpRequest request = request_head(parser);
  request.body = std::move(parser.get().body());
  return request;
}

}  // namespace clearhouse::http
