// POST /v1/responses on the replay upstream, through ReplayUpstream::handle on an instant clock:
// the response object, typed stream events, the max_output_tokens cut (incomplete), reasoning mode,
// faults and bad input.
#include "tools/replay_upstream_responses.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tools/replay_upstream.h"
#include "tools/replay_upstream_answer.h"
#include "tools/replay_upstream_test_util.h"

namespace clearhouse::tools {
namespace {

using nlohmann::json;
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

json responses_body(const json& input, json extra = json::object()) {
  json body = {{"model", "model-a"}, {"input", input}};
  body.update(extra);
  return body;
}

http::HttpResponse ask(const Fixture& f, const json& body, http::HttpHeaders headers = {}) {
  return f.upstream.handle(post("/v1/responses", body, std::move(headers)));
}

json body_of(const http::HttpResponse& r) {
  return json::parse(r.body);
}

const double kCharsPerToken = 49.0 / 14.0;  // model-a's

TEST(ReplayUpstreamResponses, NonStreamingAnswerIsAResponseObject) {
  Fixture f;
  const http::HttpResponse r =
      ask(f, responses_body(kQuestion, {{"reasoning", {{"effort", "low"}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header_of(r, "x-replay-match"), "text");
  const json b = body_of(r);
  EXPECT_EQ(b["id"].get<std::string>().rfind("resp_", 0), 0u);
  EXPECT_EQ(b["object"], "response");
  EXPECT_TRUE(b["created_at"].is_number_integer());
  EXPECT_EQ(b["status"], "completed");
  EXPECT_TRUE(b["incomplete_details"].is_null());
  EXPECT_EQ(b["model"], "model-a");
  ASSERT_EQ(b["output"].size(), 1u);
  const json& message = b["output"][0];
  EXPECT_EQ(message["type"], "message");
  EXPECT_EQ(message["id"].get<std::string>().rfind("msg_", 0), 0u);
  EXPECT_EQ(message["status"], "completed");
  EXPECT_EQ(message["role"], "assistant");
  ASSERT_EQ(message["content"].size(), 1u);
  EXPECT_EQ(message["content"][0]["type"], "output_text");
  EXPECT_EQ(message["content"][0]["text"], kAnswer);
  EXPECT_EQ(message["content"][0]["annotations"], json::array());
  // A string input is one user message.
  const std::int64_t prompt = estimate_prompt_tokens(14, 1, kCharsPerToken);
  const json& u = b["usage"];
  EXPECT_EQ(u["input_tokens"], prompt);
  EXPECT_EQ(u["input_tokens_details"]["cached_tokens"], 0);
  EXPECT_EQ(u["output_tokens"], 10);
  EXPECT_EQ(u["output_tokens_details"]["reasoning_tokens"], 0);
  EXPECT_EQ(u["total_tokens"], prompt + 10);
}

TEST(ReplayUpstreamResponses, InputItemsAndInstructions) {
  Fixture f;
  // The last user message is the prompt; instructions and every item count towards input tokens.
  const json input = {
      {{"role", "user"}, {"content", "Hello"}},
      {{"type", "message"},
       {"role", "assistant"},
       {"content", {{{"type", "output_text"}, {"text", "Hi"}}}}},
      {{"role", "user"}, {"content", {{{"type", "input_text"}, {"text", kQuestion}}}}}};
  const http::HttpResponse r = ask(f, responses_body(input, {{"instructions", "Be brief."}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(header_of(r, "x-replay-match"), "text");
  const json b = body_of(r);
  EXPECT_EQ(b["output"][0]["content"][0]["text"], kAnswer);
  EXPECT_EQ(b["usage"]["input_tokens"], estimate_prompt_tokens(5 + 2 + 14 + 9, 4, kCharsPerToken));
  // By qid from metadata, whatever the input says.
  const json q = body_of(ask(f, responses_body("anything", {{"metadata", {{"qid", "q2"}}}})));
  EXPECT_EQ(q["output"][0]["content"][0]["text"], "caf\xC3\xA9 caf\xC3\xA9");
}

TEST(ReplayUpstreamResponses, MaxOutputTokensCutsAndTheAnswerIsIncomplete) {
  Fixture f;
  const json b = body_of(ask(f, responses_body(kQuestion, {{"max_output_tokens", 3}})));
  EXPECT_EQ(b["status"], "incomplete");
  EXPECT_EQ(b["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(b["output"][0]["status"], "incomplete");
  EXPECT_EQ(b["output"][0]["content"][0]["text"], std::string(kAnswer).substr(0, 12));
  EXPECT_EQ(b["usage"]["output_tokens"], 3);
  // At or above the recorded count: complete.
  const json whole = body_of(ask(f, responses_body(kQuestion, {{"max_output_tokens", 10}})));
  EXPECT_EQ(whole["status"], "completed");
  EXPECT_EQ(whole["usage"]["output_tokens"], 10);
}

TEST(ReplayUpstreamResponses, ReasoningShareAndReasoningItem) {
  ReplayUpstreamOptions o;
  o.reasoning_share = 0.5;
  o.reasoning_item = true;
  Fixture f(o);
  const json b = body_of(ask(f, responses_body(kQuestion)));
  ASSERT_EQ(b["output"].size(), 2u);
  EXPECT_EQ(b["output"][0]["type"], "reasoning");
  EXPECT_EQ(b["output"][0]["id"].get<std::string>().rfind("rs_", 0), 0u);
  EXPECT_EQ(b["output"][0]["summary"], json::array());
  EXPECT_EQ(b["output"][1]["type"], "message");
  EXPECT_EQ(b["output"][1]["content"][0]["text"], kAnswer);
  EXPECT_EQ(b["usage"]["output_tokens"], 10);
  EXPECT_EQ(b["usage"]["output_tokens_details"]["reasoning_tokens"], 5);
  // Capped: the share of what was generated.
  const json cut = body_of(ask(f, responses_body(kQuestion, {{"max_output_tokens", 3}})));
  EXPECT_EQ(cut["usage"]["output_tokens"], 3);
  EXPECT_EQ(cut["usage"]["output_tokens_details"]["reasoning_tokens"], 2);
  // The share without the item.
  o.reasoning_item = false;
  Fixture g(o);
  const json plain = body_of(ask(g, responses_body(kQuestion)));
  ASSERT_EQ(plain["output"].size(), 1u);
  EXPECT_EQ(plain["usage"]["output_tokens_details"]["reasoning_tokens"], 5);
}

// The event types of a stream, in order.
std::vector<std::string> types_of(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const json& e : events) out.push_back(e["type"]);
  return out;
}

TEST(ReplayUpstreamResponses, StreamSendsTypedEventsInOrder) {
  Fixture f;
  const http::HttpResponse r = ask(f, responses_body(kQuestion, {{"stream", true}}));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream");
  const auto s = run_stream(r);
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.raw.find("[DONE]"), std::string::npos);
  const auto events = testing::chunks(s);
  std::vector<std::string> expected = {"response.created", "response.in_progress",
                                       "response.output_item.added", "response.content_part.added"};
  expected.insert(expected.end(), 10, "response.output_text.delta");
  expected.insert(expected.end(), {"response.output_text.done", "response.content_part.done",
                                   "response.output_item.done", "response.completed"});
  EXPECT_EQ(types_of(events), expected);
  // Each event is "event: <type>" then its data line.
  std::size_t at = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i]["sequence_number"], static_cast<std::int64_t>(i));
    const std::string line = "event: " + events[i]["type"].get<std::string>() + "\ndata: {";
    at = s.raw.find(line, at);
    ASSERT_NE(at, std::string::npos) << line;
  }
  EXPECT_EQ(s.raw.rfind("event: response.created\ndata: ", 0), 0u);

  const json& created = events[0]["response"];
  EXPECT_EQ(created["status"], "in_progress");
  EXPECT_EQ(created["output"], json::array());
  EXPECT_TRUE(created["usage"].is_null());
  const json& added = events[2];
  EXPECT_EQ(added["output_index"], 0);
  EXPECT_EQ(added["item"]["status"], "in_progress");
  EXPECT_EQ(added["item"]["content"], json::array());
  const std::string item_id = added["item"]["id"];
  EXPECT_EQ(events[3]["part"]["text"], "");
  std::string text;
  for (std::size_t i = 4; i < 14; ++i) {
    EXPECT_EQ(events[i]["item_id"], item_id);
    EXPECT_EQ(events[i]["output_index"], 0);
    EXPECT_EQ(events[i]["content_index"], 0);
    text += events[i]["delta"].get<std::string>();
  }
  EXPECT_EQ(text, kAnswer);
  EXPECT_EQ(events[14]["text"], kAnswer);
  EXPECT_EQ(events[15]["part"]["text"], kAnswer);
  EXPECT_EQ(events[16]["item"]["status"], "completed");
  const json& done = events.back()["response"];
  EXPECT_EQ(done["id"], created["id"]);
  EXPECT_EQ(done["status"], "completed");
  EXPECT_EQ(done["output"][0]["content"][0]["text"], kAnswer);
  EXPECT_EQ(done["usage"]["output_tokens"], 10);
}

TEST(ReplayUpstreamResponses, CutStreamEndsIncompleteWithReasoningItemFirst) {
  ReplayUpstreamOptions o;
  o.reasoning_share = 0.5;
  o.reasoning_item = true;
  Fixture f(o);
  const auto events = testing::chunks(
      run_stream(ask(f, responses_body(kQuestion, {{"stream", true}, {"max_output_tokens", 4}}))));
  std::vector<std::string> expected = {"response.created",           "response.in_progress",
                                       "response.output_item.added", "response.output_item.done",
                                       "response.output_item.added", "response.content_part.added"};
  expected.insert(expected.end(), 4, "response.output_text.delta");
  expected.insert(expected.end(), {"response.output_text.done", "response.content_part.done",
                                   "response.output_item.done", "response.incomplete"});
  ASSERT_EQ(types_of(events), expected);
  EXPECT_EQ(events[2]["item"]["type"], "reasoning");
  EXPECT_EQ(events[4]["output_index"], 1);
  EXPECT_EQ(events[6]["output_index"], 1);
  EXPECT_EQ(events[12]["item"]["status"], "incomplete");
  const json& last = events.back()["response"];
  EXPECT_EQ(last["status"], "incomplete");
  EXPECT_EQ(last["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(last["usage"]["output_tokens"], 4);
  EXPECT_EQ(last["usage"]["output_tokens_details"]["reasoning_tokens"], 2);
}

TEST(ReplayUpstreamResponses, StreamIsPacedLikeChat) {
  ReplayUpstreamOptions o;
  o.tokens_per_second = 20;
  Fixture f(o);
  const auto before = f.clock->now();
  EXPECT_TRUE(run_stream(ask(f, responses_body(kQuestion, {{"stream", true}}))).complete);
  EXPECT_EQ(f.clock->now() - before, std::chrono::milliseconds(500));
  EXPECT_EQ(f.clock->waits(), 10);
}

TEST(ReplayUpstreamResponses, FaultsAndUsageShapeNone) {
  Fixture f;
  EXPECT_EQ(ask(f, responses_body(kQuestion), {{"x-replay-fault", "status=503"}}).status, 503);
  const auto dropped = run_stream(
      ask(f, responses_body(kQuestion, {{"stream", true}}), {{"x-replay-fault", "close-after=3"}}));
  EXPECT_FALSE(dropped.complete);
  const auto events = testing::chunks(dropped);
  ASSERT_EQ(events.size(), 4u + 3u);  // the opening events and three deltas
  EXPECT_EQ(events.back()["type"], "response.output_text.delta");
  const json no_usage =
      body_of(ask(f, responses_body(kQuestion), {{"x-replay-fault", "no-usage"}}));
  EXPECT_TRUE(no_usage["usage"].is_null());

  ReplayUpstreamOptions o;
  o.usage_shape = UsageShape::kNone;
  Fixture g(o);
  EXPECT_TRUE(body_of(ask(g, responses_body(kQuestion)))["usage"].is_null());
  const auto streamed =
      testing::chunks(run_stream(ask(g, responses_body(kQuestion, {{"stream", true}}))));
  EXPECT_TRUE(streamed.back()["response"]["usage"].is_null());
}

TEST(ReplayUpstreamResponses, UnknownPromptIsLoremOrA404NamingInput) {
  ReplayUpstreamOptions o;
  o.lorem_tokens = 6;
  Fixture f(o);
  const json b = body_of(ask(f, responses_body("Unrecorded?")));
  EXPECT_EQ(b["output"][0]["content"][0]["text"], lorem_text(6));
  o.unknown_prompt = UnknownPrompt::kError;
  Fixture g(o);
  const http::HttpResponse e = ask(g, responses_body("Unrecorded?"));
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(body_of(e)["error"]["param"], "input");
  EXPECT_EQ(body_of(e)["error"]["code"], "prompt_not_recorded");
}

TEST(ReplayUpstreamResponses, BadInputIsA400NamingTheField) {
  Fixture f;
  const std::vector<std::pair<json, std::string>> cases = {
      {json{{"model", "model-a"}}, "input"},
      {responses_body(42), "input"},
      {responses_body(json::object()), "input"},
      {responses_body(json::array()), "input"},
      {responses_body(json::array({"text"})), "input[0]"},
      {responses_body(json::array({{{"type", "function_call"}, {"name", "f"}}})), "input[0].type"},
      {responses_body(json::array({{{"role", "robot"}, {"content", "x"}}})), "input[0].role"},
      {responses_body(json::array({{{"role", "user"}}})), "input[0].content"},
      {responses_body(json::array({{{"role", "user"}, {"content", 7}}})), "input[0].content"},
      {responses_body(json::array(
           {{{"role", "user"}, {"content", {{{"type", "input_image"}, {"image_url", "x"}}}}}})),
       "input[0].content[0].type"},
      {responses_body(
           json::array({{{"role", "user"}, {"content", {{{"type", "input_text"}, {"text", 1}}}}}})),
       "input[0].content[0].text"},
      {responses_body(kQuestion, {{"max_output_tokens", 0}}), "max_output_tokens"},
      {responses_body(kQuestion, {{"max_output_tokens", -5}}), "max_output_tokens"},
      {responses_body(kQuestion, {{"max_output_tokens", 2.5}}), "max_output_tokens"},
      {responses_body(kQuestion, {{"max_output_tokens", "10"}}), "max_output_tokens"},
      {responses_body(kQuestion, {{"max_output_tokens", 1e300}}), "max_output_tokens"},
      {responses_body(kQuestion, {{"stream", "yes"}}), "stream"},
      {responses_body(kQuestion, {{"instructions", 3}}), "instructions"},
      {responses_body(kQuestion, {{"model", 3}}), "model"},
      {responses_body(kQuestion, {{"reasoning", "high"}}), "reasoning"},
  };
  for (const auto& [body, param] : cases) {
    const http::HttpResponse r = ask(f, body);
    EXPECT_EQ(r.status, 400) << body;
    const json err = body_of(r)["error"];
    EXPECT_EQ(err["type"], "invalid_request_error") << body;
    EXPECT_EQ(err["param"], param) << body;
    EXPECT_TRUE(err["message"].is_string());
  }
  // max_output_tokens as a float that is an integer is accepted, as OpenAI's validator does.
  EXPECT_EQ(body_of(ask(f, responses_body(kQuestion, {{"max_output_tokens", 3.0}})))["status"],
            "incomplete");
  EXPECT_EQ(f.upstream.handle(http::HttpRequest{"POST", "/v1/responses", {}, "{"}).status, 400);
  EXPECT_EQ(f.upstream.handle(http::HttpRequest{"GET", "/v1/responses", {}, ""}).status, 405);
}

TEST(ReplayUpstreamResponses, EventsAreNumberedAndFramed) {
  ResponseIdentity id{"resp_1", "msg_1", "rs_1", 7, "m"};
  ResponseEvents events(id, ResponseOutcome{});
  const auto opening = events.opening();
  ASSERT_EQ(opening.size(), 4u);
  const json d = events.delta("ab");
  EXPECT_EQ(d["sequence_number"], 4);
  EXPECT_EQ(d["logprobs"], json::array());
  EXPECT_EQ(sse_event(d), "event: response.output_text.delta\ndata: " + d.dump() + "\n\n");
  const auto closing = events.closing("ab");
  EXPECT_EQ(closing.back()["sequence_number"], 8);
  EXPECT_TRUE(closing.back()["response"]["usage"].is_null());
}

}  // namespace
}  // namespace clearhouse::tools
