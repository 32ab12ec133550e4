#include "gateway/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <stdexcept>

#include "config/config_values.h"

namespace clearhouse::gateway {
namespace {

constexpr std::size_t kDigestBytes = 32;
using Digest = std::array<unsigned char, kDigestBytes>;

// SHA-256 fetched from OpenSSL's default provider once: EVP_sha256() makes OpenSSL 3 look the
// algorithm up again on every digest (a lock and a property query, most of a short key's hash).
const EVP_MD* sha256_algorithm() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

Digest sha256(std::string_view data) {
  Digest digest{};
  unsigned int length = 0;
  const EVP_MD* md = sha256_algorithm();
  // Fails only on allocation failure or a broken OpenSSL install.
  if (md == nullptr ||
      EVP_Digest(data.data(), data.size(), digest.data(), &length, md, nullptr) != 1 ||
      length != kDigestBytes) {
    throw std::runtime_error("OpenSSL EVP_Digest(SHA-256) failed");
  }
  return digest;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_blanks(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  const Digest digest = sha256(data);
  std::string hex;
  hex.reserve(2 * kDigestBytes);
  for (unsigned char byte : digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0x0f];
  }
  return hex;
}

std::optional<std::string_view> bearer_token(std::string_view authorization_header) {
  static constexpr std::string_view kScheme = "bearer";
  const std::string_view header = trim_blanks(authorization_header);
  if (header.size() <= kScheme.size() || !is_blank(header[kScheme.size()])) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  const std::string_view token = trim_blanks(header.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  for (char c : token) {
    if (is_blank(c)) return std::nullopt;
  }
  return token;
}

ApiKeyTable::ApiKeyTable(const std::vector<ClientKeyConfig>& keys) {
  for (const ClientKeyConfig& key : keys) {
    std::optional<std::string> hash = config::normalize_sha256_hex(key.sha256);
    if (!hash) throw std::invalid_argument("key " + key.id + ": sha256 is not 64 hex characters");
    if (!id_by_hash_.emplace(std::move(*hash), key.id).second) {
      throw std::invalid_argument("key " + key.id + ": the same hash as another key");
    }
  }
}

std::optional<std::string> ApiKeyTable::authenticate(std::string_view secret) const {
  if (secret.empty()) return std::nullopt;
  const auto it = id_by_hash_.find(sha256_hex(secret));
  if (it == id_by_hash_.end()) return std::nullopt;
  return it->second;
}

bool ApiKeyTable::empty() const {
  return id_by_hash_.empty();
}

bool secret_matches(std::string_view secret, std::string_view expected_sha256_hex) {
  if (secret.empty() || expected_sha256_hex.size() != 2 * kDigestBytes) return false;
  Digest expected{};
  for (std::size_t i = 0; i < kDigestBytes; ++i) {
    const int high = hex_value(expected_sha256_hex[2 * i]);
    const int low = hex_value(expected_sha256_hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    expected[i] = static_cast<unsigned char>(high * 16 + low);
  }
  const Digest actual = sha256(secret);
  return CRYPTO_memcmp(actual.data(), expected.data(), kDigestBytes) == 0;
}

}  // namespace clearhouse::gateway
