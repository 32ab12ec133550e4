#include "openai/stream_relay.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace clearhouse::openai {
namespace {

using nlohmann::json;

std::string chunk(const std::string& content) {
  return http::sse_data(json{
      {"choices", {{{"index", 0}, {"delta", {{"content", content}}}}}},
      {"usage", nullptr}}.dump());
}
const std::string kUsageChunk = http::sse_data(
    json{{"choices", json::array()}, {"usage", {{"completion_tokens", 7}, {"prompt_tokens", 3}}}}
        .dump());

TEST(StreamRelay, StripsUsageTheClientDidNotAskFor) {
  StreamRelay relay(false);
  std::string out = relay.feed(chunk("Hel") + chunk("lo"));
  out += relay.feed(kUsageChunk + std::string(http::kSseDone));
  const auto events = http::parse_sse(out);
  ASSERT_EQ(events.size(), 3u);  // two content chunks and [DONE]; the usage chunk is gone
  EXPECT_FALSE(json::parse(events[0]).contains("usage"));
  EXPECT_EQ(json::parse(events[1])["choices"][0]["delta"]["content"], "lo");
  EXPECT_EQ(events[2], http::kSseDonePayload);
  EXPECT_TRUE(relay.done());
  EXPECT_EQ(relay.reported(), ReportedUsage::of(7));
  EXPECT_EQ(relay.content_chunks(), 2);
  EXPECT_EQ(relay.tokens_generated(100), 7);
  EXPECT_EQ(relay.tokens_generated(5), 5);
}

TEST(StreamRelay, PassesUsageOnWhenAsked) {
  StreamRelay relay(true);
  const std::string in = chunk("a") + kUsageChunk + std::string(http::kSseDone);
  EXPECT_EQ(http::parse_sse(relay.feed(in)), http::parse_sse(in));
}

TEST(StreamRelay, EventsSplitAcrossReadsAreReassembled) {
  StreamRelay relay(true);
  const std::string in = chunk("abc") + chunk("def");
  std::string out;
  for (char c : in) out += relay.feed(std::string(1, c));
  EXPECT_EQ(http::parse_sse(out), http::parse_sse(in));
  EXPECT_FALSE(relay.done());
  EXPECT_EQ(relay.content_chunks(), 2);
  EXPECT_EQ(relay.tokens_generated(10), 2);  // no usage: chunks counted
}

TEST(StreamRelay, UnparsableEventsPassUnchangedAndErrorsAreNoticed) {
  StreamRelay relay(false);
  const std::string out =
      relay.feed(http::sse_data("not json") + http::sse_data(R"({"error":{"message":"x"}})"));
  const auto events = http::parse_sse(out);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], "not json");
  EXPECT_TRUE(relay.saw_error());
}

TEST(StreamRelay, CompletionUsageOfWholeResponses) {
  std::string text;
  EXPECT_EQ(
      completion_usage(
          R"({"choices":[{"message":{"content":"hi there"}}],"usage":{"completion_tokens":3}})",
          &text),
      ReportedUsage::of(3));
  EXPECT_EQ(text, "hi there");
  text.clear();
  EXPECT_TRUE(completion_usage(R"({"choices":[{"text":"abcdefgh"}]})", &text).absent());
  EXPECT_EQ(estimate_tokens_from_text(text), 2);
  EXPECT_TRUE(completion_usage("garbage", nullptr).absent());
  EXPECT_TRUE(completion_usage(R"({"usage":{"completion_tokens":-4}})", nullptr).implausible());
  EXPECT_EQ(estimate_tokens_from_text(""), 0);
  EXPECT_EQ(estimate_tokens_from_text("abcde"), 2);
}

std::string usage_chunk(const json& completion_tokens) {
  return http::sse_data(
      json{{"choices", json::array()}, {"usage", {{"completion_tokens", completion_tokens}}}}
          .dump());
}

// An upstream must not revise its usage: the last report no longer wins (a smaller second report
// used to under-charge), and a settled count is never read from an implausible report.
TEST(StreamRelay, ADifferentSecondReportMakesTheUsageImplausible) {
  StreamRelay relay(false);
  (void)relay.feed(chunk("a") + usage_chunk(150) + usage_chunk(2) + std::string(http::kSseDone));
  EXPECT_TRUE(relay.reported().implausible());
  EXPECT_EQ(relay.tokens_generated(200), 200);

  StreamRelay same(false);
  (void)same.feed(usage_chunk(150) + chunk("a") + usage_chunk(150.0));
  EXPECT_EQ(same.reported(), ReportedUsage::of(150));
  EXPECT_EQ(same.tokens_generated(200), 150);
}

TEST(StreamRelay, AbsurdUsageIsImplausibleNeverClamped) {
  StreamRelay negative(false);
  (void)negative.feed(usage_chunk(-5));
  EXPECT_TRUE(negative.reported().implausible());
  EXPECT_EQ(negative.tokens_generated(64), 64);

  StreamRelay huge(true);
  (void)huge.feed(usage_chunk(1e18));
  EXPECT_TRUE(huge.reported().implausible());
  EXPECT_EQ(huge.tokens_generated(64), 64);

  StreamRelay more(true);  // more than this cap, not more than any request: the caller decides
  (void)more.feed(usage_chunk(1000));
  EXPECT_EQ(more.reported(), ReportedUsage::of(1000));
  EXPECT_EQ(more.tokens_generated(64), 64);
}

// llama.cpp's last chunk carries both the finish_reason and the usage: counted once, and, when the
// client did not ask for usage, relayed with its choices but without the usage.
TEST(StreamRelay, LlamaCppFinalChunkIsCountedOnceAndKeepsItsChoices) {
  const std::string final_chunk = http::sse_data(
      json{{"choices", {{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}}},
           {"usage",
            {{"completion_tokens", 9}, {"completion_tokens_details", {{"reasoning_tokens", 4}}}}}}
          .dump());
  StreamRelay relay(false);
  const auto events = http::parse_sse(
      relay.feed(chunk("a") + chunk("b") + final_chunk + std::string(http::kSseDone)));
  ASSERT_EQ(events.size(), 4u);
  const json last = json::parse(events[2]);
  EXPECT_FALSE(last.contains("usage"));
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  EXPECT_FALSE(relay.continuous_usage());
  EXPECT_EQ(relay.reported(), ReportedUsage::of(9, 4));
  EXPECT_EQ(relay.tokens_generated(100), 9);

  StreamRelay asked(true);  // the client asked: the chunk passes as it came
  EXPECT_EQ(http::parse_sse(asked.feed(final_chunk)), http::parse_sse(final_chunk));
  EXPECT_EQ(asked.reported(), ReportedUsage::of(9, 4));
}

std::string continuous_chunk(const std::string& content, std::int64_t tokens,
                             std::int64_t reasoning) {
  return http::sse_data(json{
      {"choices", {{{"index", 0}, {"delta", {{"content", content}}}, {"finish_reason", nullptr}}}},
      {"usage",
       {{"prompt_tokens", 5},
        {"completion_tokens", tokens},
        {"completion_tokens_details", {{"reasoning_tokens", reasoning}}}}}}
                            .dump());
}

// vLLM with continuous_usage_stats: every chunk carries the usage so far; the final count settles.
TEST(StreamRelay, ContinuousUsageSettlesOnTheFinalCount) {
  StreamRelay relay(false);
  std::string out = relay.feed(continuous_chunk("", 0, 0) + continuous_chunk("think", 1, 1) +
                               continuous_chunk("ing", 2, 2) + continuous_chunk("42", 3, 2));
  out += relay.feed(
      http::sse_data(json{
          {"choices", json::array()},
          {"usage",
           {{"completion_tokens", 3}, {"completion_tokens_details", {{"reasoning_tokens", 2}}}}}}
                         .dump()) +
      std::string(http::kSseDone));
  EXPECT_TRUE(relay.continuous_usage());
  EXPECT_EQ(relay.reported(), ReportedUsage::of(3, 2));
  EXPECT_EQ(relay.tokens_generated(100), 3);
  const auto events = http::parse_sse(out);
  ASSERT_EQ(events.size(), 5u);  // four chunks without their usage, [DONE]
  for (std::size_t i = 0; i < 4; ++i) EXPECT_FALSE(json::parse(events[i]).contains("usage")) << i;

  StreamRelay shrinking(true);
  (void)shrinking.feed(continuous_chunk("a", 5, 0) + continuous_chunk("b", 4, 0));
  EXPECT_TRUE(shrinking.reported().implausible());
  EXPECT_EQ(shrinking.tokens_generated(64), 64);

  // A stream that reported once cannot start reporting continuously: a later, larger report on a
  // content chunk differs from the first, as any second report.
  StreamRelay once(false);
  (void)once.feed(usage_chunk(3) + continuous_chunk("late", 10, 0));
  EXPECT_FALSE(once.continuous_usage());
  EXPECT_TRUE(once.reported().implausible());
}

TEST(StreamRelay, ImplausibleReasoningIsAProtocolError) {
  StreamRelay relay(false);
  (void)relay.feed(http::sse_data(
      json{{"choices", json::array()},
           {"usage",
            {{"completion_tokens", 3}, {"completion_tokens_details", {{"reasoning_tokens", 8}}}}}}
          .dump()));
  EXPECT_TRUE(relay.reported().implausible());
  EXPECT_EQ(relay.tokens_generated(50), 50);
}

}  // namespace
}  // namespace clearhouse::openai
