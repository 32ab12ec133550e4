// Tests of the deterministic train/test split: disjoint, complete, stable, about 30% test.
#include "data/split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

namespace clearhouse::data {
namespace {

TEST(Split, ShippedDataIsDisjointCompleteAndAboutThirtyPercent) {
  const Dataset ds = load_zeroeval(std::string(CLEARHOUSE_SOURCE_DIR) + "/data");
  const QuestionSplit split = split_questions(ds);
  std::set<std::uint32_t> train(split.train.begin(), split.train.end());
  for (const std::uint32_t q : split.test)
    ASSERT_EQ(train.count(q), 0u) << "question in both parts";
  EXPECT_EQ(split.train.size() + split.test.size(), ds.questions().size());
  const double share =
      static_cast<double>(split.test.size()) / static_cast<double>(ds.questions().size());
  EXPECT_NEAR(share, 0.3, 0.04);
  // Also by identity: no (dataset, qid) on both sides.
  std::set<std::pair<std::string, std::string>> train_ids;
  for (const std::uint32_t q : split.train) {
    train_ids.emplace(ds.question(q).dataset, ds.question(q).qid);
  }
  for (const std::uint32_t q : split.test) {
    EXPECT_EQ(train_ids.count({ds.question(q).dataset, ds.question(q).qid}), 0u);
  }
}

TEST(Split, SideDependsOnlyOnTheQuestionId) {
  EXPECT_EQ(question_hash("gsm", "gsm8k-main-test-#0"), question_hash("gsm", "gsm8k-main-test-#0"));
  EXPECT_NE(question_hash("gsm", "1"), question_hash("math-l5", "1"));
  EXPECT_NE(question_hash("gsm", "1", 0), question_hash("gsm", "1", 1));
  // The separator keeps ("ab", "c") and ("a", "bc") apart.
  EXPECT_NE(question_hash("ab", "c"), question_hash("a", "bc"));
  // Golden value: the split must not change across platforms or releases.
  EXPECT_EQ(question_hash("gsm", "gsm8k-main-test-#0"), 0x6f44639c2046adcaull);
  EXPECT_FALSE(is_test_question("gsm", "x", 0.0));
  EXPECT_TRUE(is_test_question("gsm", "x", 1.0));
}

TEST(Split, FractionIsRespectedOnSyntheticIds) {
  int test = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) test += is_test_question("d", std::to_string(i)) ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(test) / n, 0.3, 0.015);
}

}  // namespace
}  // namespace clearhouse::data
