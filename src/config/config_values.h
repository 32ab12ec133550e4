// The small value syntaxes of the gateway config (gateway_config.h): listen addresses, upstream
// base URLs, names and ids, environment variable names and SHA-256 hex strings. Kept apart from the
// YAML reading so the gateway can split a validated base_url into host, port and path prefix with
// the same rules the config checked.
//
// Error texts (std::invalid_argument::what()) say what is wrong without repeating the input, since
// a base URL may carry credentials.
//
// Thread-safety: pure functions.
//
// Example:
//   HostPort where = parse_host_port("[::1]:8080");           // {"::1", 8080}
//   BaseUrl url = parse_base_url("http://127.0.0.1:9000/v1");  // {"http", "127.0.0.1", 9000,
//   "/v1"}
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace clearhouse::config {

struct HostPort {
  std::string host;  // without brackets for IPv6 literals
  int port = 0;      // in [0, 65535]
};

// "host:port" or "[ipv6]:port", port in [0, 65535]; throws std::invalid_argument otherwise.
[[nodiscard]] HostPort parse_host_port(std::string_view text);

struct BaseUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6 literals
  int port = 0;        // as written, else 80 for http and 443 for https
  std::string prefix;  // "" or "/path" without a trailing '/'
  // scheme://host:port (IPv6 in brackets) followed by the prefix: the normalized URL.
  [[nodiscard]] std::string to_string() const;
};

// http(s)://host[:port][/prefix] with no credentials, query or fragment; trailing '/' are dropped.
// Throws std::invalid_argument with a reason that does not repeat the URL.
[[nodiscard]] BaseUrl parse_base_url(std::string_view text);

// Longest upstream name or key id: the ledger stores them, and logs print them.
inline constexpr std::size_t kMaxConfigNameLength = 64;

// Upstream names and key ids: 1 to kMaxConfigNameLength characters of [A-Za-z0-9._-].
[[nodiscard]] bool is_config_name(std::string_view name);

// [A-Za-z_][A-Za-z0-9_]*
[[nodiscard]] bool is_env_var_name(std::string_view name);

// 64 hex characters of either case, returned in lowercase; nullopt otherwise.
[[nodiscard]] std::optional<std::string> normalize_sha256_hex(std::string_view text);

}  // namespace clearhouse::config
