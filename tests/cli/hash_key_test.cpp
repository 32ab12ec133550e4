// End to end: `clearhouse hash-key` hashes a key from standard input or generates a new one.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "support/run_binary.h"

namespace clearhouse::cli {
namespace {

using clearhouse::testing::run_clearhouse;
using clearhouse::testing::run_clearhouse_with_input;

constexpr const char* kAbcHash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(HashKeyCli, HashesTheFirstLineOfStandardInput) {
  for (const std::string input : {"abc", "abc\n", "abc\r\n", "abc\nsecond line\n"}) {
    const auto r = run_clearhouse_with_input("hash-key", input);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, std::string(kAbcHash) + "\n") << "input: " << input;
    EXPECT_EQ(r.err, "");
  }
}

TEST(HashKeyCli, EmptyInputIsAUsageError) {
  for (const std::string input : {"", "\n", "\r\n"}) {
    const auto r = run_clearhouse_with_input("hash-key", input);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("clearhouse: error: hash-key: no key on standard input"),
              std::string::npos)
        << r.err;
  }
}

TEST(HashKeyCli, KeysWithSurroundingBlanksAreRejectedWithoutEchoingThem) {
  const auto r = run_clearhouse_with_input("hash-key", " my-secret-value\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("starts or ends with a space"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("my-secret-value"), std::string::npos) << r.err;
}

TEST(HashKeyCli, GeneratesADistinctKeyWithItsHash) {
  const std::regex shape("key: (ch-[A-Za-z0-9_-]{43})\nsha256: ([0-9a-f]{64})\n");
  std::smatch first;
  const auto a = run_clearhouse("hash-key --generate");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_TRUE(std::regex_match(a.out, first, shape)) << a.out;
  // The printed hash is the hash of the printed key, as `hash-key` computes it.
  const auto rehash = run_clearhouse_with_input("hash-key", first[1].str() + "\n");
  EXPECT_EQ(rehash.out, first[2].str() + "\n");

  std::smatch second;
  const auto b = run_clearhouse("hash-key --generate");
  ASSERT_TRUE(std::regex_match(b.out, second, shape)) << b.out;
  EXPECT_NE(first[1].str(), second[1].str());
}

TEST(HashKeyCli, HelpDescribesBothModes) {
  const auto r = run_clearhouse("hash-key --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("standard input"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--generate"), std::string::npos) << r.out;
  const auto top = run_clearhouse("--help");
  EXPECT_NE(top.out.find("hash-key"), std::string::npos) << top.out;
}

}  // namespace
}  // namespace clearhouse::cli
