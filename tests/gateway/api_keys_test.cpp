// Client keys: SHA-256 test vectors, Bearer parsing, the key table and the admin-key comparison.
#include "gateway/api_keys.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace clearhouse::gateway {
namespace {

// FIPS 180-2 / NIST test vectors.
TEST(Sha256Hex, MatchesKnownTestVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Hex, HashesEmbeddedNulBytes) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(sha256_hex(with_nul), sha256_hex("a"));
  EXPECT_EQ(sha256_hex(with_nul).size(), 64u);
}

TEST(BearerToken, ParsesTheSchemeCaseInsensitivelyAndTrimsBlanks) {
  EXPECT_EQ(bearer_token("Bearer ch-abc"), "ch-abc");
  EXPECT_EQ(bearer_token("bearer ch-abc"), "ch-abc");
  EXPECT_EQ(bearer_token("BEARER ch-abc"), "ch-abc");
  EXPECT_EQ(bearer_token("  Bearer \t  ch-abc  "), "ch-abc");
  EXPECT_EQ(bearer_token("Bearer\tch-abc"), "ch-abc");
  // The token is a view into the header, not a copy.
  const std::string header = "Bearer xyz";
  const std::optional<std::string_view> token = bearer_token(header);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->data(), header.data() + 7);
}

TEST(BearerToken, RejectsMissingOrMalformedHeaders) {
  EXPECT_EQ(bearer_token(""), std::nullopt);
  EXPECT_EQ(bearer_token("   "), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer    "), std::nullopt);
  EXPECT_EQ(bearer_token("Bearerch-abc"), std::nullopt);
  EXPECT_EQ(bearer_token("Basic dXNlcjpwYXNz"), std::nullopt);
  EXPECT_EQ(bearer_token("Token ch-abc"), std::nullopt);
  EXPECT_EQ(bearer_token("Bearer two tokens"), std::nullopt);
  EXPECT_EQ(bearer_token("ch-abc"), std::nullopt);
}

std::vector<ClientKeyConfig> two_keys() {
  return {{.id = "team-a", .sha256 = sha256_hex("secret-a"), .budget_tokens = 100},
          {.id = "team-b", .sha256 = sha256_hex("secret-b"), .budget_tokens = std::nullopt}};
}

TEST(ApiKeyTable, AuthenticatesExactSecretsOnly) {
  const ApiKeyTable table(two_keys());
  EXPECT_FALSE(table.empty());
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.authenticate("secret-a"), "team-a");
  EXPECT_EQ(table.authenticate("secret-b"), "team-b");
  EXPECT_EQ(table.authenticate("secret-c"), std::nullopt);
  EXPECT_EQ(table.authenticate("secret-a "), std::nullopt);
  EXPECT_EQ(table.authenticate("secret-"), std::nullopt);
  EXPECT_EQ(table.authenticate(""), std::nullopt);
  // The hash itself is not a key.
  EXPECT_EQ(table.authenticate(sha256_hex("secret-a")), std::nullopt);
}

TEST(ApiKeyTable, AcceptsUppercaseHashesAndRejectsBadOrDuplicateOnes) {
  std::vector<ClientKeyConfig> keys = two_keys();
  for (char& c : keys[0].sha256) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(ApiKeyTable(keys).authenticate("secret-a"), "team-a");

  keys[1].sha256 = sha256_hex("secret-a");
  EXPECT_THROW(ApiKeyTable{keys}, std::invalid_argument);
  keys[1].sha256 = "not-a-hash";
  try {
    ApiKeyTable table(keys);
    ADD_FAILURE() << "no error for a malformed hash";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "key team-b: sha256 is not 64 hex characters");
  }
}

TEST(ApiKeyTable, DefaultTableIsEmptyAndAuthenticatesNobody) {
  const ApiKeyTable table;
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.authenticate("anything"), std::nullopt);
}

TEST(SecretMatches, ComparesTheHashOfTheSecret) {
  const std::string hash = sha256_hex("admin-secret");
  EXPECT_TRUE(secret_matches("admin-secret", hash));
  std::string upper = hash;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(secret_matches("admin-secret", upper));
  EXPECT_FALSE(secret_matches("admin-secreT", hash));
  EXPECT_FALSE(secret_matches("", hash));
  EXPECT_FALSE(secret_matches("", sha256_hex("")));  // an empty secret never matches
  EXPECT_FALSE(secret_matches("admin-secret", ""));  // admin disabled
  EXPECT_FALSE(secret_matches("admin-secret", hash.substr(0, 63)));
  std::string bad = hash;
  bad[10] = 'g';
  EXPECT_FALSE(secret_matches("admin-secret", bad));
  EXPECT_FALSE(secret_matches(hash, hash));  // the hash itself is not the secret
}

}  // namespace
}  // namespace clearhouse::gateway
