// Request ids: 128 random bits as 32 lowercase hex characters, drawn from a generator the caller
// passes in (so tests are deterministic and the gateway chooses its own entropy source, e.g. an
// std::mt19937_64 seeded from std::random_device per thread). The ledger treats ids as opaque
// strings that must be unique for all time; with 128 random bits, a collision among 10^12 requests
// has probability about 10^-15, and the ledger reports one as kDuplicateId rather than merging.
//
// Thread-safety: make_request_id uses only the generator it is given; a generator must not be shared
// between threads without a lock.
//
// Example:
//   std::mt19937_64 rng(std::random_device{}());
//   std::string id = make_request_id(rng);  // "3f9c0d…" (32 hex characters)
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace clearhouse::gateway {

inline constexpr std::size_t kRequestIdHexLength = 32;

// Formats two 64-bit words as 32 lowercase hex characters, high word first.
[[nodiscard]] std::string format_request_id(std::uint64_t high, std::uint64_t low);

// True for exactly 32 lowercase hex characters (the form make_request_id produces).
[[nodiscard]] bool is_request_id(std::string_view id);

template <std::uniform_random_bit_generator Generator>
[[nodiscard]] std::string make_request_id(Generator& generator) {
  std::uniform_int_distribution<std::uint64_t> word;
  const std::uint64_t high = word(generator);
  const std::uint64_t low = word(generator);
  return format_request_id(high, low);
}

}  // namespace clearhouse::gateway
