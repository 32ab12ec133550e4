#include "openai/request.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace clearhouse::openai {
namespace {

using nlohmann::json;

json chat(json extra = json::object()) {
  json body = {
      {"model", "m"},
      {"messages",
       {{{"role", "system"}, {"content", "be brief"}}, {{"role", "user"}, {"content", "2+2?"}}}}};
  body.update(extra);
  return body;
}

std::string param_of(const std::string& body, Endpoint endpoint = Endpoint::kChat) {
  try {
    (void)parse_completion_request(body, endpoint);
  } catch (const http::HttpError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.param();
  }
  ADD_FAILURE() << "accepted: " << body;
  return "?";
}

TEST(OpenAiRequest, ParsesChatFields) {
  const auto r = parse_completion_request(chat({{"max_tokens", 300},
                                                {"max_completion_tokens", 200},
                                                {"stream", true},
                                                {"stream_options", {{"include_usage", true}}},
                                                {"metadata", {{"dataset", "gsm"}}}})
                                              .dump(),
                                          Endpoint::kChat);
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.prompt, "2+2?");
  EXPECT_EQ(r.messages, 2);
  EXPECT_EQ(r.prompt_chars, 12);
  EXPECT_EQ(r.client_cap(), 200);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.dataset, "gsm");
  EXPECT_EQ(r.generations(), 1);
}

TEST(OpenAiRequest, ParsesCompletionsPromptAndChoices) {
  const auto r = parse_completion_request(
      json{{"prompt", {"Q: 1+1"}}, {"n", 2}, {"best_of", 3}, {"max_tokens", 64.0}}.dump(),
      Endpoint::kCompletions);
  EXPECT_EQ(r.prompt, "Q: 1+1");
  EXPECT_EQ(r.max_tokens, 64);
  EXPECT_EQ(r.generations(), 3);
  EXPECT_FALSE(r.client_cap() == std::nullopt);
  EXPECT_FALSE(r.stream);
}

TEST(OpenAiRequest, NoCapMeansNullopt) {
  EXPECT_EQ(parse_completion_request(chat().dump(), Endpoint::kChat).client_cap(), std::nullopt);
}

TEST(OpenAiRequest, RejectsBadFieldsNamingThem) {
  EXPECT_EQ(param_of(chat({{"max_tokens", 0}}).dump()), "max_tokens");
  EXPECT_EQ(param_of(chat({{"max_tokens", -5}}).dump()), "max_tokens");
  EXPECT_EQ(param_of(chat({{"max_tokens", "10"}}).dump()), "max_tokens");
  EXPECT_EQ(param_of(chat({{"max_completion_tokens", 2.5}}).dump()), "max_completion_tokens");
  EXPECT_EQ(param_of(chat({{"max_tokens", 18446744073709551615ULL}}).dump()), "max_tokens");
  // Floats beyond int64's range (found by fuzz/request_parser_fuzz: converting them was UB).
  EXPECT_EQ(param_of(chat({{"max_tokens", 1e300}}).dump()), "max_tokens");
  EXPECT_EQ(param_of(chat({{"max_completion_tokens", -1e300}}).dump()), "max_completion_tokens");
  EXPECT_EQ(param_of(chat({{"n", 9.3e18}}).dump()), "n");
  EXPECT_EQ(param_of(chat({{"n", 0}}).dump()), "n");
  EXPECT_EQ(param_of(chat({{"n", 1000}}).dump()), "n");
  EXPECT_EQ(param_of(chat({{"stream", "yes"}}).dump()), "stream");
  EXPECT_EQ(param_of(chat({{"stream_options", 3}}).dump()), "stream_options");
  EXPECT_EQ(param_of(chat({{"stream_options", {{"include_usage", 1}}}}).dump()),
            "stream_options.include_usage");
  EXPECT_EQ(param_of(chat({{"model", 7}}).dump()), "model");
  EXPECT_EQ(param_of(json{{"messages", json::array()}}.dump()), "messages");
  EXPECT_EQ(param_of(json{{"messages", {{{"content", "x"}}}}}.dump()), "messages[0]");
  EXPECT_EQ(param_of(json{{"messages", {{{"role", "user"}, {"content", 5}}}}}.dump()),
            "messages[0].content");
  EXPECT_EQ(param_of(json{{"prompt", {"a", "b"}}}.dump(), Endpoint::kCompletions), "prompt");
  EXPECT_EQ(param_of(json{{"prompt", 1}}.dump(), Endpoint::kCompletions), "prompt");
  EXPECT_EQ(param_of("{not json"), "");
  EXPECT_EQ(param_of("[1]"), "");
  EXPECT_EQ(param_of(std::string(100, '[') + std::string(100, ']')), "");
}

TEST(OpenAiRequest, UpstreamBodyLowersCapsAndAsksForUsage) {
  const auto r = parse_completion_request(
      chat({{"max_completion_tokens", 500}, {"stream", true}, {"temperature", 0.3}}).dump(),
      Endpoint::kChat);
  const json body = upstream_body(r, 120, "upstream-model");
  EXPECT_EQ(body["model"], "upstream-model");
  EXPECT_EQ(body["max_completion_tokens"], 120);
  EXPECT_FALSE(body.contains("max_tokens"));
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_EQ(body["temperature"], 0.3);
  EXPECT_EQ(body["messages"], r.body["messages"]);
}

TEST(OpenAiRequest, UpstreamBodySetsMaxTokensWhenClientSentNoCap) {
  const auto r = parse_completion_request(chat().dump(), Endpoint::kChat);
  const json body = upstream_body(r, 77, "");
  EXPECT_EQ(body["max_tokens"], 77);
  EXPECT_EQ(body["model"], "m");
  EXPECT_FALSE(body.contains("stream_options"));
}

TEST(OpenAiRequest, UpstreamBodySetsBothFieldsWhenBothSent) {
  const auto r = parse_completion_request(
      chat({{"max_tokens", 900}, {"max_completion_tokens", 800}}).dump(), Endpoint::kChat);
  const json body = upstream_body(r, 50, "x");
  EXPECT_EQ(body["max_tokens"], 50);
  EXPECT_EQ(body["max_completion_tokens"], 50);
}

// The gateway owns every length field: a vendor field a client sends (llama.cpp's n_predict
// overrides max_tokens there) never reaches the upstream, whatever its value.
TEST(OpenAiRequest, UpstreamBodyRemovesEveryVendorLengthField) {
  json extra = {{"max_tokens", 900}, {"temperature", 0.3}};
  for (const std::string_view name : kVendorLengthFields) extra[std::string(name)] = 100000;
  extra["ignore_eos"] = true;
  const auto r = parse_completion_request(chat(extra).dump(), Endpoint::kChat);
  const json body = upstream_body(r, 64, "x");
  for (const std::string_view name : kVendorLengthFields) {
    EXPECT_FALSE(body.contains(std::string(name))) << name;
  }
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["temperature"], 0.3);
  for (const char* name :
       {"n_predict", "max_new_tokens", "min_tokens", "max_length", "ignore_eos"}) {
    EXPECT_NE(std::find(kVendorLengthFields.begin(), kVendorLengthFields.end(), name),
              kVendorLengthFields.end())
        << name << " left out of the documented list";
  }
  // The client's own body is untouched: only what goes upstream changes.
  EXPECT_EQ(r.body["n_predict"], 100000);
}

TEST(OpenAiRequest, UpstreamBodyRemovesTheConfiguredExtraLengthFields) {
  const auto r = parse_completion_request(
      json{{"prompt", "Q"}, {"my_len", 5000}, {"other_len", 1}, {"top_p", 0.9}}.dump(),
      Endpoint::kCompletions);
  const std::vector<std::string> extra = {"my_len", "other_len", "absent_field"};
  const json body = upstream_body(r, 32, "", extra);
  EXPECT_FALSE(body.contains("my_len"));
  EXPECT_FALSE(body.contains("other_len"));
  EXPECT_EQ(body["top_p"], 0.9);
  EXPECT_EQ(body["max_tokens"], 32);
  EXPECT_EQ(upstream_body(r, 32, "")["my_len"], 5000);  // only when configured
}

TEST(OpenAiRequest, UpstreamStreamsReportUsageOnce) {
  const auto r = parse_completion_request(
      chat({{"stream", true},
            {"stream_options", {{"include_usage", false}, {"continuous_usage_stats", true}}}})
          .dump(),
      Endpoint::kChat);
  const json body = upstream_body(r, 10, "x");
  EXPECT_EQ(body["stream_options"], (json{{"include_usage", true}}));
}

// vLLM ignores max_completion_tokens on /v1/completions: a client's cap there reaches the upstream
// as max_tokens, whatever the upstream's max_tokens_field says for chat.
TEST(OpenAiRequest, CompletionsAlwaysCarryMaxTokens) {
  const auto r = parse_completion_request(
      json{{"prompt", "Q"}, {"max_completion_tokens", 900}}.dump(), Endpoint::kCompletions);
  for (const MaxTokensField f : {MaxTokensField::kAsClientSent, MaxTokensField::kMaxTokens,
                                 MaxTokensField::kMaxCompletionTokens}) {
    const json body = upstream_body(r, 40, "", UpstreamLengths{.max_tokens_field = f});
    EXPECT_EQ(body["max_tokens"], 40);
    EXPECT_FALSE(body.contains("max_completion_tokens"));
  }
}

TEST(OpenAiRequest, MaxTokensFieldChoosesTheCapFieldOnChat) {
  for (const json& caps :
       {json{{"max_tokens", 900}}, json{{"max_completion_tokens", 900}},
        json{{"max_tokens", 900}, {"max_completion_tokens", 800}}, json::object()}) {
    const auto r = parse_completion_request(chat(caps).dump(), Endpoint::kChat);
    const json a =
        upstream_body(r, 30, "", UpstreamLengths{.max_tokens_field = MaxTokensField::kMaxTokens});
    EXPECT_EQ(a["max_tokens"], 30) << caps;
    EXPECT_FALSE(a.contains("max_completion_tokens")) << caps;
    const json b = upstream_body(
        r, 30, "", UpstreamLengths{.max_tokens_field = MaxTokensField::kMaxCompletionTokens});
    EXPECT_EQ(b["max_completion_tokens"], 30) << caps;
    EXPECT_FALSE(b.contains("max_tokens")) << caps;
  }
}

// A declared thinking budget goes below the cap, so a reasoning model capped by the gateway still
// has room to answer; the client's own value in that field never reaches the upstream.
TEST(OpenAiRequest, ThinkingBudgetIsTheCapMinusTheAnswerReserve) {
  const auto r = parse_completion_request(
      chat({{"max_tokens", 5000}, {"thinking_token_budget", 100000}}).dump(), Endpoint::kChat);
  const UpstreamLengths lengths{.thinking_budget_field = "thinking_token_budget",
                                .answer_reserve = 256};
  const json body = upstream_body(r, 1000, "", lengths);
  EXPECT_EQ(body["max_tokens"], 1000);
  EXPECT_EQ(body["thinking_token_budget"], 744);
  // A cap at or below the reserve: no reasoning, the whole cap for the answer.
  EXPECT_EQ(upstream_body(r, 256, "", lengths)["thinking_token_budget"], 0);
  EXPECT_EQ(upstream_body(r, 10, "", lengths)["thinking_token_budget"], 0);
  EXPECT_EQ(thinking_budget(257, 256), 1);
  EXPECT_EQ(thinking_budget(100, 0), 100);
  // Not declared: the field is the client's (the gateway does not know it).
  EXPECT_EQ(upstream_body(r, 1000, "")["thinking_token_budget"], 100000);
  // Declared with a name that is also listed as a length field: set, not removed.
  const std::vector<std::string> extra = {"thinking_token_budget"};
  EXPECT_EQ(upstream_body(r, 1000, "",
                          UpstreamLengths{.extra_length_fields = extra,
                                          .thinking_budget_field = "thinking_token_budget",
                                          .answer_reserve = 900})["thinking_token_budget"],
            100);
}

TEST(OpenAiRequest, BestOfMultipliesTheGenerationsOnChatToo) {
  const auto r = parse_completion_request(chat({{"best_of", 4}, {"n", 2}}).dump(), Endpoint::kChat);
  EXPECT_EQ(r.generations(), 4);
  EXPECT_EQ(param_of(chat({{"best_of", 500}}).dump()), "best_of");
}

TEST(OpenAiRequest, FieldsTheGatewayReadsAreKnown) {
  for (const char* name : {"model", "messages", "prompt", "max_tokens", "max_completion_tokens",
                           "n", "best_of", "stream", "stream_options"}) {
    EXPECT_TRUE(is_field_the_gateway_reads(name)) << name;
  }
  EXPECT_FALSE(is_field_the_gateway_reads("n_predict"));
  EXPECT_FALSE(is_field_the_gateway_reads("temperature"));
}

}  // namespace
}  // namespace clearhouse::openai
