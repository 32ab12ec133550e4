#include "openai/responses_request.h"

#include <gtest/gtest.h>

#include <string>

namespace clearhouse::openai {
namespace {

using nlohmann::json;

json responses(json extra = json::object()) {
  json body = {{"model", "m"}, {"input", "What is 2 + 2?"}};
  body.update(extra);
  return body;
}

CompletionRequest parse(const json& body) {
  return parse_completion_request(body.dump(), Endpoint::kResponses);
}

// The param of the 400 a body is refused with ("?" when it is accepted).
std::string param_of(const json& body) {
  try {
    (void)parse(body);
  } catch (const http::HttpError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_FALSE(std::string(e.what()).empty());
    return e.param();
  }
  ADD_FAILURE() << "accepted: " << body.dump();
  return "?";
}

TEST(ResponsesRequest, ParsesAStringInput) {
  const CompletionRequest r = parse(responses({{"max_output_tokens", 300},
                                               {"stream", true},
                                               {"instructions", "be brief"},
                                               {"metadata", {{"dataset", "gsm"}}}}));
  EXPECT_EQ(r.endpoint, Endpoint::kResponses);
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.prompt, "What is 2 + 2?");
  EXPECT_EQ(r.prompt_chars, 14 + 8);  // the input and the instructions
  EXPECT_EQ(r.max_output_tokens, 300);
  EXPECT_EQ(r.client_cap(), 300);
  EXPECT_EQ(r.generations(), 1);
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(r.dataset, "gsm");
}

TEST(ResponsesRequest, ParsesAListOfItems) {
  const CompletionRequest r = parse(json::parse(R"({
    "model": "m",
    "input": [
      {"role": "developer", "content": "be brief"},
      {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first"}]},
      {"role": "assistant", "content": "ok"},
      {"type": "function_call_output", "call_id": "c1", "output": "42"},
      {"role": "user", "content": [
        {"type": "input_text", "text": "look"},
        {"type": "input_image", "image_url": "https://example.com/a.png"}]}
    ]})"));
  EXPECT_EQ(r.prompt, "look");
  EXPECT_EQ(r.messages, 4);
  EXPECT_EQ(r.client_cap(), std::nullopt);
  EXPECT_FALSE(r.stream);
}

TEST(ResponsesRequest, TheClientCapIsTheSmallestLengthField) {
  EXPECT_EQ(parse(responses({{"max_output_tokens", 512.0}})).client_cap(), 512);
  EXPECT_EQ(parse(responses({{"max_output_tokens", nullptr}})).client_cap(), std::nullopt);
}

TEST(ResponsesRequest, RefusesBadInputNamingTheField) {
  EXPECT_EQ(param_of(json{{"model", "m"}}), "input");
  EXPECT_EQ(param_of(responses({{"input", 42}})), "input");
  EXPECT_EQ(param_of(responses({{"input", {{"role", "user"}}}})), "input");  // an object
  EXPECT_EQ(param_of(responses({{"input", json::array()}})), "input");
  EXPECT_EQ(param_of(responses({{"input", json::array({"hello"})}})), "input[0]");
  EXPECT_EQ(
      param_of(responses({{"input", {{{"role", "user"}, {"content", "a"}}, {{"type", "magic"}}}}})),
      "input[1].type");
  EXPECT_EQ(param_of(responses({{"input", {{{"type", 7}}}}})), "input[0].type");
  EXPECT_EQ(param_of(responses({{"input", {{{"role", "robot"}, {"content", "a"}}}}})),
            "input[0].role");
  EXPECT_EQ(param_of(responses({{"input", {{{"role", "user"}}}}})), "input[0].content");
  EXPECT_EQ(param_of(responses({{"input", {{{"role", "user"}, {"content", 3}}}}})),
            "input[0].content");
  EXPECT_EQ(param_of(responses(
                {{"input",
                  {{{"role", "user"}, {"content", {{{"type", "input_video"}, {"text", "a"}}}}}}}})),
            "input[0].content[0].type");
  EXPECT_EQ(param_of(responses(
                {{"input", {{{"role", "user"}, {"content", {{{"type", "input_text"}}}}}}}})),
            "input[0].content[0].text");
  EXPECT_EQ(param_of(responses({{"model", 3}})), "model");
  EXPECT_EQ(param_of(responses({{"instructions", {"a"}}})), "instructions");
  EXPECT_EQ(param_of(responses({{"stream", "yes"}})), "stream");
  EXPECT_EQ(param_of(responses({{"reasoning", "high"}})), "reasoning");
  EXPECT_EQ(param_of(responses({{"reasoning", {{"effort", 3}}}})), "reasoning.effort");
}

TEST(ResponsesRequest, MaxOutputTokensMustBeAPositiveInteger) {
  for (const json& bad : {json(0), json(-5), json(1.5), json("10"), json(true), json(1e300)}) {
    EXPECT_EQ(param_of(responses({{"max_output_tokens", bad}})), "max_output_tokens") << bad;
  }
}

TEST(ResponsesRequest, AnEffortIsTheUpstreamsToJudge) {
  const CompletionRequest r = parse(responses({{"reasoning", {{"effort", "extreme"}}}}));
  EXPECT_EQ(r.body["reasoning"]["effort"], "extreme");
}

TEST(ResponsesRequest, TheUpstreamBodyCarriesTheGatewaysCapAndTheRest) {
  const CompletionRequest r = parse(responses({{"max_output_tokens", 300},
                                               {"max_tokens", 900},
                                               {"n", 4},
                                               {"ignore_eos", true},
                                               {"reasoning", {{"effort", "low"}}},
                                               {"temperature", 0.2},
                                               {"my_length", 5},
                                               {"some_vendor_field", {{"x", 1}}}}));
  const std::vector<std::string> extra = {"my_length"};
  const json body =
      responses_upstream_body(r, 120, "upstream-model", {.extra_length_fields = extra});
  EXPECT_EQ(body["model"], "upstream-model");
  EXPECT_EQ(body["max_output_tokens"], 120);
  EXPECT_FALSE(body.contains("max_tokens"));
  EXPECT_FALSE(body.contains("n"));
  EXPECT_FALSE(body.contains("ignore_eos"));
  EXPECT_FALSE(body.contains("my_length"));
  EXPECT_EQ(body["reasoning"]["effort"], "low");
  EXPECT_EQ(body["temperature"], 0.2);
  EXPECT_EQ(body["some_vendor_field"]["x"], 1);
  EXPECT_EQ(body["input"], "What is 2 + 2?");
  // The gateway sets the cap even when the client set none; an empty upstream model keeps the
  // client's.
  const json uncapped = responses_upstream_body(parse(responses()), 64, "");
  EXPECT_EQ(uncapped["max_output_tokens"], 64);
  EXPECT_EQ(uncapped["model"], "m");
}

TEST(ResponsesRequest, TheUpstreamBodyCarriesTheThinkingBudgetBelowTheCap) {
  const CompletionRequest r =
      parse(responses({{"max_output_tokens", 3000}, {"thinking_token_budget", 99999}}));
  const json body = responses_upstream_body(
      r, 1000, "", {.thinking_budget_field = "thinking_token_budget", .answer_reserve = 200});
  EXPECT_EQ(body["max_output_tokens"], 1000);
  EXPECT_EQ(body["thinking_token_budget"], 800);  // the client's value never reaches the upstream
}

TEST(ResponsesRequest, UsageIsOutputTokens) {
  EXPECT_EQ(reported_usage(json{{"usage", {{"input_tokens", 3}, {"output_tokens", 7}}}}).tokens(),
            7);
  EXPECT_TRUE(reported_usage(json{{"usage", {{"output_tokens", -1}}}}).implausible());
  EXPECT_TRUE(reported_usage(json{{"usage", {{"output_tokens", "7"}}}}).implausible());
  EXPECT_TRUE(reported_usage(json{{"usage", 7}}).implausible());
  EXPECT_TRUE(reported_usage(json{{"usage", nullptr}}).absent());
  EXPECT_TRUE(reported_usage(json{{"usage", {{"input_tokens", 3}}}}).absent());
  EXPECT_TRUE(reported_usage(json("x")).absent());
}

TEST(ResponsesRequest, OutputTextJoinsTheOutputsText) {
  const json response = {
      {"output",
       {{{"type", "reasoning"}, {"summary", {{{"type", "summary_text"}, {"text", "think "}}}}},
        {{"type", "message"}, {"content", {{{"type", "output_text"}, {"text", "four"}}}}}}}};
  EXPECT_EQ(responses_output_text(response), "think four");
  EXPECT_EQ(responses_output_text(json::object()), "");
}

}  // namespace
}  // namespace clearhouse::openai
