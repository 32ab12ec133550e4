// Request ids: format, determinism under a seeded generator, uniqueness.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "gateway/request_id.h"

namespace clearhouse::gateway {
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
    const std::string id = make_request_id(a);
    EXPECT_EQ(id, make_request_id(b));
    EXPECT_TRUE(is_request_id(id)) << id;
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(RequestId, RecognisesOnlyTheCanonicalForm) {
  EXPECT_TRUE(is_request_id("0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(is_request_id(""));
  EXPECT_FALSE(is_request_id("0123456789ABCDEF0123456789abcdef"));
  EXPECT_FALSE(is_request_id("0123456789abcdef0123456789abcde"));
  EXPECT_FALSE(is_request_id("0123456789abcdef0123456789abcdeg"));
}

}  // namespace
}  // namespace clearhouse::gateway
