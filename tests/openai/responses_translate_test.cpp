#include "openai/responses_translate.h"

#include <gtest/gtest.h>

#include <string>

#include "openai/responses_request.h"

namespace clearhouse::openai {
namespace {

using nlohmann::json;

CompletionRequest request(json extra = json::object()) {
  json body = {{"model", "m"}, {"input", "What is 2 + 2?"}};
  body.update(extra);
  return responses_request_from_json(std::move(body));
}

std::string refused_param(const CompletionRequest& r) {
  try {
    check_chat_translatable(r);
  } catch (const http::HttpError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("chat completions"), std::string::npos) << e.what();
    return e.param();
  }
  ADD_FAILURE() << "translatable: " << r.body.dump();
  return "?";
}

TEST(ResponsesTranslate, ARequestBecomesAChatRequest) {
  const CompletionRequest r = request(
      {{"instructions", "be brief"},
       {"input",
        {{{"role", "developer"}, {"content", "use digits"}},
         {{"role", "user"},
          {"content",
           {{{"type", "input_text"}, {"text", "a"}}, {{"type", "input_text"}, {"text", "b"}}}}},
         {{"type", "message"}, {"role", "assistant"}, {"content", "ok"}},
         {{"role", "user"},
          {"content",
           {{{"type", "input_text"}, {"text", "see"}},
            {{"type", "input_image"}, {"image_url", "https://x/a.png"}, {"detail", "low"}}}}}}},
       {"max_output_tokens", 500},
       {"reasoning", {{"effort", "high"}}},
       {"text",
        {{"format", {{"type", "json_schema"}, {"name", "n"}, {"schema", json::object()}}},
         {"verbosity", "low"}}},
       {"store", true},
       {"temperature", 0.5},
       {"metadata", {{"qid", "gsm/1"}}},
       {"stream", true}});
  check_chat_translatable(r);
  const json chat = chat_body_from_responses(r, 200, "up-model");
  EXPECT_EQ(chat["model"], "up-model");
  EXPECT_EQ(chat["max_tokens"], 200);
  EXPECT_FALSE(chat.contains("max_output_tokens"));
  EXPECT_FALSE(chat.contains("input"));
  EXPECT_FALSE(chat.contains("instructions"));
  EXPECT_FALSE(chat.contains("reasoning"));
  EXPECT_FALSE(chat.contains("store"));
  EXPECT_FALSE(chat.contains("text"));
  EXPECT_EQ(chat["reasoning_effort"], "high");
  EXPECT_EQ(chat["verbosity"], "low");
  EXPECT_EQ(chat["response_format"]["type"], "json_schema");
  EXPECT_EQ(chat["response_format"]["json_schema"]["name"], "n");
  EXPECT_EQ(chat["temperature"], 0.5);
  EXPECT_EQ(chat["metadata"]["qid"], "gsm/1");
  EXPECT_EQ(chat["stream"], true);
  EXPECT_EQ(chat["stream_options"]["include_usage"], true);
  const json& m = chat["messages"];
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0], (json{{"role", "system"}, {"content", "be brief"}}));
  EXPECT_EQ(m[1], (json{{"role", "system"}, {"content", "use digits"}}));
  EXPECT_EQ(m[2], (json{{"role", "user"}, {"content", "a\nb"}}));
  EXPECT_EQ(m[3], (json{{"role", "assistant"}, {"content", "ok"}}));
  EXPECT_EQ(m[4]["content"][1]["image_url"]["url"], "https://x/a.png");
  EXPECT_EQ(m[4]["content"][1]["image_url"]["detail"], "low");
}

TEST(ResponsesTranslate, AStringInputIsOneUserMessage) {
  const json chat = chat_body_from_responses(request({{"n", 3}}), 64, "");
  EXPECT_EQ(chat["messages"], (json{{{"role", "user"}, {"content", "What is 2 + 2?"}}}));
  EXPECT_EQ(chat["max_tokens"], 64);
  EXPECT_FALSE(chat.contains("n"));  // one answer: the reservation holds one cap
  EXPECT_FALSE(chat.contains("stream_options"));
}

TEST(ResponsesTranslate, TheChatBodyWritesTheUpstreamsLengthFields) {
  const json chat =
      chat_body_from_responses(request({{"max_output_tokens", 900}}), 600, "",
                               {.max_tokens_field = MaxTokensField::kMaxCompletionTokens,
                                .thinking_budget_field = "thinking_token_budget",
                                .answer_reserve = 256});
  EXPECT_EQ(chat["max_completion_tokens"], 600);
  EXPECT_FALSE(chat.contains("max_tokens"));
  EXPECT_EQ(chat["thinking_token_budget"], 344);
}

TEST(ResponsesTranslate, RefusesWhatChatCannotExpress) {
  EXPECT_EQ(refused_param(request({{"previous_response_id", "resp_1"}})), "previous_response_id");
  EXPECT_EQ(refused_param(request({{"tools", {{{"type", "web_search"}}}}})), "tools");
  EXPECT_EQ(refused_param(request({{"tool_choice", "required"}})), "tool_choice");
  EXPECT_EQ(refused_param(request({{"background", true}})), "background");
  EXPECT_EQ(refused_param(request({{"include", json::array({"reasoning.encrypted_content"})}})),
            "include");
  EXPECT_EQ(refused_param(request({{"truncation", "auto"}})), "truncation");
  EXPECT_EQ(refused_param(request({{"reasoning", {{"summary", "auto"}}}})), "reasoning.summary");
  EXPECT_EQ(refused_param(request({{"text", {{"format", {{"type", "grammar"}}}}}})), "text.format");
  EXPECT_EQ(refused_param(request({{"input",
                                    {{{"role", "user"}, {"content", "a"}},
                                     {{"type", "function_call_output"}, {"call_id", "c"}}}}})),
            "input[1].type");
  EXPECT_EQ(refused_param(
                request({{"input",
                          {{{"role", "user"},
                            {"content", {{{"type", "input_file"}, {"file_id", "file-1"}}}}}}}})),
            "input[0].content[0].type");
  EXPECT_EQ(refused_param(
                request({{"input",
                          {{{"role", "user"},
                            {"content", {{{"type", "input_image"}, {"file_id", "file-1"}}}}}}}})),
            "input[0].content[0].image_url");
  // What means nothing without tools, or is the default, is accepted.
  check_chat_translatable(request({{"tools", json::array()},
                                   {"tool_choice", "auto"},
                                   {"truncation", "disabled"},
                                   {"background", false},
                                   {"parallel_tool_calls", true}}));
}

json chat_answer(const json& finish_reason, json usage) {
  return {{"id", "chatcmpl-1"},
          {"model", "up-model"},
          {"created", 1700000000},
          {"choices",
           {{{"index", 0},
             {"message", {{"role", "assistant"}, {"content", "four"}}},
             {"finish_reason", finish_reason}}}},
          {"usage", std::move(usage)}};
}

TEST(ResponsesTranslate, AChatAnswerBecomesAResponse) {
  const json usage = {{"prompt_tokens", 12},
                      {"completion_tokens", 9},
                      {"completion_tokens_details", {{"reasoning_tokens", 5}}}};
  const json r = response_from_chat(chat_answer("stop", usage),
                                    request({{"max_output_tokens", 50}, {"instructions", "x"}}),
                                    "resp_abc", 9);
  EXPECT_EQ(r["id"], "resp_abc");
  EXPECT_EQ(r["object"], "response");
  EXPECT_EQ(r["status"], "completed");
  EXPECT_TRUE(r["incomplete_details"].is_null());
  EXPECT_EQ(r["model"], "up-model");
  EXPECT_EQ(r["created_at"], 1700000000);
  EXPECT_EQ(r["max_output_tokens"], 50);
  EXPECT_EQ(r["instructions"], "x");
  ASSERT_EQ(r["output"].size(), 1u);
  EXPECT_EQ(r["output"][0]["type"], "message");
  EXPECT_EQ(r["output"][0]["role"], "assistant");
  EXPECT_EQ(r["output"][0]["status"], "completed");
  EXPECT_EQ(r["output"][0]["content"][0]["type"], "output_text");
  EXPECT_EQ(r["output"][0]["content"][0]["text"], "four");
  EXPECT_EQ(r["usage"]["input_tokens"], 12);
  EXPECT_EQ(r["usage"]["output_tokens"], 9);
  EXPECT_EQ(r["usage"]["output_tokens_details"]["reasoning_tokens"], 5);
  EXPECT_EQ(r["usage"]["total_tokens"], 21);
}

TEST(ResponsesTranslate, ACappedAnswerIsIncomplete) {
  const json r = response_from_chat(chat_answer("length", nullptr), request(), "resp_1", 4);
  EXPECT_EQ(r["status"], "incomplete");
  EXPECT_EQ(r["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(r["output"][0]["status"], "incomplete");
  EXPECT_EQ(r["usage"]["output_tokens"], 4);  // what the gateway settled
  EXPECT_EQ(r["usage"]["input_tokens"], 0);
  EXPECT_EQ(response_from_chat(chat_answer("content_filter", nullptr), request(), "r",
                               1)["incomplete_details"]["reason"],
            "content_filter");
}

TEST(ResponsesTranslate, ChatParamsAreNamedAsTheClientsFields) {
  EXPECT_EQ(responses_param_from_chat("reasoning_effort"), "reasoning.effort");
  EXPECT_EQ(responses_param_from_chat("max_tokens"), "max_output_tokens");
  EXPECT_EQ(responses_param_from_chat("messages"), "input");
  EXPECT_EQ(responses_param_from_chat("temperature"), "temperature");
  EXPECT_EQ(responses_param_from_chat(""), "");
}

}  // namespace
}  // namespace clearhouse::openai
