// Client API keys: the gateway stores only SHA-256 hashes of keys (config: keys[].sha256,
// admin_key.sha256; made with `clearhouse hash-key`), and authenticates a request by hashing the
// secret it presents and looking the hash up.
//
// Why hash first: comparing a presented secret with stored secrets byte by byte would take longer
// the more of a real key an attacker guessed. Hashing first makes the lookup depend only on the
// hash, which reveals nothing usable about the secret; the admin key, a single value, is compared
// in constant time. Keys are long random strings (`clearhouse hash-key --generate`: 256 bits), so
// an unsalted fast hash is enough: there is no dictionary to attack.
//
// Thread-safety: the free functions are pure; an ApiKeyTable is immutable after construction, so
// const members may be called from any number of threads.
//
// Example:
//   ApiKeyTable table(config.keys);
//   auto token = bearer_token(request.header("authorization"));   // "Bearer ch-..." -> "ch-..."
//   std::optional<std::string> key_id = token ? table.authenticate(*token) : std::nullopt;
//   if (!key_id) return unauthorized();
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/gateway_config.h"

namespace clearhouse::gateway {

// SHA-256 of `data` as 64 lowercase hex characters (OpenSSL EVP, libcrypto).
[[nodiscard]] std::string sha256_hex(std::string_view data);

// "Bearer <token>" (scheme case-insensitive, spaces and tabs around either part trimmed) -> token,
// a view into the header; nullopt if the header is empty, has another scheme, no token, or a token
// with spaces in it.
[[nodiscard]] std::optional<std::string_view> bearer_token(std::string_view authorization_header);

class ApiKeyTable {  // thread-safe after construction (const)
 public:
  ApiKeyTable() = default;
  // Keys as validated by parse_gateway_config. Throws std::invalid_argument for a hash that is not
  // 64 hex characters or one that appears twice (never repeating the hash).
  explicit ApiKeyTable(const std::vector<ClientKeyConfig>& keys);

  // The id of the key whose hash matches sha256(secret), or nullopt (also for an empty secret).
  // Hashes first, then looks up the hash, so the time taken does not depend on how much of a secret
  // matches.
  [[nodiscard]] std::optional<std::string> authenticate(std::string_view secret) const;
  [[nodiscard]] bool empty() const;
  [[nodiscard]] std::size_t size() const { return id_by_hash_.size(); }

 private:
  std::unordered_map<std::string, std::string> id_by_hash_;  // lowercase hex hash -> key id
};

// Constant-time comparison of sha256(secret) with an expected hex hash (for the admin key). False
// when the secret is empty or the expected hash is not 64 hex characters (e.g. "" = admin
// disabled).
[[nodiscard]] bool secret_matches(std::string_view secret, std::string_view expected_sha256_hex);

}  // namespace clearhouse::gateway
