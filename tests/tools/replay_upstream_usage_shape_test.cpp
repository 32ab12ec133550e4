// Usage shapes (openai, llamacpp, vllm-continuous, none) and reasoning mode on the chat and
// completions endpoints, through ReplayUpstream::handle on an instant clock.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "tools/replay_upstream.h"
#include "tools/replay_upstream_answer.h"
#include "tools/replay_upstream_format.h"
#include "tools/replay_upstream_test_util.h"

namespace clearhouse::tools {
namespace {

using nlohmann::json;
using testing::chat_body;
using testing::chunks;
using testing::kQuestion;
using testing::post;
using testing::run_stream;

struct Fixture {
  explicit Fixture(ReplayUpstreamOptions options = {})
      : upstream(testing::tiny_store(), std::move(options),
                 std::make_shared<InstantPacingClock>()) {}
  ReplayUpstream upstream;
};

ReplayUpstreamOptions with_shape(UsageShape shape, double reasoning_share = 0) {
  ReplayUpstreamOptions o;
  o.usage_shape = shape;
  o.reasoning_share = reasoning_share;
  return o;
}

const json kIncludeUsage = {{"stream", true}, {"stream_options", {{"include_usage", true}}}};

// model-a's prompt estimate for kQuestion as one chat message / as a completions prompt.
const std::int64_t kChatPrompt = estimate_prompt_tokens(14, 1, 49.0 / 14.0);
const std::int64_t kCompletionPrompt = estimate_prompt_tokens(14, 0, 49.0 / 14.0);

std::vector<json> chat_stream(const Fixture& f, json extra = kIncludeUsage) {
  const auto s =
      run_stream(f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion, extra))));
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.payloads.back(), "[DONE]");
  return chunks(s);
}

TEST(ReplayUpstreamUsageShape, NamesParseBothWaysAndUnknownOnesAreRefused) {
  for (const auto* name : {"openai", "llamacpp", "vllm-continuous", "none"}) {
    EXPECT_EQ(to_string(parse_usage_shape(name)), name);
  }
  EXPECT_THROW((void)parse_usage_shape("vllm"), std::invalid_argument);
  EXPECT_THROW((void)parse_usage_shape(""), std::invalid_argument);
}

TEST(ReplayUpstreamUsageShape, LlamaCppPutsUsageOnTheFinishChunkAskedOrNot) {
  Fixture f(with_shape(UsageShape::kLlamaCpp));
  for (const json& extra : {kIncludeUsage, json{{"stream", true}}}) {
    const auto c = chat_stream(f, extra);
    ASSERT_EQ(c.size(), 1u + 10u + 1u) << extra;  // role, tokens, finish (no usage-only chunk)
    for (std::size_t i = 0; i + 1 < c.size(); ++i) EXPECT_FALSE(c[i].contains("usage")) << i;
    const json& last = c.back();
    ASSERT_EQ(last["choices"].size(), 1u);
    EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
    EXPECT_EQ(last["usage"]["prompt_tokens"], kChatPrompt);
    EXPECT_EQ(last["usage"]["completion_tokens"], 10);
    EXPECT_EQ(last["usage"]["total_tokens"], kChatPrompt + 10);
  }
  // Completions too; a cut answer's finish chunk says "length" and the cap.
  const auto c = chunks(run_stream(f.upstream.handle(
      post("/v1/completions", {{"prompt", kQuestion}, {"stream", true}, {"max_tokens", 4}}))));
  ASSERT_EQ(c.size(), 4u + 1u);
  EXPECT_EQ(c.back()["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(c.back()["usage"]["completion_tokens"], 4);
  EXPECT_EQ(c.back()["usage"]["prompt_tokens"], kCompletionPrompt);
}

TEST(ReplayUpstreamUsageShape, VllmContinuousUsageGrowsChunkByChunk) {
  Fixture f(with_shape(UsageShape::kVllmContinuous));
  const auto c = chat_stream(
      f, json{{"stream", true}, {"max_tokens", 5}, {"stream_options", {{"include_usage", true}}}});
  ASSERT_EQ(c.size(), 1u + 5u + 1u + 1u);  // role, tokens, finish, usage
  const std::vector<std::int64_t> expected = {0, 1, 2, 3, 4, 5, 5, 5};
  for (std::size_t i = 0; i < c.size(); ++i) {
    ASSERT_TRUE(c[i]["usage"].is_object()) << i;
    EXPECT_EQ(c[i]["usage"]["prompt_tokens"], kChatPrompt) << i;
    EXPECT_EQ(c[i]["usage"]["completion_tokens"], expected[i]) << i;
    EXPECT_EQ(c[i]["usage"]["total_tokens"], kChatPrompt + expected[i]) << i;
  }
  EXPECT_EQ(c[6]["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(c.back()["choices"].empty());
  // Not asked for include_usage: still usage on every chunk, but no usage-only chunk.
  const auto d = chat_stream(f, json{{"stream", true}});
  ASSERT_EQ(d.size(), 1u + 10u + 1u);
  EXPECT_EQ(d.back()["usage"]["completion_tokens"], 10);
  EXPECT_FALSE(d.back()["choices"].empty());
}

TEST(ReplayUpstreamUsageShape, NoneSendsNoUsageStreamedOrNot) {
  Fixture f(with_shape(UsageShape::kNone));
  const auto c = chat_stream(f);
  ASSERT_EQ(c.size(), 1u + 10u + 1u);
  for (const json& chunk : c) {
    EXPECT_FALSE(chunk.contains("usage"));
    EXPECT_FALSE(chunk["choices"].empty());
  }
  const json b =
      json::parse(f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion))).body);
  EXPECT_FALSE(b.contains("usage"));
  EXPECT_EQ(b["choices"][0]["finish_reason"], "stop");
  const json t =
      json::parse(f.upstream.handle(post("/v1/completions", {{"prompt", kQuestion}})).body);
  EXPECT_FALSE(t.contains("usage"));
}

TEST(ReplayUpstreamUsageShape, NonStreamingAnswersCarryUsageInEveryOtherShape) {
  for (const UsageShape shape :
       {UsageShape::kOpenAI, UsageShape::kLlamaCpp, UsageShape::kVllmContinuous}) {
    Fixture f(with_shape(shape));
    const json b =
        json::parse(f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion))).body);
    EXPECT_EQ(b["usage"]["completion_tokens"], 10) << to_string(shape);
    EXPECT_FALSE(b["usage"].contains("completion_tokens_details")) << to_string(shape);
  }
}

TEST(ReplayUpstreamReasoning, ShareOfTheAnswerIsReportedAsReasoningTokens) {
  Fixture f(with_shape(UsageShape::kOpenAI, 0.5));
  const json b =
      json::parse(f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion))).body);
  EXPECT_EQ(b["choices"][0]["message"]["content"], testing::kAnswer);  // the text is unchanged
  EXPECT_EQ(b["usage"]["completion_tokens"], 10);                      // still the total
  EXPECT_EQ(b["usage"]["completion_tokens_details"]["reasoning_tokens"], 5);
  EXPECT_EQ(b["usage"]["total_tokens"], kChatPrompt + 10);
  // A cut answer: the share is of the 3 tokens generated (round(1.5) = 2).
  const json cut = json::parse(
      f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion, {{"max_tokens", 3}})))
          .body);
  EXPECT_EQ(cut["usage"]["completion_tokens"], 3);
  EXPECT_EQ(cut["usage"]["completion_tokens_details"]["reasoning_tokens"], 2);
  // The stream's usage chunk, and completions.
  EXPECT_EQ(chat_stream(f).back()["usage"]["completion_tokens_details"]["reasoning_tokens"], 5);
  const json t = json::parse(
      f.upstream.handle(post("/v1/completions", {{"prompt", kQuestion}, {"max_tokens", 4}})).body);
  EXPECT_EQ(t["usage"]["completion_tokens_details"]["reasoning_tokens"], 2);
}

TEST(ReplayUpstreamReasoning, ContinuousUsageCountsReasoningSoFar) {
  Fixture f(with_shape(UsageShape::kVllmContinuous, 0.3));
  const auto c = chat_stream(f, json{{"stream", true}});
  ASSERT_EQ(c.size(), 1u + 10u + 1u);
  for (std::size_t i = 0; i < c.size(); ++i) {
    const std::int64_t tokens = c[i]["usage"]["completion_tokens"];
    EXPECT_EQ(c[i]["usage"]["completion_tokens_details"]["reasoning_tokens"],
              reasoning_tokens_of(0.3, tokens))
        << i;
  }
  EXPECT_EQ(c.back()["usage"]["completion_tokens_details"]["reasoning_tokens"], 3);
}

TEST(ReplayUpstreamReasoning, ShareRoundsWithinTheAnswerAndMustBeInZeroToOne) {
  EXPECT_EQ(reasoning_tokens_of(0, 10), 0);
  EXPECT_EQ(reasoning_tokens_of(1, 10), 10);
  EXPECT_EQ(reasoning_tokens_of(0.25, 10), 3);  // 2.5 rounds away from zero
  EXPECT_EQ(reasoning_tokens_of(0.5, 0), 0);
  for (const double bad : {-0.1, 1.5, std::nan("")}) {
    ReplayUpstreamOptions o;
    o.reasoning_share = bad;
    EXPECT_THROW(ReplayUpstream(testing::tiny_store(), o), std::invalid_argument) << bad;
  }
}

TEST(ReplayUpstreamUsageShape, NoUsageFaultSilencesEveryShape) {
  Fixture f(with_shape(UsageShape::kVllmContinuous));
  const auto c = chunks(
      run_stream(f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion, kIncludeUsage),
                                        {{"x-replay-fault", "no-usage"}}))));
  ASSERT_EQ(c.size(), 1u + 10u + 1u);
  for (const json& chunk : c) EXPECT_FALSE(chunk.contains("usage"));
}

}  // namespace
}  // namespace clearhouse::tools
