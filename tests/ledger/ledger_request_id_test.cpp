// Request ids: format, determinism under a seeded generator, uniqueness.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "ledger/request_id.h"

namespace clearhouse::ledger {
namespace {

TEST(RequestId, FormatsHighWordFirstInLowercaseHex) {
  EXPECT_EQ(format_request_id(0, 0), std::string(32, '0'));
  EXPECT_EQ(format_request_id(0x0123456789abcdefULL, 0xfedcba9876543210ULL),
            "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(format_request_id(~0ULL, 1), "ffffffffffffffff0000000000000001");
}

TEST(RequestId, SeededGeneratorGivesTheSameIdsAndNoDuplicates) {
  std::mt19937_64 a(42);
  std::mt19937_64 b(42);
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    // All in one millisecond: uniqueness rests on the 80 random bits alone.
    const std::string id = make_request_id(a, 1'700'000'000'000);
    EXPECT_EQ(id, make_request_id(b, 1'700'000'000'000));
    EXPECT_TRUE(is_request_id(id)) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(RequestId, StartsWithTheTimeSoIdsSortByCreation) {
  std::mt19937_64 rng(7);
  // 1,700,000,000,000 ms = 0x18bcfe56800.
  const std::string id = make_request_id(rng, 1'700'000'000'000);
  EXPECT_EQ(id.substr(0, 12), "018bcfe56800") << id;
  std::string previous;
  for (std::int64_t t = 1'700'000'000'000; t < 1'700'000'000'000 + 2000; t += 7) {
    const std::string next = make_request_id(rng, t);
    EXPECT_LT(previous, next) << "at " << t;
    previous = next;
  }
}

TEST(RequestId, ClampsTimesOutsideFortyEightBits) {
  EXPECT_EQ(request_id_words(-5, 0, 0).first, 0u);
  EXPECT_EQ(request_id_words(std::int64_t{1} << 50, 0, 0).first, ((std::uint64_t{1} << 48) - 1)
                                                                     << 16);
  // Only 16 bits of random_high16 are kept: the time is never overwritten.
  EXPECT_EQ(request_id_words(1, ~0ULL, 9).first, (std::uint64_t{1} << 16) | 0xFFFF);
  EXPECT_EQ(request_id_words(1, ~0ULL, 9).second, 9u);
}

TEST(RequestId, RecognisesOnlyTheCanonicalForm) {
  EXPECT_TRUE(is_request_id("0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(is_request_id(""));
  EXPECT_FALSE(is_request_id("0123456789ABCDEF0123456789abcdef"));
  EXPECT_FALSE(is_request_id("0123456789abcdef0123456789abcde"));
  EXPECT_FALSE(is_request_id("0123456789abcdef0123456789abcdeg"));
}

}  // namespace
}  // namespace clearhouse::ledger
