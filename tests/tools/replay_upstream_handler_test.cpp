// ReplayUpstream::handle without sockets: answers, cuts, usage, streams (SSE chunk format, pacing
// on an instant clock), unknown prompts and models, faults.
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
using testing::chunks;
using testing::header_of;
using testing::kAnswer;
using testing::kQuestion;
using testing::post;
using testing::run_stream;

struct Fixture {
  explicit Fixture(ReplayUpstreamOptions options = {})
      : clock(std::make_shared<InstantPacingClock>()),
        upstream(testing::tiny_store(), std::move(options), clock) {}
  std::shared_ptr<InstantPacingClock> clock;
  ReplayUpstream upstream;
};

json body_of(const http::HttpResponse& r) {
  return json::parse(r.body);
}

TEST(ReplayUpstreamHandler, NonStreamingChatServesTheRecordedAnswerWithUsage) {
  Fixture f;
  const http::HttpResponse r =
      f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(header_of(r, "x-replay-match"), "text");
  EXPECT_EQ(header_of(r, "x-replay-qid"), "gsm/q1");
  const json b = body_of(r);
  EXPECT_EQ(b["object"], "chat.completion");
  EXPECT_EQ(b["model"], "model-a");
  EXPECT_EQ(b["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  ASSERT_EQ(b["choices"].size(), 1u);
  EXPECT_EQ(b["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(b["choices"][0]["message"]["content"], kAnswer);
  EXPECT_EQ(b["choices"][0]["finish_reason"], "stop");
  // Prompt: 14 characters at model-a's 3.9 characters per token (49 chars / 14 tokens), plus one
  // message's overhead.
  const std::int64_t prompt = estimate_prompt_tokens(14, 1, 49.0 / 14.0);
  EXPECT_EQ(b["usage"]["prompt_tokens"], prompt);
  EXPECT_EQ(b["usage"]["completion_tokens"], 10);
  EXPECT_EQ(b["usage"]["total_tokens"], prompt + 10);
}

TEST(ReplayUpstreamHandler, CapCutsWithLengthAndTheSmallerFieldWins) {
  Fixture f;
  for (const json& caps : {json{{"max_tokens", 3}}, json{{"max_completion_tokens", 3}},
                           json{{"max_tokens", 3}, {"max_completion_tokens", 8}},
                           json{{"max_tokens", 9}, {"max_completion_tokens", 3}}}) {
    const json b =
        body_of(f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion, caps))));
    EXPECT_EQ(b["choices"][0]["message"]["content"], std::string(kAnswer).substr(0, 12)) << caps;
    EXPECT_EQ(b["choices"][0]["finish_reason"], "length") << caps;
    EXPECT_EQ(b["usage"]["completion_tokens"], 3) << caps;
  }
  // A cap at or above the recorded count does not cut.
  const json b = body_of(
      f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion, {{"max_tokens", 10}}))));
  EXPECT_EQ(b["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(b["usage"]["completion_tokens"], 10);
}

TEST(ReplayUpstreamHandler, LooksUpByQidFromHeaderOrMetadata) {
  Fixture f;
  const http::HttpResponse by_header = f.upstream.handle(
      post("/v1/chat/completions", chat_body("anything"), {{"x-replay-qid", "q2"}}));
  EXPECT_EQ(header_of(by_header, "x-replay-match"), "qid");
  EXPECT_EQ(body_of(by_header)["choices"][0]["message"]["content"], "caf\xC3\xA9 caf\xC3\xA9");
  const http::HttpResponse by_metadata = f.upstream.handle(
      post("/v1/chat/completions", chat_body("anything", {{"metadata", {{"qid", "gsm/q1"}}}})));
  EXPECT_EQ(body_of(by_metadata)["choices"][0]["message"]["content"], kAnswer);
}

TEST(ReplayUpstreamHandler, ModelsAnswerSeparatelyAndUnknownModelsGetTheDefault) {
  Fixture f;
  json body = chat_body(kQuestion);
  body["model"] = "model-b";
  EXPECT_EQ(body_of(f.upstream.handle(
                post("/v1/chat/completions", body)))["choices"][0]["message"]["content"],
            "Four.");
  body["model"] = "gpt-4o";
  const json b = body_of(f.upstream.handle(post("/v1/chat/completions", body)));
  EXPECT_EQ(b["model"], "model-a");
  EXPECT_EQ(b["choices"][0]["message"]["content"], kAnswer);
  ReplayUpstreamOptions o;
  o.default_model = "model-b";
  Fixture g(o);
  EXPECT_EQ(body_of(g.upstream.handle(post("/v1/chat/completions", body)))["model"], "model-b");
  o.default_model = "nope";
  EXPECT_THROW(ReplayUpstream(testing::tiny_store(), o), std::invalid_argument);
}

TEST(ReplayUpstreamHandler, UnknownPromptGetsLoremOrA404) {
  ReplayUpstreamOptions o;
  o.lorem_tokens = 7;
  Fixture f(o);
  const http::HttpResponse r =
      f.upstream.handle(post("/v1/chat/completions", chat_body("Unrecorded?")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(header_of(r, "x-replay-match"), "none");
  const json b = body_of(r);
  EXPECT_EQ(b["choices"][0]["message"]["content"], lorem_text(7));
  EXPECT_EQ(b["usage"]["completion_tokens"], 7);
  const json cut = body_of(f.upstream.handle(
      post("/v1/chat/completions", chat_body("Unrecorded?", {{"max_tokens", 2}}))));
  EXPECT_EQ(cut["usage"]["completion_tokens"], 2);
  EXPECT_EQ(cut["choices"][0]["finish_reason"], "length");

  o.unknown_prompt = UnknownPrompt::kError;
  Fixture g(o);
  const http::HttpResponse e =
      g.upstream.handle(post("/v1/chat/completions", chat_body("Unrecorded?")));
  EXPECT_EQ(e.status, 404);
  const json err = body_of(e)["error"];
  EXPECT_EQ(err["type"], "not_found_error");
  EXPECT_EQ(err["code"], "prompt_not_recorded");
  EXPECT_EQ(err["param"], "messages");
  EXPECT_TRUE(err["message"].is_string());
}

TEST(ReplayUpstreamHandler, StreamChunksFollowOpenAIsFormat) {
  Fixture f;
  const http::HttpResponse r = f.upstream.handle(
      post("/v1/chat/completions", chat_body(kQuestion, {{"stream", true}, {"max_tokens", 5}})));
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(r.stream);
  EXPECT_EQ(r.content_type, "text/event-stream");
  const auto s = run_stream(r);
  EXPECT_TRUE(s.complete);
  // Every event is "data: <json>\n\n"; the last is [DONE].
  EXPECT_EQ(s.raw.rfind("data: ", 0), 0u);
  EXPECT_EQ(s.raw.substr(s.raw.size() - 14), "data: [DONE]\n\n");
  ASSERT_EQ(s.payloads.back(), "[DONE]");
  const auto c = chunks(s);
  ASSERT_EQ(c.size(), 1u + 5u + 1u);  // role, one per token, finish
  std::string content;
  for (const json& chunk : c) {
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    EXPECT_EQ(chunk["id"], c.front()["id"]);
    EXPECT_FALSE(chunk.contains("usage"));
    ASSERT_EQ(chunk["choices"].size(), 1u);
    content += chunk["choices"][0]["delta"].value("content", "");
  }
  EXPECT_EQ(c.front()["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(c.back()["choices"][0]["delta"].empty());
  EXPECT_EQ(c.back()["choices"][0]["finish_reason"], "length");
  for (std::size_t i = 0; i + 1 < c.size(); ++i)
    EXPECT_TRUE(c[i]["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(content, std::string(kAnswer).substr(0, 20));
}

TEST(ReplayUpstreamHandler, IncludeUsageAddsAFinalUsageChunk) {
  Fixture f;
  const auto s = run_stream(f.upstream.handle(post(
      "/v1/chat/completions",
      chat_body(kQuestion, {{"stream", true}, {"stream_options", {{"include_usage", true}}}}))));
  const auto c = chunks(s);
  ASSERT_GE(c.size(), 2u);
  for (std::size_t i = 0; i + 1 < c.size(); ++i) {
    ASSERT_TRUE(c[i].contains("usage"));
    EXPECT_TRUE(c[i]["usage"].is_null());
  }
  const json& last = c.back();
  EXPECT_TRUE(last["choices"].empty());
  EXPECT_EQ(last["usage"]["completion_tokens"], 10);
  EXPECT_EQ(last["usage"]["total_tokens"], last["usage"]["prompt_tokens"].get<std::int64_t>() + 10);
  EXPECT_EQ(c[c.size() - 2]["choices"][0]["finish_reason"], "stop");
}

TEST(ReplayUpstreamHandler, CompletionsEndpointStreamsAndAnswersText) {
  Fixture f;
  const json b = body_of(f.upstream.handle(
      post("/v1/completions", {{"model", "model-a"}, {"prompt", kQuestion}, {"max_tokens", 2}})));
  EXPECT_EQ(b["object"], "text_completion");
  EXPECT_EQ(b["choices"][0]["text"], "The answ");
  EXPECT_EQ(b["usage"]["prompt_tokens"], estimate_prompt_tokens(14, 0, 49.0 / 14.0));
  const auto c = chunks(run_stream(f.upstream.handle(post(
      "/v1/completions",
      {{"prompt", kQuestion}, {"stream", true}, {"stream_options", {{"include_usage", true}}}}))));
  ASSERT_EQ(c.size(), 10u + 1u + 1u);  // tokens, finish, usage
  std::string text;
  for (std::size_t i = 0; i < 11; ++i) {
    EXPECT_EQ(c[i]["object"], "text_completion");
    text += c[i]["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, kAnswer);
  EXPECT_EQ(c[10]["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(c[11]["usage"]["completion_tokens"], 10);
}

TEST(ReplayUpstreamHandler, PacingFollowsTheRateOnTheClock) {
  ReplayUpstreamOptions o;
  o.tokens_per_second = 20;
  Fixture f(o);
  const auto before = f.clock->now();
  const auto s = run_stream(
      f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion, {{"stream", true}}))));
  EXPECT_TRUE(s.complete);
  // 10 tokens at 20 tokens/s: the last one half a second after the start, one wait per token.
  EXPECT_EQ(f.clock->now() - before, std::chrono::milliseconds(500));
  EXPECT_EQ(f.clock->waits(), 10);
  // Non-streaming answers are not paced.
  (void)f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion)));
  EXPECT_EQ(f.clock->waits(), 10);
}

TEST(ReplayUpstreamHandler, ShutdownEndsPacingStreamsFinishAtOnce) {
  ReplayUpstreamOptions o;
  o.tokens_per_second = 1;
  Fixture f(o);
  f.upstream.shutdown();
  const auto before = f.clock->now();
  const auto s = run_stream(
      f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion, {{"stream", true}}))));
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(f.clock->now(), before);
  EXPECT_EQ(s.payloads.back(), "[DONE]");
}

TEST(ReplayUpstreamHandler, FaultStatusDelayCloseAndNoUsage) {
  Fixture f;
  const http::HttpResponse e =
      f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion),
                             {{"x-replay-fault", "delay-ms=1500,status=500"}}));
  EXPECT_EQ(e.status, 500);
  const json err = body_of(e)["error"];
  EXPECT_EQ(err["type"], "server_error");
  EXPECT_EQ(err["code"], "replay_fault");
  EXPECT_EQ(f.clock->now(), std::chrono::milliseconds(1500));

  const auto s = run_stream(
      f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion, {{"stream", true}}),
                             {{"x-replay-fault", "close-after=3"}})));
  EXPECT_FALSE(s.complete);
  const auto c = chunks(s);
  ASSERT_EQ(c.size(), 1u + 3u);  // role chunk and three tokens, then the connection drops
  EXPECT_NE(s.payloads.back(), "[DONE]");

  // close-after beyond the answer: every token, then the drop before the finish chunk.
  const auto all = run_stream(
      f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion, {{"stream", true}}),
                             {{"x-replay-fault", "close-after=99"}})));
  EXPECT_FALSE(all.complete);
  EXPECT_EQ(chunks(all).size(), 1u + 10u);

  const http::HttpResponse dropped = f.upstream.handle(
      post("/v1/chat/completions", chat_body(kQuestion), {{"x-replay-fault", "close-after=0"}}));
  ASSERT_TRUE(dropped.stream);
  testing::CaptureWriter w;
  EXPECT_FALSE(dropped.stream(w));
  EXPECT_TRUE(w.body.empty());

  const json no_usage = body_of(f.upstream.handle(
      post("/v1/chat/completions", chat_body(kQuestion), {{"x-replay-fault", "no-usage"}})));
  EXPECT_FALSE(no_usage.contains("usage"));
  const auto c2 = chunks(run_stream(f.upstream.handle(
      post("/v1/chat/completions",
           chat_body(kQuestion, {{"stream", true}, {"stream_options", {{"include_usage", true}}}}),
           {{"x-replay-fault", "no-usage"}}))));
  EXPECT_FALSE(c2.back()["choices"].empty());
}

TEST(ReplayUpstreamHandler, ServerWideFaultAppliesWhenTheRequestNamesNone) {
  ReplayUpstreamOptions o;
  o.fault = parse_fault_spec("status=503");
  Fixture f(o);
  EXPECT_EQ(f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion))).status, 503);
  // A request's own spec replaces the server's (an empty header means no fault).
  EXPECT_EQ(
      f.upstream
          .handle(post("/v1/chat/completions", chat_body(kQuestion), {{"x-replay-fault", ""}}))
          .status,
      200);
}

TEST(ReplayUpstreamHandler, ClientGoneStopsTheStream) {
  Fixture f;
  const http::HttpResponse r =
      f.upstream.handle(post("/v1/chat/completions", chat_body(kQuestion, {{"stream", true}})));
  const auto s = run_stream(r, testing::CaptureWriter(4));
  EXPECT_FALSE(s.complete);
  EXPECT_EQ(s.payloads.size(), 4u);
}

TEST(ReplayUpstreamHandler, ModelsHealthAndRouting) {
  Fixture f;
  const json models = body_of(f.upstream.handle(http::HttpRequest{"GET", "/v1/models", {}, ""}));
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 2u);
  EXPECT_EQ(models["data"][0]["id"], "model-a");
  EXPECT_EQ(models["data"][1]["id"], "model-b");
  EXPECT_EQ(models["data"][0]["object"], "model");
  const http::HttpResponse health = f.upstream.handle(http::HttpRequest{"GET", "/health", {}, ""});
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(body_of(health)["status"], "ok");
  EXPECT_EQ(f.upstream.handle(http::HttpRequest{"GET", "/v1/chat/completions", {}, ""}).status,
            405);
  const http::HttpResponse missing = f.upstream.handle(http::HttpRequest{"GET", "/v2/x", {}, ""});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(body_of(missing)["error"]["type"], "not_found_error");
  const http::HttpResponse bad =
      f.upstream.handle(http::HttpRequest{"POST", "/v1/chat/completions", {}, "{"});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(body_of(bad)["error"]["type"], "invalid_request_error");
}

}  // namespace
}  // namespace clearhouse::tools
