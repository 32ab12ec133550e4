// Request ids: 32 lowercase hex characters: the creation time in milliseconds since the Unix epoch
// (48 bits, 12 characters) followed by 80 random bits (20 characters) drawn from a generator the
// caller passes in (so tests are deterministic and the gateway chooses its own entropy source, e.g.
// an std::mt19937_64 seeded from std::random_device). The ledger treats ids as opaque strings that
// must be unique for all time; ids made in the same millisecond share their first 12 characters and
// differ in 80 random bits (a collision among a million ids made in one millisecond has probability
// about 4e-13), and the ledger reports one as kDuplicateId rather than merging.
//
// Why time first: ids then sort by creation time, so the ledger's unique index on them grows at its
// right end and a batch of reserves dirties one or two index pages. Random ids dirty a different
// page per reserve, and every dirty page is a 4 KiB write to SQLite's WAL.
//
// Thread-safety: make_request_id uses only the generator it is given; a generator must not be
// shared between threads without a lock.
//
// Example:
//   std::mt19937_64 rng(std::random_device{}());
//   std::string id = make_request_id(rng, clock.now_ms());  // "019ab3f9c0d1…" (32 hex characters)
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>

namespace clearhouse::ledger {

inline constexpr std::size_t kRequestIdHexLength = 32;

// Formats two 64-bit words as 32 lowercase hex characters, high word first.
[[nodiscard]] std::string format_request_id(std::uint64_t high, std::uint64_t low);

// The high and low words of an id made at now_ms (clamped to [0, 2^48)) from 80 random bits.
[[nodiscard]] std::pair<std::uint64_t, std::uint64_t> request_id_words(std::int64_t now_ms,
                                                                       std::uint64_t random_high16,
                                                                       std::uint64_t random_low64);

// True for exactly 32 lowercase hex characters (the form make_request_id produces).
[[nodiscard]] bool is_request_id(std::string_view id);

template <std::uniform_random_bit_generator Generator>
[[nodiscard]] std::string make_request_id(Generator& generator, std::int64_t now_ms) {
  std::uniform_int_distribution<std::uint64_t> word;
  const std::uint64_t random_high16 = word(generator);
  const std::uint64_t random_low64 = word(generator);
  const auto [high, low] = request_id_words(now_ms, random_high16, random_low64);
  return format_request_id(high, low);
}

}  // namespace clearhouse::ledger
