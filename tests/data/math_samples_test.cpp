// Tests of the Qwen2.5-Math samples loader.
#include "data/math_samples.h"

#include <gtest/gtest.h>

#include <string>

#include "data/data_error.h"

namespace clearhouse::data {
namespace {

TEST(MathSamples, GroupsFixtureByQuestionAndSample) {
  const MathSamples s = load_math_samples(std::string(CLEARHOUSE_FIXTURES) + "/data/samples.jsonl");
  ASSERT_EQ(s.question_count(), 2u);
  EXPECT_EQ(s.question(0).qid, "0");
  EXPECT_EQ(s.question(0).level, "Level 1");
  ASSERT_EQ(s.samples_of(0).size(), 3u);
  EXPECT_EQ(s.samples_of(0)[0].output_tokens, 20);  // sample 0 first, though it is on line 2
  EXPECT_EQ(s.samples_of(0)[2].output_tokens, 40);
  EXPECT_FALSE(s.samples_of(0)[2].correct);
  ASSERT_EQ(s.samples_of(1).size(), 2u);
  EXPECT_DOUBLE_EQ(s.samples_of(1)[1].reward_score, 1.0);
}

TEST(MathSamples, ShippedFileHasEightSamplesPerQuestion) {
  const MathSamples s = load_math_samples(std::string(CLEARHOUSE_SOURCE_DIR) +
                                          "/data/qwen25-math-samples/samples.jsonl");
  EXPECT_EQ(s.question_count(), 100u);
  for (std::size_t q = 0; q < s.question_count(); ++q) EXPECT_EQ(s.samples_of(q).size(), 8u);
}

TEST(MathSamples, BadLinesAreNamed) {
  const std::string ok =
      R"({"qid": 0, "question": "Q", "answer": "1", "sample": 0, "output_tokens": 3, "correct": true, "reward_score": 1.0})";
  try {
    parse_math_samples(ok + "\n" + ok + "\n", "s.jsonl");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.line(), 2u);
    EXPECT_EQ(e.field(), "sample");
  }
  try {
    parse_math_samples(
        R"({"qid": 0, "question": "Q", "answer": "1", "sample": 0, "output_tokens": -3, "correct": true, "reward_score": 1.0})",
        "s.jsonl");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.line(), 1u);
    EXPECT_EQ(e.field(), "output_tokens");
    EXPECT_NE(std::string(e.what()).find("s.jsonl:1: field 'output_tokens'"), std::string::npos);
  }
}

}  // namespace
}  // namespace clearhouse::data
