// `clearhouse hash-key [--generate]`: makes the SHA-256 hashes the gateway config stores instead of
// client and admin keys (gateway/api_keys.h; docs/gateway-config.md).
//
// Without --generate the secret is read from standard input (first line, trailing CR/LF stripped),
// never from the command line, where it would land in the shell history and in `ps`. With
// --generate a new key of 256 random bits from /dev/urandom is printed with its hash; only the hash
// goes in the config, the key goes to the client.
#include <array>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/errors.h"
#include "gateway/api_keys.h"

namespace clearhouse::cli {
namespace {

constexpr std::size_t kKeyBytes = 32;

struct HashKeyOptions {
  bool generate = false;
};

// RFC 4648 base64url without padding: URL-, header- and shell-safe.
std::string base64url(const std::array<unsigned char, kKeyBytes>& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string text;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned n = (unsigned{bytes[i]} << 16) | (unsigned{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) text += kAlphabet[(n >> shift) & 0x3f];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned n = unsigned{bytes[i]} << 16;
    if (rest == 2) n |= unsigned{bytes[i + 1]} << 8;
    for (std::size_t k = 0; k <= rest; ++k) text += kAlphabet[(n >> (18 - 6 * k)) & 0x3f];
  }
  return text;
}

std::string generate_key() {
  std::array<unsigned char, kKeyBytes> bytes{};
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(bytes.data()), bytes.size())) {
    throw UsageError("hash-key: cannot read 32 bytes from /dev/urandom");
  }
  return "ch-" + base64url(bytes);
}

void run_hash_key(const HashKeyOptions& options) {
  if (options.generate) {
    const std::string key = generate_key();
    std::printf("key: %s\nsha256: %s\n", key.c_str(), gateway::sha256_hex(key).c_str());
    return;
  }
  std::string secret;
  std::getline(std::cin, secret);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) {
    throw UsageError(
        "hash-key: no key on standard input (e.g. `printf '%s' \"$KEY\" | clearhouse "
        "hash-key`, or --generate for a new one)");
  }
  // An Authorization header cannot carry leading or trailing blanks, so such a key would never
  // match.
  if (secret.front() == ' ' || secret.front() == '\t' || secret.back() == ' ' ||
      secret.back() == '\t') {
    throw UsageError(
        "hash-key: the key starts or ends with a space or tab, which no client can send");
  }
  std::printf("%s\n", gateway::sha256_hex(secret).c_str());
}

}  // namespace

void add_hash_key_command(CLI::App& app) {
  auto options = std::make_shared<HashKeyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "hash-key",
      "Print the SHA-256 of a client or admin key for the gateway config. The key is read from the "
      "first line of standard input, never from the command line");
  cmd->add_flag(
      "--generate", options->generate,
      "Instead, make a new random key (256 bits, 'ch-' + base64url) and print "
      "'key: ...' and 'sha256: ...'; give the key to the client, put the hash in the config");
  cmd->footer(
      "Examples:\n"
      "  clearhouse hash-key --generate\n"
      "  printf '%s' \"$CLIENT_KEY\" | clearhouse hash-key\n"
      "Then in the config: keys: [{id: team-a, sha256: <hash>}] or admin_key: {sha256: <hash>}");
  cmd->callback([options] { run_hash_key(*options); });
}

}  // namespace clearhouse::cli
