// The gateway config, continued: loading a file, describing a config without its secrets, the
// shipped example, and the length fields (limits.extra_length_fields, and each upstream's
// max_tokens_field and thinking_budget).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/gateway.h"
#include "gateway/gateway_config.h"
#include "gateway_config_test_util.h"
#include "support/run_binary.h"

namespace clearhouse::gateway {
namespace {

using namespace config_testing;  // NOLINT: the helpers read as part of each test

TEST(GatewayConfig, LoadsAFileAndResolvesAgainstItsFolder) {
  const auto dir = clearhouse::testing::scratch_dir();
  {
    std::ofstream out(dir / "gateway.yaml");
    out << kMinimal;
  }
  const GatewayConfig c = load_gateway_config(dir / "gateway.yaml");
  EXPECT_EQ(c.source, (dir / "gateway.yaml").string());
  EXPECT_EQ(c.ledger_path, (dir / "gw.db").string());
}

TEST(GatewayConfig, DescribeConfigHasSettingsButNoSecrets) {
  const GatewayConfig c = parse_gateway_config(kFull, "/etc/clearhouse/gateway.yaml",
                                               env_of({{"REMOTE_KEY", kUpstreamSecret}}));
  const nlohmann::json d = describe_config(c);
  const std::string text = d.dump();
  EXPECT_TRUE(Check(text, Not(HasSubstr(kUpstreamSecret))));
  for (const ClientKeyConfig& k : c.keys) EXPECT_TRUE(Check(text, Not(HasSubstr(k.sha256))));
  EXPECT_TRUE(Check(text, Not(HasSubstr(c.admin_key_sha256))));
  EXPECT_EQ(d["budget"]["completion_tokens"], 1'000'000);
  EXPECT_EQ(d["policy"], "uniform");
  EXPECT_EQ(d["listen"]["port"], 9090);
  EXPECT_EQ(d["upstreams"][1]["api_key_env"], "REMOTE_KEY");
  EXPECT_EQ(d["upstreams"][1]["api_key_set"], true);
  EXPECT_EQ(d["upstreams"][0]["accuracy_curve"][1][0], 1024.0);
  EXPECT_EQ(d["keys"][0]["id"], "team-a");
  EXPECT_EQ(d["keys"][0]["budget_tokens"], 200000);
  EXPECT_TRUE(d["keys"][1]["budget_tokens"].is_null());
  EXPECT_EQ(d["admin_enabled"], true);
  EXPECT_EQ(d["limits"]["max_json_depth"], 32);
  EXPECT_EQ(d["upstreams"][1]["aliases"], nlohmann::json({"gpt-x-latest", "default"}));
  EXPECT_EQ(d["health"]["failure_threshold"], 5);
}

TEST(GatewayConfig, TheShippedExampleParses) {
  const std::filesystem::path example =
      std::string(CLEARHOUSE_SOURCE_DIR) + "/examples/gateway.yaml";
  const std::string text = clearhouse::testing::slurp(example);
  ASSERT_FALSE(text.empty()) << example;
  const GatewayConfig c = parse_gateway_config(text, example.string(), env_of({}));
  ASSERT_EQ(c.upstreams.size(), 1u);
  EXPECT_EQ(c.upstreams[0].base_url, "http://127.0.0.1:9000");
  EXPECT_EQ(c.keys.size(), 1u);
  EXPECT_FALSE(c.admin_key_sha256.empty());
  EXPECT_EQ(c.ledger_path, (example.parent_path() / "gateway.db").string());
}

TEST(GatewayConfig, ExtraLengthFieldsAreReadAndDescribed) {
  const GatewayConfig c = parse(
      kMinimal + "limits: {extra_length_fields: [max_gen_len, n_predict, options.num_ctx]}\n");
  EXPECT_EQ(c.limits.extra_length_fields,
            (std::vector<std::string>{"max_gen_len", "n_predict", "options.num_ctx"}));
  EXPECT_EQ(describe_config(c)["limits"]["extra_length_fields"],
            nlohmann::json({"max_gen_len", "n_predict", "options.num_ctx"}));
  EXPECT_TRUE(parse(kMinimal).limits.extra_length_fields.empty());
  EXPECT_TRUE(
      parse(kMinimal + "limits: {extra_length_fields: []}\n").limits.extra_length_fields.empty());
}

TEST(GatewayConfigErrors, BadExtraLengthFieldsAreClearErrors) {
  EXPECT_EQ(error_of(kMinimal + "limits: {extra_length_fields: max_gen_len}\n"),
            "gateway.yaml:5: limits.extra_length_fields: must be a list (got a scalar)");
  EXPECT_TRUE(Check(error_of(kMinimal + "limits: {extra_length_fields: ['has space']}\n"),
                    HasSubstr("limits.extra_length_fields[0]: must be a body field name")));
  EXPECT_TRUE(Check(error_of(kMinimal + "limits: {extra_length_fields: [a, max_tokens]}\n"),
                    HasSubstr("limits.extra_length_fields[1]: names a field the gateway reads or "
                              "sets itself; it cannot be removed (got \"max_tokens\")")));
  EXPECT_TRUE(Check(error_of(kMinimal + "limits: {extra_length_fields: [messages]}\n"),
                    HasSubstr("cannot be removed")));
  EXPECT_TRUE(Check(error_of(kMinimal + "limits: {extra_length_fields: [x, x]}\n"),
                    HasSubstr("limits.extra_length_fields[1]: is listed twice (got \"x\")")));
  EXPECT_TRUE(Check(error_of(kMinimal + "limits: {extra_length_fields: [[1]]}\n"),
                    HasSubstr("limits.extra_length_fields[0]:")));
}

const std::string kUpstreamsHead =
    "ledger: gw.db\n"
    "budget: {completion_tokens: 1000}\n"
    "pacer: {max_tokens: 2048}\n"
    "upstreams:\n";

TEST(GatewayConfig, LengthFieldsOfAnUpstreamAreReadAndDescribed) {
  const GatewayConfig c =
      parse(kUpstreamsHead +
            "  - {name: vllm, base_url: 'http://127.0.0.1:9000', model: m,\n"
            "     max_tokens_field: max_completion_tokens,\n"
            "     thinking_budget: {field: thinking_token_budget, answer_reserve: 300}}\n"
            "  - {name: llama, base_url: 'http://127.0.0.1:9001', model: n, max_tokens_field: "
            "max_tokens,\n"
            "     thinking_budget: {field: reasoning_budget}}\n"
            "  - {name: plain, base_url: 'http://127.0.0.1:9002', model: o}\n");
  ASSERT_EQ(c.upstreams.size(), 3u);
  EXPECT_EQ(c.upstreams[0].max_tokens_field, openai::MaxTokensField::kMaxCompletionTokens);
  EXPECT_EQ(c.upstreams[0].thinking_budget_field, "thinking_token_budget");
  EXPECT_EQ(c.upstreams[0].answer_reserve, 300);
  EXPECT_EQ(c.upstreams[1].max_tokens_field, openai::MaxTokensField::kMaxTokens);
  EXPECT_EQ(c.upstreams[1].thinking_budget_field, "reasoning_budget");
  EXPECT_EQ(c.upstreams[1].answer_reserve, openai::kDefaultAnswerReserve);
  EXPECT_EQ(c.upstreams[2].max_tokens_field, openai::MaxTokensField::kAsClientSent);
  EXPECT_TRUE(c.upstreams[2].thinking_budget_field.empty());
  const nlohmann::json d = describe_config(c);
  EXPECT_EQ(d["upstreams"][0]["max_tokens_field"], "max_completion_tokens");
  EXPECT_EQ(d["upstreams"][0]["thinking_budget"],
            (nlohmann::json{{"field", "thinking_token_budget"}, {"answer_reserve", 300}}));
  EXPECT_EQ(d["upstreams"][2]["max_tokens_field"], "as_client_sent");
  EXPECT_TRUE(d["upstreams"][2]["thinking_budget"].is_null());
  const openai::UpstreamLengths lengths = c.upstreams[0].lengths({});
  EXPECT_EQ(lengths.thinking_budget_field, "thinking_token_budget");
  EXPECT_EQ(lengths.answer_reserve, 300);
}

TEST(GatewayConfigErrors, BadLengthFieldsOfAnUpstreamAreClearErrors) {
  const auto upstream = [](const std::string& fields) {
    return error_of(kUpstreamsHead + "  - {name: u, base_url: 'http://127.0.0.1:9000', model: m, " +
                    fields + "}\n");
  };
  EXPECT_EQ(upstream("max_tokens_field: n_predict"),
            "gateway.yaml:5: upstreams[0].max_tokens_field: must be one of max_tokens, "
            "max_completion_tokens (got \"n_predict\")");
  EXPECT_EQ(upstream("thinking_budget: thinking_token_budget"),
            "gateway.yaml:5: upstreams[0].thinking_budget: must be a mapping (got a scalar)");
  EXPECT_TRUE(Check(upstream("thinking_budget: {answer_reserve: 10}"),
                    HasSubstr("upstreams[0].thinking_budget.field: is required")));
  EXPECT_TRUE(Check(upstream("thinking_budget: {field: 'a b'}"),
                    HasSubstr("upstreams[0].thinking_budget.field: must be a body field name")));
  EXPECT_TRUE(Check(upstream("thinking_budget: {field: max_tokens}"),
                    HasSubstr("upstreams[0].thinking_budget.field: names a field the gateway "
                              "reads or sets itself (got \"max_tokens\")")));
  EXPECT_TRUE(Check(upstream("thinking_budget: {field: t, answer_reserve: -1}"),
                    HasSubstr("upstreams[0].thinking_budget.answer_reserve:")));
  EXPECT_EQ(upstream("thinking_budget: {field: t, answer_reserve: 2048}"),
            "gateway.yaml:5: upstreams[0].thinking_budget.answer_reserve: must be below "
            "pacer.max_tokens (2048), or every thinking budget would be 0");
  EXPECT_TRUE(Check(upstream("thinking_budget: {field: t, reserve: 5}"),
                    HasSubstr("upstreams[0].thinking_budget")));
}

}  // namespace
}  // namespace clearhouse::gateway
