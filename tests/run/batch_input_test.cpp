// Parsing `clearhouse run`'s input: both line formats, and every bad line named by file:line:field.

#include "run/batch_input.h"

#include <gtest/gtest.h>

#include <string>

#include "support/param_names.h"

namespace clearhouse::run {
namespace {

const std::string kChatLine =
    R"({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 50}})";
const std::string kCompletionLine =
    R"({"custom_id": "b", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": "2+2=", "stream": true}})";
const std::string kQueryLine =
    R"({"id": "c", "prompt": "What is 2+2?", "tau": 120, "max_tokens": 300})";

TEST(BatchInput, ReadsBatchApiAndQueryLinesSkippingBlankOnes) {
  const auto queries = parse_batch(kChatLine + "\n\n" + kCompletionLine + "\n" + kQueryLine + "\n",
                                   "in.jsonl", "default-model");
  ASSERT_EQ(queries.size(), 3u);
  EXPECT_EQ(queries[0].id, "a");
  EXPECT_EQ(queries[0].endpoint, openai::Endpoint::kChat);
  EXPECT_EQ(queries[0].client_cap, 50);
  EXPECT_EQ(queries[0].prompt, "hi");
  EXPECT_EQ(queries[1].line, 3u);
  EXPECT_EQ(queries[1].endpoint, openai::Endpoint::kCompletions);
  EXPECT_FALSE(queries[1].client_cap.has_value());
  EXPECT_FALSE(queries[1].body.contains("stream"));  // run never streams
  EXPECT_EQ(queries[2].format, LineFormat::kQuery);
  EXPECT_EQ(queries[2].body["model"], "default-model");
  EXPECT_EQ(queries[2].body["messages"][0]["content"], "What is 2+2?");
  EXPECT_EQ(queries[2].tau, 120.0);
  EXPECT_EQ(queries[2].client_cap, 300);
  EXPECT_EQ(queries[0].dataset, "");
}

TEST(BatchInput, ALineMayNameItsDataset) {
  const auto queries = parse_batch(
      R"({"custom_id": "a", "dataset": "gsm", "url": "/v1/chat/completions", "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}})"
      "\n"
      R"({"id": "c", "prompt": "What is 2+2?", "dataset": "math-l5"})"
      "\n"
      R"({"custom_id": "d", "url": "/v1/completions", "body": {"model": "m", "prompt": "x", "metadata": {"dataset": "gsm"}}})",
      "in.jsonl", "m");
  ASSERT_EQ(queries.size(), 3u);
  EXPECT_EQ(queries[2].dataset, "gsm");  // body.metadata.dataset, as the gateway reads it
  EXPECT_EQ(queries[0].dataset, "gsm");
  EXPECT_FALSE(queries[0].body.contains("dataset"));  // not sent upstream
  EXPECT_EQ(queries[1].dataset, "math-l5");
}

struct BadInput {
  const char* name;
  std::string text;
  std::string default_model;
  std::string expected;  // the start of the message
};

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, NamesFileLineAndField) {
  const BadInput& c = GetParam();
  try {
    (void)parse_batch(c.text, "in.jsonl", c.default_model);
    FAIL() << "accepted: " << c.text;
  } catch (const RunInputError& e) {
    EXPECT_EQ(std::string(e.what()).substr(0, c.expected.size()), c.expected) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadInputTest,
    ::testing::Values(
        BadInput{"malformed_json", kChatLine + "\n{\"custom_id\": \n", "m",
                 "in.jsonl:2: line: not valid JSON"},
        BadInput{"not_an_object", "[1, 2]\n", "m", "in.jsonl:1: line: not a JSON object"},
        BadInput{"duplicate_custom_id", kChatLine + "\n" + kChatLine + "\n", "m",
                 "in.jsonl:2: custom_id: duplicate id \"a\""},
        BadInput{"duplicate_query_id", kQueryLine + "\n" + kQueryLine + "\n", "m",
                 "in.jsonl:2: id: duplicate"},
        BadInput{"unknown_url",
                 R"({"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {}})",
                 "m", "in.jsonl:1: url: unknown url \"/v1/embeddings\""},
        BadInput{"body_not_object",
                 R"({"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": "x"})",
                 "m", "in.jsonl:1: body: must be a JSON object"},
        BadInput{"missing_model",
                 R"({"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "x"}})", "",
                 "in.jsonl:1: body.model: missing"},
        BadInput{"method_not_post",
                 R"({"custom_id": "a", "method": "GET", "url": "/v1/completions", "body": {}})",
                 "m", "in.jsonl:1: method:"},
        BadInput{
            "bad_max_tokens",
            R"({"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "x", "max_tokens": -3}})",
            "m", "in.jsonl:1: body.max_tokens:"},
        BadInput{"dataset_not_a_string", R"({"id": "a", "prompt": "x", "dataset": 3})", "m",
                 "in.jsonl:1: dataset: must be a non-empty string"},
        BadInput{"negative_tau", R"({"id": "a", "prompt": "x", "tau": -1})", "m",
                 "in.jsonl:1: tau:"},
        BadInput{"prompt_and_messages", R"({"id": "a", "prompt": "x", "messages": []})", "m",
                 "in.jsonl:1: prompt:"},
        BadInput{"empty_file", "\n\n", "m", "in.jsonl: no queries"}),
    testing::NamedAfterMember{});

}  // namespace
}  // namespace clearhouse::run
