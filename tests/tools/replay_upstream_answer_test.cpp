// The pure parts of the replay upstream: caps, cutting, stream pieces, estimates, faults, request
// parsing.
#include "tools/replay_upstream_answer.h"

#include <gtest/gtest.h>

#include <string>

#include "http/http.h"
#include "tools/replay_upstream_fault.h"
#include "tools/replay_upstream_request.h"
#include "tools/replay_upstream_store.h"
#include "tools/replay_upstream_test_util.h"

namespace clearhouse::tools {
namespace {

using nlohmann::json;
using testing::chat_body;
using testing::post;

TEST(ReplayAnswer, EffectiveCapIsTheSmallerOfBothFields) {
  EXPECT_EQ(effective_cap(std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(effective_cap(100, std::nullopt), 100);
  EXPECT_EQ(effective_cap(std::nullopt, 50), 50);
  EXPECT_EQ(effective_cap(100, 50), 50);
  EXPECT_EQ(effective_cap(30, 50), 30);
}

TEST(ReplayAnswer, NotCutKeepsTheRecordedCount) {
  for (const std::optional<std::int64_t> cap :
       {std::optional<std::int64_t>{}, std::optional<std::int64_t>{10},
        std::optional<std::int64_t>{4096}}) {
    const ReplayAnswer a = cut_answer(testing::kAnswer, 10, cap);
    EXPECT_EQ(a.text, testing::kAnswer);
    EXPECT_EQ(a.completion_tokens, 10);
    EXPECT_FALSE(a.cut);
    EXPECT_EQ(a.finish_reason(), "stop");
  }
}

TEST(ReplayAnswer, CutKeepsCharactersInProportionAndReportsTheCap) {
  // 40 characters, 10 tokens: 4 characters per token.
  const ReplayAnswer a = cut_answer(testing::kAnswer, 10, 3);
  EXPECT_EQ(a.text, std::string(testing::kAnswer).substr(0, 12));
  EXPECT_EQ(a.completion_tokens, 3);
  EXPECT_TRUE(a.cut);
  EXPECT_EQ(a.finish_reason(), "length");
  // Rounds to the nearest character: 7 chars / 3 tokens cut at 1 token keeps round(2.33) = 2.
  EXPECT_EQ(cut_answer("abcdefg", 3, 1).text, "ab");
  EXPECT_EQ(cut_answer("abcdefg", 3, 2).text, "abcde");
}

TEST(ReplayAnswer, CutNeverSplitsAUtf8Sequence) {
  // "é" is two bytes but one character: 4 characters, 4 tokens.
  const std::string text = "caf\xC3\xA9";
  EXPECT_EQ(base::count_code_points(text), 4);
  EXPECT_EQ(cut_answer(text, 4, 3).text, "caf");
  EXPECT_EQ(cut_answer(text, 4, 4).text, text);
  EXPECT_EQ(cut_answer("\xC3\xA9\xC3\xA9", 2, 1).text, "\xC3\xA9");
}

TEST(ReplayAnswer, PiecesCoverTheTextAboutOneTokenEach) {
  const std::string text = testing::kAnswer;
  const auto pieces = split_into_pieces(text, 10);
  ASSERT_EQ(pieces.size(), 10u);
  std::string joined;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    joined += pieces[i].text;
    EXPECT_EQ(pieces[i].text.size(), 4u);
    EXPECT_EQ(pieces[i].tokens_end, static_cast<std::int64_t>(i + 1));
  }
  EXPECT_EQ(joined, text);
  // More tokens than characters: one piece per character, the last piece ends at the token count.
  const auto few = split_into_pieces("ab", 5);
  ASSERT_EQ(few.size(), 2u);
  EXPECT_EQ(few.back().tokens_end, 5);
  EXPECT_TRUE(split_into_pieces("", 3).empty());
  // UTF-8: pieces are whole characters.
  const auto utf8 = split_into_pieces("\xC3\xA9\xC3\xA9\xC3\xA9", 3);
  ASSERT_EQ(utf8.size(), 3u);
  for (const auto& p : utf8) EXPECT_EQ(p.text, "\xC3\xA9");
}

TEST(ReplayAnswer, PromptEstimateAndLorem) {
  EXPECT_EQ(estimate_prompt_tokens(40, 0, 4.0), 10);
  EXPECT_EQ(estimate_prompt_tokens(41, 0, 4.0), 11);
  EXPECT_EQ(estimate_prompt_tokens(40, 2, 4.0), 10 + 2 * kChatMessageOverheadTokens);
  EXPECT_EQ(lorem_text(3), "Lorem ipsum dolor.");
  EXPECT_EQ(lorem_text(0), "");
  EXPECT_EQ(lorem_text(100), lorem_text(100));
}

TEST(ReplayFault, ParsesEveryItemAndSeparator) {
  EXPECT_TRUE(parse_fault_spec("").empty());
  EXPECT_TRUE(parse_fault_spec("  ").empty());
  EXPECT_EQ(parse_fault_spec("status=500").status, 500);
  const FaultSpec f = parse_fault_spec("delay-ms=2000|close-after=3; no-usage , status=503");
  EXPECT_EQ(f.delay, std::chrono::milliseconds(2000));
  EXPECT_EQ(f.close_after, 3);
  EXPECT_TRUE(f.no_usage);
  EXPECT_EQ(f.status, 503);
  EXPECT_EQ(to_string(f), "delay-ms=2000,status=503,close-after=3,no-usage");
  const FaultSpec back = parse_fault_spec(to_string(f));
  EXPECT_EQ(back.delay, f.delay);
  EXPECT_EQ(back.close_after, f.close_after);
  EXPECT_EQ(parse_fault_spec("close-after=0").close_after, 0);
}

TEST(ReplayFault, RejectsBadItemsNamingThem) {
  for (const char* bad : {"status=200", "status=600", "status=abc", "delay-ms=-1",
                          "close-after=", "explode", "no-usage=1", "status"}) {
    try {
      parse_fault_spec(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(ReplayRequest, ReadsPromptCapsStreamAndExtensions) {
  const json body = {{"model", "model-a"},
                     {"messages",
                      {{{"role", "system"}, {"content", "Be brief."}},
                       {{"role", "user"},
                        {"content", json::array({{{"type", "text"}, {"text", "Part one"}},
                                                 {{"type", "image_url"}, {"image_url", "x"}},
                                                 {{"type", "text"}, {"text", "part two"}}})}}}},
                     {"max_tokens", 100},
                     {"max_completion_tokens", 50},
                     {"stream", true},
                     {"stream_options", {{"include_usage", true}}},
                     {"metadata", {{"qid", "q1"}, {"replay_fault", "status=502"}}}};
  const ReplayRequest r = parse_replay_request(post("/v1/chat/completions", body), true);
  EXPECT_EQ(r.model, "model-a");
  EXPECT_EQ(r.prompt, "Part one\npart two");
  EXPECT_EQ(r.messages, 2);
  EXPECT_EQ(r.prompt_chars, 9 + 17);
  EXPECT_EQ(r.max_tokens, 100);
  EXPECT_EQ(r.max_completion_tokens, 50);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.qid, "q1");
  ASSERT_TRUE(r.fault);
  EXPECT_EQ(r.fault->status, 502);
  // Headers win over metadata.
  const ReplayRequest h =
      parse_replay_request(post("/v1/chat/completions", body,
                                {{"X-Replay-Qid", " q2 "}, {"X-Replay-Fault", "no-usage"}}),
                           true);
  EXPECT_EQ(h.qid, "q2");
  EXPECT_FALSE(h.fault->status);
  EXPECT_TRUE(h.fault->no_usage);
}

TEST(ReplayRequest, CompletionPromptStringOrArrayOfOne) {
  EXPECT_EQ(parse_replay_request(post("/v1/completions", {{"prompt", "hi"}}), false).prompt, "hi");
  EXPECT_EQ(parse_replay_request(post("/v1/completions", {{"prompt", {"hi"}}}), false).prompt,
            "hi");
}

TEST(ReplayRequest, InvalidRequestsAre400NamingTheField) {
  const auto expect_param = [](const http::HttpRequest& request, bool chat,
                               const std::string& param) {
    try {
      parse_replay_request(request, chat);
      ADD_FAILURE() << "accepted " << request.body;
    } catch (const http::HttpError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.type(), "invalid_request_error");
      EXPECT_EQ(e.param(), param) << e.what();
    }
  };
  expect_param(post("/v1/chat/completions", chat_body("x", {{"max_tokens", 0}})), true,
               "max_tokens");
  expect_param(post("/v1/chat/completions", chat_body("x", {{"max_tokens", "10"}})), true,
               "max_tokens");
  expect_param(post("/v1/chat/completions", chat_body("x", {{"max_completion_tokens", 2.5}})), true,
               "max_completion_tokens");
  expect_param(post("/v1/chat/completions", chat_body("x", {{"n", 2}})), true, "n");
  expect_param(post("/v1/chat/completions", chat_body("x", {{"stream", "yes"}})), true, "stream");
  expect_param(post("/v1/chat/completions", {{"model", "m"}}), true, "messages");
  expect_param(post("/v1/chat/completions", {{"messages", json::array()}}), true, "messages");
  expect_param(post("/v1/chat/completions", {{"messages", {{{"content", "x"}}}}}), true,
               "messages[0]");
  expect_param(post("/v1/completions", {{"prompt", {"a", "b"}}}), false, "prompt");
  expect_param(post("/v1/chat/completions", chat_body("x"), {{"x-replay-fault", "boom"}}), true,
               "x-replay-fault");
  expect_param(http::HttpRequest{"POST", "/v1/chat/completions", {}, "{not json"}, true, "");
  expect_param(http::HttpRequest{"POST", "/v1/chat/completions", {}, "[1]"}, true, "");
}

}  // namespace
}  // namespace clearhouse::tools
