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
  EXPECT_EQ(relay.reported_completion_tokens(), ReportedUsage::of(7));
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
  EXPECT_TRUE(relay.reported_completion_tokens().implausible());
  EXPECT_EQ(relay.tokens_generated(200), 200);

  StreamRelay same(false);
  (void)same.feed(usage_chunk(150) + chunk("a") + usage_chunk(150.0));
  EXPECT_EQ(same.reported_completion_tokens(), ReportedUsage::of(150));
  EXPECT_EQ(same.tokens_generated(200), 150);
}

TEST(StreamRelay, AbsurdUsageIsImplausibleNeverClamped) {
  StreamRelay negative(false);
  (void)negative.feed(usage_chunk(-5));
  EXPECT_TRUE(negative.reported_completion_tokens().implausible());
  EXPECT_EQ(negative.tokens_generated(64), 64);

  StreamRelay huge(true);
  (void)huge.feed(usage_chunk(1e18));
  EXPECT_TRUE(huge.reported_completion_tokens().implausible());
  EXPECT_EQ(huge.tokens_generated(64), 64);

  StreamRelay more(true);  // more than this cap, not more than any request: the caller decides
  (void)more.feed(usage_chunk(1000));
  EXPECT_EQ(more.reported_completion_tokens(), ReportedUsage::of(1000));
  EXPECT_EQ(more.tokens_generated(64), 64);
}

}  // namespace
}  // namespace clearhouse::openai
