// The replay upstream continues a recorded answer from a prefix (a final assistant message with
// continue_final_message, or a completion prompt holding the question and the answer so far): the
// slices of a continued answer add up to exactly the recorded answer and its tokens.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tools/replay_upstream.h"
#include "tools/replay_upstream_answer.h"
#include "tools/replay_upstream_test_util.h"

namespace clearhouse::tools {
namespace {

using nlohmann::json;
using testing::chat_body;
using testing::header_of;
using testing::kAnswer;
using testing::kQuestion;
using testing::post;

struct Fixture {
  std::shared_ptr<InstantPacingClock> clock = std::make_shared<InstantPacingClock>();
  ReplayUpstream upstream{testing::tiny_store(), {}, clock};

  // One chat slice from `so_far` with cap `cap`: the text and tokens served, and the finish.
  json chat_slice(const std::string& so_far, std::int64_t cap) {
    json body = chat_body(kQuestion, {{"max_tokens", cap}});
    if (!so_far.empty()) {
      body["messages"].push_back({{"role", "assistant"}, {"content", so_far}});
      body["continue_final_message"] = true;
      body["add_generation_prompt"] = false;
    }
    const http::HttpResponse r = upstream.handle(post("/v1/chat/completions", body));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }
};

TEST(ReplayUpstreamContinuation, ChatSlicesAddUpToTheRecordedAnswer) {
  Fixture f;
  std::string text;
  std::int64_t tokens = 0;
  std::string finish;
  for (const std::int64_t cap : {3, 3, 10}) {
    const json answer = f.chat_slice(text, cap);
    text += answer["choices"][0]["message"]["content"].get<std::string>();
    tokens += answer["usage"]["completion_tokens"].get<std::int64_t>();
    finish = answer["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(text, kAnswer);
  EXPECT_EQ(tokens, 10);  // the recorded length, not 3 + 3 + 10
  EXPECT_EQ(finish, "stop");
}

TEST(ReplayUpstreamContinuation, AContinuationCutAgainReportsLength) {
  Fixture f;
  const json first = f.chat_slice("", 3);
  const json second = f.chat_slice(first["choices"][0]["message"]["content"], 3);
  EXPECT_EQ(second["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(second["usage"]["completion_tokens"], 3);
  EXPECT_EQ(first["choices"][0]["message"]["content"].get<std::string>() +
                second["choices"][0]["message"]["content"].get<std::string>(),
            cut_answer(kAnswer, 10, 6).text);
}

TEST(ReplayUpstreamContinuation, APrefixThatDoesNotMatchIsANewAnswer) {
  Fixture f;
  json body = chat_body(kQuestion, {{"max_tokens", 3}});
  body["messages"].push_back({{"role", "assistant"}, {"content", "Something else"}});
  body["continue_final_message"] = true;
  const http::HttpResponse r = f.upstream.handle(post("/v1/chat/completions", body));
  EXPECT_EQ(header_of(r, "x-replay-continued"), "mismatch");
  EXPECT_EQ(json::parse(r.body)["choices"][0]["message"]["content"],
            cut_answer(kAnswer, 10, 3).text);
}

TEST(ReplayUpstreamContinuation, AnAssistantMessageWithoutContinueFlagIsNotAContinuation) {
  Fixture f;
  json body = chat_body(kQuestion, {{"max_tokens", 3}});
  body["messages"].push_back({{"role", "assistant"}, {"content", "The answer i"}});
  const http::HttpResponse r = f.upstream.handle(post("/v1/chat/completions", body));
  EXPECT_EQ(header_of(r, "x-replay-continued"), "");
  EXPECT_EQ(json::parse(r.body)["choices"][0]["message"]["content"],
            cut_answer(kAnswer, 10, 3).text);
}

TEST(ReplayUpstreamContinuation, ACompletionByQidContinuesAfterTheQuestion) {
  Fixture f;
  const std::string so_far = cut_answer(kAnswer, 10, 4).text;
  const json body = {{"model", "model-a"},
                     {"prompt", std::string(kQuestion) + so_far},
                     {"max_tokens", 100},
                     {"metadata", {{"qid", "gsm/q1"}}}};
  const http::HttpResponse r = f.upstream.handle(post("/v1/completions", body));
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = json::parse(r.body);
  EXPECT_EQ(so_far + answer["choices"][0]["text"].get<std::string>(), kAnswer);
  EXPECT_EQ(answer["usage"]["completion_tokens"], 6);
  EXPECT_EQ(answer["choices"][0]["finish_reason"], "stop");
}

}  // namespace
}  // namespace clearhouse::tools
