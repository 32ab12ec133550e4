#include "openai/responses_stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "openai/responses_request.h"

namespace clearhouse::openai {
namespace {

using nlohmann::json;

// One typed event as a client reads it: the `event:` name and the data.
struct Event {
  std::string name;
  json data;
};

// Splits typed SSE text into events (each "event: X\ndata: {...}\n\n"); a data line without an
// event line gets an empty name.
std::vector<Event> events_of(const std::string& text) {
  std::vector<Event> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find("\n\n", at);
    const std::string block = text.substr(at, end - at);
    at = end == std::string::npos ? text.size() : end + 2;
    Event e;
    std::size_t line_at = 0;
    while (line_at < block.size()) {
      const std::size_t nl = std::min(block.find('\n', line_at), block.size());
      const std::string line = block.substr(line_at, nl - line_at);
      if (line.starts_with("event: ")) e.name = line.substr(7);
      if (line.starts_with("data: ")) e.data = json::parse(line.substr(6), nullptr, false);
      line_at = nl + 1;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> names(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) out.push_back(e.name);
  return out;
}

std::string chat_chunk(const std::string& content, json finish_reason = nullptr) {
  json chunk = {{"model", "up-model"}, {"choices", {{{"index", 0}, {"delta", json::object()}}}}};
  if (!content.empty()) chunk["choices"][0]["delta"]["content"] = content;
  chunk["choices"][0]["finish_reason"] = std::move(finish_reason);
  return http::sse_data(chunk.dump());
}

std::string usage_chunk(std::int64_t completion_tokens) {
  return http::sse_data(json{{"choices", json::array()},
                             {"usage",
                              {{"prompt_tokens", 6},
                               {"completion_tokens", completion_tokens},
                               {"completion_tokens_details", {{"reasoning_tokens", 2}}}}}}
                            .dump());
}

CompletionRequest request() {
  return responses_request_from_json(json{{"model", "m"}, {"input", "hi"}, {"stream", true}});
}

// Feeds `bytes` in pieces of `step` bytes (events split anywhere).
template <typename Relay>
std::string feed_in_pieces(Relay& relay, const std::string& bytes, std::size_t step) {
  std::string out;
  for (std::size_t at = 0; at < bytes.size(); at += step) out += relay.feed(bytes.substr(at, step));
  return out;
}

const std::vector<std::string> kCompleteEvents = {
    "response.created",           "response.in_progress",
    "response.output_item.added", "response.content_part.added",
    "response.output_text.delta", "response.output_text.delta",
    "response.output_text.done",  "response.content_part.done",
    "response.output_item.done",  "response.completed"};

TEST(ChatToResponsesStream, MakesTheResponsesEventsOfAChatStream) {
  const CompletionRequest r = request();
  const std::string chat = chat_chunk("fo") + chat_chunk("ur") + chat_chunk("", "stop") +
                           usage_chunk(2) + std::string(http::kSseDone);
  for (const std::size_t step : {std::size_t{1}, std::size_t{7}, chat.size()}) {
    ChatToResponsesStream stream(r, "resp_x", 100);
    const std::vector<Event> events = events_of(feed_in_pieces(stream, chat, step));
    EXPECT_EQ(names(events), kCompleteEvents) << step;
    EXPECT_TRUE(stream.done());
    EXPECT_EQ(stream.content_chunks(), 2);
    EXPECT_EQ(stream.reported().tokens(), 2);
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].data["type"], events[i].name);
      EXPECT_EQ(events[i].data["sequence_number"], static_cast<std::int64_t>(i));
    }
    EXPECT_EQ(events[0].data["response"]["id"], "resp_x");
    EXPECT_EQ(events[0].data["response"]["status"], "in_progress");
    EXPECT_EQ(events[4].data["delta"], "fo");
    EXPECT_EQ(events[4].data["item_id"], "msg_resp_x");
    EXPECT_EQ(events[6].data["text"], "four");
    EXPECT_EQ(events[8].data["item"]["content"][0]["text"], "four");
    const json& done = events[9].data["response"];
    EXPECT_EQ(done["status"], "completed");
    EXPECT_EQ(done["model"], "up-model");
    EXPECT_EQ(done["output"][0]["content"][0]["text"], "four");
    EXPECT_EQ(done["usage"]["input_tokens"], 6);
    EXPECT_EQ(done["usage"]["output_tokens"], 2);
    EXPECT_EQ(done["usage"]["output_tokens_details"]["reasoning_tokens"], 2);
    EXPECT_EQ(done["usage"]["total_tokens"], 8);
  }
}

TEST(ChatToResponsesStream, ALengthFinishIsIncomplete) {
  const CompletionRequest r = request();
  ChatToResponsesStream stream(r, "resp_y", 3);
  const std::vector<Event> events =
      events_of(stream.feed(chat_chunk("a") + chat_chunk("b") + chat_chunk("c", "length") +
                            usage_chunk(3) + std::string(http::kSseDone)));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "response.incomplete");
  const json& response = events.back().data["response"];
  EXPECT_EQ(response["status"], "incomplete");
  EXPECT_EQ(response["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(response["output"][0]["status"], "incomplete");
  EXPECT_EQ(response["usage"]["output_tokens"], 3);
}

TEST(ChatToResponsesStream, WithoutUsageTheChunksAreCountedUpToTheCap) {
  const CompletionRequest r = request();
  ChatToResponsesStream stream(r, "resp_z", 2);
  const std::vector<Event> events = events_of(stream.feed(
      chat_chunk("a") + chat_chunk("b") + chat_chunk("c", "stop") + std::string(http::kSseDone)));
  EXPECT_EQ(events.back().data["response"]["usage"]["output_tokens"], 2);
  EXPECT_EQ(stream.tokens_generated(2), 2);
  EXPECT_EQ(stream.content_chunks(), 3);
}

TEST(ChatToResponsesStream, NotDoneWithoutDoneAndAnErrorIsATypedEvent) {
  const CompletionRequest r = request();
  ChatToResponsesStream stream(r, "resp_e", 10);
  const std::string out = stream.feed(chat_chunk("a"));
  EXPECT_FALSE(stream.done());
  EXPECT_EQ(names(events_of(out)).back(), "response.output_text.delta");
  const std::vector<Event> error = events_of(stream.error_event(
      json{{"error",
            {{"message", "cut"}, {"type", "x"}, {"param", nullptr}, {"code", "upstream_error"}}}}));
  ASSERT_EQ(error.size(), 1u);
  EXPECT_EQ(error[0].name, "error");
  EXPECT_EQ(error[0].data["type"], "error");
  EXPECT_EQ(error[0].data["message"], "cut");
  EXPECT_EQ(error[0].data["code"], "upstream_error");
  EXPECT_EQ(error[0].data["sequence_number"], 5);  // after created..delta (0..4)
}

TEST(ChatToResponsesStream, AnEmptyAnswerStillEndsWithACompleteStructure) {
  const CompletionRequest r = request();
  ChatToResponsesStream stream(r, "resp_0", 10);
  const std::vector<Event> events = events_of(stream.feed(std::string(http::kSseDone)));
  EXPECT_EQ(names(events),
            (std::vector<std::string>{"response.created", "response.in_progress",
                                      "response.output_item.added", "response.content_part.added",
                                      "response.output_text.done", "response.content_part.done",
                                      "response.output_item.done", "response.completed"}));
}

std::string typed(const json& event) {
  return sse_typed_event(event["type"].get<std::string>(), event.dump());
}

TEST(ResponsesStreamRelay, PassesTypedEventsThroughAndReadsTheUsage) {
  for (const std::string end : {"response.completed", "response.incomplete"}) {
    const std::string upstream =
        typed(
            {{"type", "response.created"}, {"sequence_number", 0}, {"response", json::object()}}) +
        typed({{"type", "response.output_text.delta"}, {"sequence_number", 1}, {"delta", "fo"}}) +
        typed({{"type", "response.output_text.delta"}, {"sequence_number", 2}, {"delta", "ur"}}) +
        typed({{"type", "response.output_text.delta"}, {"sequence_number", 3}, {"delta", ""}}) +
        typed({{"type", end},
               {"sequence_number", 4},
               {"response", {{"usage", {{"input_tokens", 3}, {"output_tokens", 2}}}}}});
    ResponsesStreamRelay relay;
    std::string out;
    for (std::size_t at = 0; at < upstream.size(); at += 5) {
      EXPECT_FALSE(relay.done());
      out += relay.feed(std::string_view(upstream).substr(at, 5));
    }
    EXPECT_EQ(out, upstream);  // nothing the client needs is dropped
    EXPECT_TRUE(relay.done());
    EXPECT_EQ(relay.content_chunks(), 2);
    EXPECT_EQ(relay.reported().tokens(), 2);
    EXPECT_EQ(relay.tokens_generated(1), 1);
    const std::vector<Event> error =
        events_of(relay.error_event(json{{"error", {{"message", "m"}}}}));
    EXPECT_EQ(error[0].data["sequence_number"], 5);
  }
}

// vLLM with continuous_usage_stats reports usage on every chunk, growing: the translation settles
// the last report, as the chat relay does, and its reasoning tokens reach the Response's usage.
TEST(ChatToResponsesStream, ContinuousUsageSettlesTheLastReport) {
  const auto with_usage = [](const std::string& content, json finish, std::int64_t tokens) {
    json chunk = {{"choices", {{{"index", 0}, {"delta", {{"content", content}}}}}},
                  {"usage",
                   {{"prompt_tokens", 6},
                    {"completion_tokens", tokens},
                    {"completion_tokens_details", {{"reasoning_tokens", 1}}}}}};
    chunk["choices"][0]["finish_reason"] = std::move(finish);
    return http::sse_data(chunk.dump());
  };
  const std::string chat = with_usage("a", nullptr, 1) + with_usage("b", nullptr, 2) +
                           with_usage("c", "stop", 3) + usage_chunk(3) +
                           std::string(http::kSseDone);
  const CompletionRequest r = request();  // the stream keeps a reference to it
  ChatToResponsesStream stream(r, "resp_c", 100);
  const std::vector<Event> events = events_of(stream.feed(chat));
  EXPECT_FALSE(stream.reported().implausible());
  EXPECT_EQ(stream.reported().tokens(), 3);
  EXPECT_EQ(stream.tokens_generated(100), 3);
  const json& usage = events.back().data["response"]["usage"];
  EXPECT_EQ(usage["output_tokens"], 3);
  EXPECT_EQ(usage["output_tokens_details"]["reasoning_tokens"], 2);  // the last report's
}

TEST(ResponsesStreamRelay, ReadsReasoningTokens) {
  ResponsesStreamRelay relay;
  (void)relay.feed(
      typed({{"type", "response.completed"},
             {"response",
              {{"usage",
                {{"output_tokens", 9}, {"output_tokens_details", {{"reasoning_tokens", 5}}}}}}}}));
  EXPECT_EQ(relay.reported().tokens(), 9);
  EXPECT_EQ(relay.reported().reasoning_tokens(), 5);
}

TEST(ResponsesStreamRelay, AnImplausibleUsageIsKept) {
  ResponsesStreamRelay relay;
  (void)relay.feed(
      typed({{"type", "response.completed"}, {"response", {{"usage", {{"output_tokens", -4}}}}}}));
  EXPECT_TRUE(relay.done());
  EXPECT_TRUE(relay.reported().implausible());
  EXPECT_EQ(relay.tokens_generated(9), 9);
}

}  // namespace
}  // namespace clearhouse::openai
