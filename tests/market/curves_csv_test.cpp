// Parsing the curves file (curves_csv.h): the good case, a round trip, and every bad input.
#include "market/curves_csv.h"

#include <gtest/gtest.h>

namespace clearhouse::market {
namespace {

constexpr std::string_view kGood =
    "provider,price_per_mtok,theta,accuracy,tokens\n"
    "A,0.2,64,0.1,50\n"
    "A,0.2,128,0.3,90.5\n"
    "B,0.1,64,0.2,40\n"
    "B,0.1,128,0.25,70\n";

TEST(CurvesCsv, ParsesProvidersInOrder) {
  const CurvesParse p = parse_curves_csv(kGood, "c.csv");
  ASSERT_TRUE(p.ok()) << p.error;
  ASSERT_EQ(p.providers.size(), 2U);
  EXPECT_EQ(p.providers[0].name, "A");
  EXPECT_DOUBLE_EQ(p.providers[0].usd_per_mtok, 0.2);
  ASSERT_EQ(p.providers[0].levels.size(), 2U);
  EXPECT_DOUBLE_EQ(p.providers[0].levels[1].tokens, 90.5);
  EXPECT_EQ(p.providers[1].name, "B");
}

TEST(CurvesCsv, AcceptsReorderedAndExtraColumnsQuotesAndCrlf) {
  const CurvesParse p = parse_curves_csv(
      "theta,provider,note,tokens,accuracy,price_per_mtok\r\n"
      "1,\"Qwen, maj\",x,10,0.5,0.1\r\n"
      "2,\"Qwen, maj\",y,20,0.6,0.1\r\n"
      "\r\n"
      "1,B,z,10,0.4,0.2\r\n"
      "2,B,z,20,0.45,0.2\r\n",
      "c.csv");
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.providers[0].name, "Qwen, maj");
  EXPECT_DOUBLE_EQ(p.providers[1].levels[1].accuracy, 0.45);
}

TEST(CurvesCsv, FormatRoundTrips) {
  const CurvesParse p = parse_curves_csv(kGood, "c.csv");
  const CurvesParse q = parse_curves_csv(format_curves_csv(p.providers), "again");
  ASSERT_TRUE(q.ok()) << q.error;
  ASSERT_EQ(q.providers.size(), p.providers.size());
  for (std::size_t k = 0; k < p.providers.size(); ++k) {
    EXPECT_EQ(q.providers[k].name, p.providers[k].name);
    for (std::size_t l = 0; l < p.providers[k].levels.size(); ++l) {
      EXPECT_EQ(q.providers[k].levels[l].tokens, p.providers[k].levels[l].tokens);
      EXPECT_EQ(q.providers[k].levels[l].accuracy, p.providers[k].levels[l].accuracy);
    }
  }
}

struct Bad {
  const char* text;
  const char* expected;  // substring of the error
};

TEST(CurvesCsv, RejectsBadInputNamingTheLine) {
  const Bad bad[] = {
      {"provider,price_per_mtok,theta,accuracy\nA,0.2,64,0.1\n", "line 1: missing column 'tokens'"},
      {"provider,theta,accuracy,tokens\nA,64,0.1,5\n", "line 1: missing column 'price_per_mtok'"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,0.2,64,1.2,50\nB,0.1,64,0.2,40\n",
       "line 2: accuracy 1.2 outside [0, 1]"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,0.2,64,0.2,50\nB,0.1,64,-0.1,40\n",
       "line 3: accuracy -0.1 outside [0, 1]"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,0.2,64,0.2,-5\nB,0.1,64,0.2,40\n",
       "line 2: negative tokens -5"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,-0.2,64,0.2,5\nB,0.1,64,0.2,40\n",
       "line 2: negative price_per_mtok -0.2"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,0.2,64,0.2,5\nA,0.2,64,0.3,6\n",
       "line 3: theta 64 is not greater than the previous 64"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,0.2,128,0.2,5\nA,0.2,64,0.3,6\n",
       "line 3: theta 64 is not greater than the previous 128"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,0.2,64,0.2,5\nA,0.2,128,0.3,6\n",
       "line 2: only one provider ('A')"},
      {"provider,price_per_mtok,theta,accuracy,tokens\n"
       "A,0.2,64,0.2,5\nA,0.2,128,0.3,6\nB,0.1,64,0.2,5\n",
       "line 4: provider 'B' has 1 theta levels"},
      {"provider,price_per_mtok,theta,accuracy,tokens\n"
       "A,0.2,64,0.2,5\nB,0.1,64,0.2,5\nB,0.1,128,0.3,6\n",
       "line 2: provider 'B' has 2 theta levels (lines 3-4) but provider 'A' has 1"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,0.2,64,0.2\n",
       "line 2: expected 5 fields, got 4"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,0.2,64,abc,5\n",
       "line 2: field 'accuracy' is not a finite number: 'abc'"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,0.2,64,nan,5\n",
       "line 2: field 'accuracy' is not a finite number"},
      {"provider,price_per_mtok,theta,accuracy,tokens\nA,0.2,64,0.2,5\nA,0.3,128,0.3,6\n",
       "line 3: price_per_mtok 0.3 differs from 0.2 on line 2"},
      {"provider,price_per_mtok,theta,accuracy,tokens\n"
       "A,0.2,64,0.2,5\nB,0.1,64,0.2,5\nA,0.2,128,0.3,6\n",
       "line 4: provider 'A' reappears after other providers"},
      {"provider,price_per_mtok,theta,accuracy,tokens\n\"A,0.2,64,0.2,5\n", "line 2: unterminated"},
      {"", "empty file"},
      {"provider,price_per_mtok,theta,accuracy,tokens\n", "no data rows"},
  };
  for (const Bad& b : bad) {
    const CurvesParse p = parse_curves_csv(b.text, "f.csv");
    EXPECT_FALSE(p.ok()) << b.text;
    EXPECT_NE(p.error.find(b.expected), std::string::npos) << "got: " << p.error;
    EXPECT_EQ(p.error.rfind("f.csv", 0), 0U) << p.error;
    EXPECT_TRUE(p.providers.empty());
  }
}

}  // namespace
}  // namespace clearhouse::market
