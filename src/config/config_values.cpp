#include "config/config_values.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace clearhouse::config {
namespace {

constexpr int kMaxPort = 65535;

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
}

// Digits only, in [0, 65535]; nullopt otherwise.
std::optional<int> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 0 || port > kMaxPort) {
    return std::nullopt;
  }
  return port;
}

// Splits "host[:port]" / "[v6][:port]" into host and the port text ("" when absent).
std::pair<std::string_view, std::string_view> split_authority(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("'[' without ']'");
    const std::string_view host = authority.substr(1, close - 1);
    const std::string_view rest = authority.substr(close + 1);
    if (rest.empty()) return {host, {}};
    if (rest.front() != ':') throw std::invalid_argument("unexpected text after ']'");
    if (rest.size() == 1) throw std::invalid_argument("empty port");
    return {host, rest.substr(1)};
  }
  const std::size_t colon = authority.find(':');
  if (colon == std::string_view::npos) return {authority, {}};
  if (authority.find(':', colon + 1) != std::string_view::npos) {
    throw std::invalid_argument("an IPv6 address needs brackets, e.g. [::1]:8080");
  }
  if (colon + 1 == authority.size()) throw std::invalid_argument("empty port");
  return {authority.substr(0, colon), authority.substr(colon + 1)};
}

void check_host(std::string_view host) {
  if (host.empty()) throw std::invalid_argument("the host is empty");
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '/' || c == '[' || c == ']') {
      throw std::invalid_argument("the host has a character a host name cannot have");
    }
  }
}

}  // namespace

HostPort parse_host_port(std::string_view text) {
  const auto [host, port_text] = split_authority(text);
  if (port_text.empty()) throw std::invalid_argument("no port (host:port, e.g. 127.0.0.1:8080)");
  check_host(host);
  const std::optional<int> port = parse_port(port_text);
  if (!port) throw std::invalid_argument("the port must be an integer in [0, 65535]");
  return {std::string(host), *port};
}

std::string BaseUrl::to_string() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return scheme + "://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + prefix;
}

BaseUrl parse_base_url(std::string_view text) {
  BaseUrl url;
  if (text.starts_with("http://")) {
    url.scheme = "http";
    url.port = 80;
  } else if (text.starts_with("https://")) {
    url.scheme = "https";
    url.port = 443;
  } else {
    throw std::invalid_argument("must start with http:// or https://");
  }
  const std::string_view rest = text.substr(url.scheme.size() + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    throw std::invalid_argument("must not have a query or fragment");
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) {
    throw std::invalid_argument(
        "must not contain credentials (put the key in an environment "
        "variable and name it in api_key_env)");
  }
  const auto [host, port_text] = split_authority(authority);
  check_host(host);
  url.host = std::string(host);
  if (!port_text.empty()) {
    const std::optional<int> port = parse_port(port_text);
    if (!port || *port == 0)
      throw std::invalid_argument("the port must be an integer in [1, 65535]");
    url.port = *port;
  }
  std::string_view prefix =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (std::any_of(prefix.begin(), prefix.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
      })) {
    throw std::invalid_argument("the path has spaces or control characters");
  }
  url.prefix = std::string(prefix);
  return url;
}

bool is_config_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxConfigNameLength &&
         std::all_of(name.begin(), name.end(), is_name_char);
}

bool is_env_var_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front())) != 0) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

std::optional<std::string> normalize_sha256_hex(std::string_view text) {
  constexpr std::size_t kHexLength = 64;
  if (text.size() != kHexLength) return std::nullopt;
  std::string lower(text);
  for (char& c : lower) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return std::nullopt;
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return lower;
}

}  // namespace clearhouse::config
