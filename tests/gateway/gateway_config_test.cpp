// The gateway config: a full file, the defaults of a minimal one, path resolution, and one test per
// class of error, each checking the message names the file, line and field (and never a secret).
#include "gateway/gateway_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "gateway/gateway.h"
#include "gateway_config_test_util.h"
#include "support/run_binary.h"

namespace clearhouse::gateway {
namespace {

using namespace config_testing;  // NOLINT: the helpers read as part of each test

TEST(GatewayConfig, ParsesEveryFieldOfAFullConfig) {
  const GatewayConfig c = parse_gateway_config(kFull, "/etc/clearhouse/gateway.yaml",
                                               env_of({{"REMOTE_KEY", kUpstreamSecret}}));
  EXPECT_EQ(c.source, "/etc/clearhouse/gateway.yaml");
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 9090);
  EXPECT_EQ(c.ledger_path, "/var/lib/clearhouse/gateway.db");
  EXPECT_EQ(c.budget_tokens, 1'000'000);
  EXPECT_EQ(c.window_seconds, 60);
  EXPECT_EQ(c.predictor_path, "/etc/clearhouse/models/qwen.model");
  EXPECT_EQ(c.policy, PacingPolicy::kUniform);
  EXPECT_EQ(c.on_abandon, AbandonAction::kDegrade);
  EXPECT_EQ(c.degrade_tokens, 32);
  EXPECT_DOUBLE_EQ(c.utility.alpha, 3.5);
  EXPECT_DOUBLE_EQ(c.utility.beta, 0.01);
  EXPECT_EQ(c.pacer.window_queries, 128u);
  EXPECT_DOUBLE_EQ(c.pacer.headroom_share, 0.2);
  EXPECT_DOUBLE_EQ(c.pacer.price_band_share, 0.1);
  EXPECT_EQ(c.pacer.horizon_seconds, 86400);
  EXPECT_EQ(c.pacer.min_tokens, 8);
  EXPECT_EQ(c.pacer.max_tokens, 4096);
  EXPECT_DOUBLE_EQ(c.pacer.default_tau, 300.0);
  EXPECT_DOUBLE_EQ(c.auction.value_usd, 0.02);
  EXPECT_DOUBLE_EQ(c.auction.outside_value_usd, 0.001);
  EXPECT_EQ(c.limits.max_body_bytes, 65536u);
  EXPECT_DOUBLE_EQ(c.limits.header_timeout_seconds, 2.5);
  EXPECT_DOUBLE_EQ(c.limits.idle_timeout_seconds, 1.0);
  EXPECT_EQ(c.limits.max_connections, 100u);
  EXPECT_EQ(c.limits.max_json_depth, 32);
  EXPECT_DOUBLE_EQ(c.limits.shutdown_grace_seconds, 0.0);

  ASSERT_EQ(c.upstreams.size(), 2u);
  const UpstreamConfig& local = c.upstreams[0];
  EXPECT_EQ(local.name, "local");
  EXPECT_EQ(local.base_url, "http://127.0.0.1:9000");  // trailing '/' dropped
  EXPECT_EQ(local.model, "qwen2.5-math-7b");
  EXPECT_DOUBLE_EQ(local.price_per_mtok, 0.6);
  EXPECT_EQ(local.api_key_env, "");
  EXPECT_EQ(local.api_key, "");
  ASSERT_EQ(local.accuracy_curve.size(), 2u);
  EXPECT_DOUBLE_EQ(local.accuracy_curve[1].tokens, 1024.0);
  EXPECT_DOUBLE_EQ(local.accuracy_curve[1].accuracy, 0.72);
  EXPECT_DOUBLE_EQ(local.connect_timeout_seconds, 1.0);
  EXPECT_DOUBLE_EQ(local.read_timeout_seconds, 30.0);
  EXPECT_DOUBLE_EQ(local.total_timeout_seconds, 90.0);
  const UpstreamConfig& remote = c.upstreams[1];
  EXPECT_EQ(remote.name, "remote.v2");
  EXPECT_EQ(remote.base_url, "https://api.example.com");  // the gateway appends /v1/...
  EXPECT_EQ(remote.aliases, (std::vector<std::string>{"gpt-x-latest", "default"}));
  EXPECT_TRUE(local.aliases.empty());
  EXPECT_EQ(c.health.failure_threshold, 5);
  EXPECT_DOUBLE_EQ(c.health.cooldown_seconds, 2.5);
  EXPECT_EQ(remote.api_key_env, "REMOTE_KEY");
  EXPECT_EQ(remote.api_key, kUpstreamSecret);
  EXPECT_TRUE(remote.accuracy_curve.empty());
  EXPECT_DOUBLE_EQ(remote.read_timeout_seconds, 120.0);
  EXPECT_EQ(c.find_upstream("remote.v2"), &c.upstreams[1]);
  EXPECT_EQ(c.find_upstream("nope"), nullptr);

  ASSERT_EQ(c.keys.size(), 2u);
  EXPECT_EQ(c.keys[0].id, "team-a");
  EXPECT_EQ(c.keys[0].sha256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(c.keys[0].budget_tokens, 200000);
  EXPECT_EQ(c.keys[1].budget_tokens, std::nullopt);
  EXPECT_EQ(c.admin_key_sha256, "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9");
}

TEST(GatewayConfig, MinimalConfigTakesTheDocumentedDefaults) {
  const GatewayConfig c = parse(kMinimal);
  const GatewayConfig d;
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.ledger_path, "gw.db");
  EXPECT_EQ(c.budget_tokens, 1000);
  EXPECT_EQ(c.window_seconds, 3600);
  EXPECT_EQ(c.predictor_path, "");
  EXPECT_EQ(c.policy, PacingPolicy::kClear);
  EXPECT_EQ(c.on_abandon, AbandonAction::kReject);
  EXPECT_EQ(c.degrade_tokens, 64);
  EXPECT_DOUBLE_EQ(c.utility.alpha, 2.0);
  EXPECT_DOUBLE_EQ(c.utility.beta, 0.0);
  EXPECT_EQ(c.pacer.window_queries, 512u);
  EXPECT_DOUBLE_EQ(c.pacer.headroom_share, 0.1);
  EXPECT_DOUBLE_EQ(c.pacer.price_band_share, 0.05);
  EXPECT_EQ(c.pacer.horizon_seconds, 0);
  EXPECT_EQ(c.pacer.min_tokens, 1);
  EXPECT_EQ(c.pacer.max_tokens, 32768);
  EXPECT_DOUBLE_EQ(c.pacer.default_tau, 256.0);
  EXPECT_DOUBLE_EQ(c.auction.value_usd, 0.01);
  EXPECT_DOUBLE_EQ(c.auction.outside_value_usd, 0.0);
  EXPECT_EQ(c.limits.max_body_bytes, 1u << 20);
  EXPECT_DOUBLE_EQ(c.limits.header_timeout_seconds, 10.0);
  EXPECT_DOUBLE_EQ(c.limits.idle_timeout_seconds, 5.0);
  EXPECT_EQ(c.limits.max_connections, 10000u);
  EXPECT_EQ(c.limits.max_json_depth, 64);
  EXPECT_DOUBLE_EQ(c.limits.shutdown_grace_seconds, 30.0);
  EXPECT_EQ(c.health.failure_threshold, 3);
  EXPECT_DOUBLE_EQ(c.health.cooldown_seconds, 10.0);
  ASSERT_EQ(c.upstreams.size(), 1u);
  EXPECT_TRUE(c.upstreams[0].aliases.empty());
  EXPECT_EQ(c.upstreams[0].api, UpstreamApi::kChat);
  EXPECT_DOUBLE_EQ(c.upstreams[0].price_per_mtok, 0.0);
  EXPECT_DOUBLE_EQ(c.upstreams[0].connect_timeout_seconds, 5.0);
  EXPECT_DOUBLE_EQ(c.upstreams[0].read_timeout_seconds, 120.0);
  EXPECT_DOUBLE_EQ(c.upstreams[0].total_timeout_seconds, 600.0);
  EXPECT_TRUE(c.keys.empty());
  EXPECT_EQ(c.admin_key_sha256, "");
  // The struct's own defaults agree with the parser's.
  EXPECT_EQ(c.window_seconds, d.window_seconds);
  EXPECT_EQ(c.pacer.max_tokens, d.pacer.max_tokens);
  EXPECT_EQ(c.limits.max_body_bytes, d.limits.max_body_bytes);
  EXPECT_EQ(c.health.failure_threshold, d.health.failure_threshold);
  EXPECT_DOUBLE_EQ(c.health.cooldown_seconds, d.health.cooldown_seconds);
}

// OpenAI clients are configured with base URLs ending in /v1; the gateway appends /v1/... itself,
// so the config drops one trailing /v1 (and trailing slashes), and only from the path.
TEST(GatewayConfig, ReadsTheFrontDoorLimitsAndPassesThemToTheServer) {
  const std::string yaml = kMinimal +
                           "limits: {body_timeout_seconds: 4, max_connections_per_client: 8, "
                           "max_header_bytes: 4096, max_header_count: 20, max_url_bytes: 512, "
                           "event_loops: 1, header_timeout_seconds: 0.25}\n";
  const GatewayConfig c = parse_gateway_config(yaml, "gateway.yaml", env_of({}));
  const http::HttpServerOptions o = front_door_options(c);
  EXPECT_EQ(o.body_timeout, std::chrono::milliseconds(4000));
  EXPECT_EQ(o.header_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(o.max_connections_per_client, 8u);
  EXPECT_EQ(o.max_header_bytes, 4096u);
  EXPECT_EQ(o.max_header_count, 20u);
  EXPECT_EQ(o.max_url_bytes, 512u);
  EXPECT_EQ(o.io_threads, 1u);
  EXPECT_EQ(o.max_body_bytes, c.limits.max_body_bytes);
  EXPECT_THROW(parse_gateway_config(kMinimal + "limits: {max_header_count: 2}\n", "gateway.yaml",
                                    env_of({})),
               config::ConfigError);
}

TEST(GatewayConfig, BaseUrlLosesATrailingV1) {
  EXPECT_EQ(normalize_base_url("http://h:8000"), "http://h:8000");
  EXPECT_EQ(normalize_base_url("http://h:8000/"), "http://h:8000");
  EXPECT_EQ(normalize_base_url("http://h:8000/v1"), "http://h:8000");
  EXPECT_EQ(normalize_base_url("http://h:8000/v1/"), "http://h:8000");
  EXPECT_EQ(normalize_base_url("http://h:8000/v1//"), "http://h:8000");
  EXPECT_EQ(normalize_base_url("https://h/openai/v1"), "https://h/openai");
  EXPECT_EQ(normalize_base_url("https://h/openai/"), "https://h/openai");
  EXPECT_EQ(normalize_base_url("http://h/v1/v1"), "http://h/v1");  // one, as written twice
  EXPECT_EQ(normalize_base_url("http://h/v10"), "http://h/v10");
  EXPECT_EQ(normalize_base_url("http://h/api-v1"), "http://h/api-v1");
  EXPECT_EQ(normalize_base_url("http://v1"), "http://v1");  // a host, not a path
  const GatewayConfig c = parse(
      "ledger: x.db\nbudget: {completion_tokens: 1}\nupstreams:\n"
      "  - {name: a, base_url: 'http://127.0.0.1:9000/v1/', model: m}\n");
  EXPECT_EQ(c.upstreams[0].base_url, "http://127.0.0.1:9000");
}

TEST(GatewayConfig, NullValuesOfOptionalFieldsMeanDefault) {
  const GatewayConfig c = parse(kMinimal + "predictor:\nkeys: ~\npacer: {max_tokens: 32}\n");
  EXPECT_EQ(c.predictor_path, "");
  EXPECT_TRUE(c.keys.empty());
  EXPECT_EQ(c.degrade_tokens, 32);  // the default 64 is clamped to a smaller max_tokens
}

TEST(GatewayConfig, ResolvesRelativePathsAgainstTheConfigFolder) {
  const std::string yaml =
      "ledger: data/../gw.db\npredictor: ../models/m.model\n"
      "budget: {completion_tokens: 1}\n"
      "upstreams: [{name: a, base_url: 'http://h:1', model: m}]\n";
  const GatewayConfig nested = parse_gateway_config(yaml, "/srv/ch/conf/gateway.yaml", env_of({}));
  EXPECT_EQ(nested.ledger_path, "/srv/ch/conf/gw.db");
  EXPECT_EQ(nested.predictor_path, "/srv/ch/models/m.model");
  const GatewayConfig here = parse_gateway_config(yaml, "gateway.yaml", env_of({}));
  EXPECT_EQ(here.ledger_path, "gw.db");
  const GatewayConfig absolute = parse_gateway_config(
      "ledger: /tmp/x.db\nbudget: {completion_tokens: 1}\n"
      "upstreams: [{name: a, base_url: 'http://h:1', model: m}]\n",
      "/srv/gateway.yaml", env_of({}));
  EXPECT_EQ(absolute.ledger_path, "/tmp/x.db");
}

TEST(GatewayConfig, ListenAcceptsHostPortAndBracketedIpv6) {
  GatewayConfig c = parse("listen: '[::1]:0'\n" + kMinimal);
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 0);
  c = parse("listen: localhost:65535\n" + kMinimal);
  EXPECT_EQ(c.listen_host, "localhost");
  EXPECT_EQ(c.listen_port, 65535);
}

TEST(GatewayConfigErrors, ExampleMessageShapeForAWrongType) {
  const std::string yaml = kMinimal +
                           "  - name: other\n"  // line 5
                           "    base_url: http://10.0.0.1:80\n"
                           "    model: m\n"
                           "    price_per_mtok: cheap\n";  // line 8
  EXPECT_EQ(error_of(yaml),
            "gateway.yaml:8: upstreams[1].price_per_mtok: must be a number >= 0 (got \"cheap\")");
}

TEST(GatewayConfigErrors, UnknownKeysAreNamedWithTheKnownOnes) {
  std::string e = error_of(kMinimal + "budgets: 5\n");
  EXPECT_TRUE(
      Check(e, StartsWith("gateway.yaml:5: budgets: unknown key (known: listen, ledger, budget,")));
  EXPECT_TRUE(Check(e, HasSubstr("admin_key)")));
  e = error_of(kMinimal +
               "  - {name: b, base_url: 'http://h:1', model: m, api_key: sk-live-123}\n");
  EXPECT_TRUE(
      Check(e, StartsWith("gateway.yaml:5: upstreams[1].api_key: unknown key (known: name,")));
  EXPECT_TRUE(Check(e, Not(HasSubstr("sk-live-123"))));
  e = error_of(kMinimal + "limits: {max_body: 1}\n");
  EXPECT_TRUE(Check(e, StartsWith("gateway.yaml:5: limits.max_body: unknown key")));
  e = error_of(kMinimal +
               "  - name: b\n    base_url: http://h:1\n    model: m\n"
               "    timeouts: {connect: 1}\n");
  EXPECT_TRUE(
      Check(e, StartsWith("gateway.yaml:8: upstreams[1].timeouts.connect: unknown key (known: "
                          "connect_seconds, read_seconds, total_seconds)")));
}

TEST(GatewayConfigErrors, RequiredFieldsMissing) {
  EXPECT_TRUE(Check(error_of("budget: {completion_tokens: 1}\n"
                             "upstreams: [{name: a, base_url: 'http://h:1', model: m}]\n"),
                    StartsWith("gateway.yaml:1: ledger: is required")));
  EXPECT_TRUE(Check(error_of("ledger: x.db\nbudget: {window_seconds: 60}\n"
                             "upstreams: [{name: a, base_url: 'http://h:1', model: m}]\n"),
                    StartsWith("gateway.yaml:2: budget.completion_tokens: is required")));
  EXPECT_TRUE(Check(error_of("ledger: x.db\nbudget: {completion_tokens: 1}\n"),
                    StartsWith("gateway.yaml:1: upstreams: is required")));
  EXPECT_TRUE(Check(error_of("ledger: x.db\nbudget: {completion_tokens: 1}\nupstreams: []\n"),
                    StartsWith("gateway.yaml:3: upstreams: needs at least one upstream")));
  const std::string head = "ledger: x.db\nbudget: {completion_tokens: 1}\nupstreams:\n";
  EXPECT_TRUE(Check(error_of(head + "  - {base_url: 'http://h:1', model: m}\n"),
                    StartsWith("gateway.yaml:4: upstreams[0].name: is required")));
  EXPECT_TRUE(Check(error_of(head + "  - {name: a, model: m}\n"),
                    StartsWith("gateway.yaml:4: upstreams[0].base_url: is required")));
  EXPECT_TRUE(Check(error_of(head + "  - name: a\n    base_url: http://h:1\n    model:\n"),
                    StartsWith("gateway.yaml:6: upstreams[0].model: is required")));
}

TEST(GatewayConfigErrors, TypesAndRanges) {
  const auto with = [](const std::string& extra) { return error_of(kMinimal + extra); };
  EXPECT_EQ(error_of("ledger: x\nbudget: {completion_tokens: 0}\n"),
            "gateway.yaml:2: budget.completion_tokens: must be an integer in [1, 1099511627776] "
            "(got \"0\")");
  EXPECT_TRUE(Check(error_of("ledger: x\nbudget: {completion_tokens: 1.5}\n"),
                    HasSubstr("budget.completion_tokens: must be an integer")));
  EXPECT_TRUE(Check(error_of("ledger: [a, b]\n"),
                    StartsWith("gateway.yaml:1: ledger: must be a string (got a list)")));
  EXPECT_TRUE(Check(error_of("ledger: x\nbudget: 5\n"),
                    StartsWith("gateway.yaml:2: budget: must be a mapping (got a scalar)")));
  EXPECT_TRUE(Check(with("utility: {alpha: 0}\n"),
                    StartsWith("gateway.yaml:5: utility.alpha: must be a number > 0 (got \"0\")")));
  EXPECT_TRUE(
      Check(with("utility: {beta: .nan}\n"), HasSubstr("utility.beta: must be a number >= 0")));
  EXPECT_TRUE(Check(with("pacer: {min_tokens: 100, max_tokens: 10}\n"),
                    HasSubstr("gateway.yaml:5: pacer.max_tokens: pacer.max_tokens (10) must be >= "
                              "pacer.min_tokens (100)")));
  EXPECT_TRUE(Check(with("pacer: {window_queries: 0}\n"),
                    HasSubstr("pacer.window_queries: must be an integer")));
  EXPECT_TRUE(Check(with("pacer: {default_tau: -1}\n"),
                    HasSubstr("pacer.default_tau: must be a number > 0")));
  EXPECT_TRUE(Check(with("pacer: {headroom_share: 1.5}\n"),
                    HasSubstr("pacer.headroom_share: must be a number in [0, 1]")));
  EXPECT_TRUE(Check(with("pacer: {price_band_share: 0}\n"),
                    HasSubstr("pacer.price_band_share: must be a number > 0 and <= 1")));
  EXPECT_TRUE(Check(with("pacer: {horizon_seconds: -5}\n"),
                    HasSubstr("pacer.horizon_seconds: must be an integer in [0,")));
  EXPECT_TRUE(
      Check(with("degrade_tokens: 0\n"), HasSubstr("degrade_tokens: must be an integer in [1,")));
  EXPECT_TRUE(Check(with("degrade_tokens: 40000\n"),
                    HasSubstr("degrade_tokens: must be <= pacer.max_tokens (32768)")));
  EXPECT_TRUE(Check(
      with("policy: greedy\n"),
      StartsWith(
          "gateway.yaml:5: policy: must be one of clear, uniform, predictor (got \"greedy\")")));
  EXPECT_TRUE(
      Check(with("on_abandon: drop\n"), HasSubstr("on_abandon: must be one of reject, degrade")));
  EXPECT_TRUE(Check(with("limits: {header_timeout_seconds: 0}\n"),
                    HasSubstr("limits.header_timeout_seconds: must be a number > 0 and <= 86400")));
  EXPECT_TRUE(Check(with("limits: {max_json_depth: 100000}\n"),
                    HasSubstr("limits.max_json_depth: must be an integer in [1, 10000]")));
  EXPECT_TRUE(Check(with("auction: {value_usd: -0.01}\n"),
                    HasSubstr("auction.value_usd: must be a number >= 0")));
  EXPECT_TRUE(Check(with("budget: {completion_tokens: 1}\n"),
                    HasSubstr("budget: duplicate key (first on line 2)")));
  EXPECT_TRUE(Check(error_of("ledger: x\nbudget: {completion_tokens: 5, window_seconds: -1}\n"),
                    HasSubstr("gateway.yaml:2: budget.window_seconds: must be an integer in [0,")));
  EXPECT_TRUE(
      Check(error_of("- a\n- b\n"), StartsWith("gateway.yaml:1: must be a mapping (got a list)")));
}

// The arrival forecast the first pacer took is refused with what replaced it, whatever its value.
TEST(GatewayConfigErrors, ExpectedRequestsPerWindowIsRefusedWithWhatReplacedIt) {
  for (const std::string value : {"0", "500"}) {
    const std::string e =
        error_of(kMinimal + "pacer:\n  expected_requests_per_window: " + value + "\n");
    EXPECT_TRUE(Check(e, StartsWith("gateway.yaml:6: pacer.expected_requests_per_window: was "
                                    "removed: the pacer no longer forecasts arrivals")));
    EXPECT_TRUE(Check(e, HasSubstr("plan line")));
    EXPECT_TRUE(Check(e, HasSubstr("pacer.horizon_seconds")));
  }
}

TEST(GatewayConfigErrors, UpstreamFields) {
  const std::string head = "ledger: x.db\nbudget: {completion_tokens: 1}\nupstreams:\n";
  EXPECT_TRUE(
      Check(error_of(head + "  - {name: 'a b', base_url: 'http://h:1', model: m}\n"),
            StartsWith("gateway.yaml:4: upstreams[0].name: must be 1 to 64 characters of A-Z a-z "
                       "0-9 . _ - (got \"a b\")")));
  EXPECT_TRUE(Check(
      error_of(head + "  - {name: a, base_url: 'ftp://h:1', model: m}\n"),
      StartsWith("gateway.yaml:4: upstreams[0].base_url: must start with http:// or https://")));
  EXPECT_TRUE(Check(error_of(head + "  - {name: a, base_url: 'http://h:99999', model: m}\n"),
                    HasSubstr("upstreams[0].base_url: the port must be an integer in [1, 65535]")));
  const std::string with_password =
      error_of(head + "  - {name: a, base_url: 'http://user:hunter2@h:1', model: m}\n");
  EXPECT_TRUE(
      Check(with_password, HasSubstr("upstreams[0].base_url: must not contain credentials")));
  EXPECT_TRUE(Check(with_password, Not(HasSubstr("hunter2"))));
  EXPECT_TRUE(Check(error_of(head + "  - {name: a, base_url: 'http://h:1', model: m}\n"
                                    "  - {name: a, base_url: 'http://h:2', model: m}\n"),
                    StartsWith("gateway.yaml:5: upstreams[1]: duplicate upstream name \"a\" (also "
                               "upstreams[0], line 4)")));
  EXPECT_TRUE(
      Check(error_of(head + "  - {name: a, base_url: 'http://h:1', model: m, "
                            "timeouts: {total_seconds: 100000}}\n"),
            HasSubstr("upstreams[0].timeouts.total_seconds: must be a number > 0 and <= 86400")));
}

TEST(GatewayConfigErrors, UpstreamApi) {
  const std::string head = "ledger: x.db\nbudget: {completion_tokens: 1}\nupstreams:\n";
  EXPECT_TRUE(
      Check(error_of(head + "  - {name: a, base_url: 'http://h:1', model: m, api: completions}\n"),
            StartsWith("gateway.yaml:4: upstreams[0].api: must be chat or responses (got "
                       "\"completions\")")));
  for (const std::string api : {"chat", "responses"}) {
    const GatewayConfig c = parse_gateway_config(
        head + "  - {name: a, base_url: 'http://h:1', model: m, api: " + api + "}\n",
        "gateway.yaml", env_of({}));
    EXPECT_EQ(to_string(c.upstreams[0].api), api);
    EXPECT_EQ(describe_config(c)["upstreams"][0]["api"], api);
  }
}

TEST(GatewayConfigErrors, ModelNamesAndAliases) {
  const std::string head = "ledger: x.db\nbudget: {completion_tokens: 1}\nupstreams:\n";
  EXPECT_TRUE(Check(error_of(head + "  - {name: a, base_url: 'http://h:1', model: 'm x'}\n"),
                    StartsWith("gateway.yaml:4: upstreams[0].model: must be 1 to 256 printable "
                               "ASCII characters without blanks (got \"m x\")")));
  EXPECT_TRUE(Check(error_of(head + "  - {name: a, base_url: 'http://h:1', model: ''}\n"),
                    StartsWith("gateway.yaml:4: upstreams[0].model:")));
  EXPECT_TRUE(
      Check(error_of(head + "  - {name: a, base_url: 'http://h:1', model: m, aliases: [n, m]}\n"),
            StartsWith("gateway.yaml:4: upstreams[0].aliases[1]: repeats the upstream's model (got "
                       "\"m\")")));
  EXPECT_TRUE(
      Check(error_of(head + "  - {name: a, base_url: 'http://h:1', model: m, aliases: [n, n]}\n"),
            StartsWith("gateway.yaml:4: upstreams[0].aliases[1]: is listed twice (got \"n\")")));
  EXPECT_TRUE(
      Check(error_of(head + "  - {name: a, base_url: 'http://h:1', model: m, aliases: n}\n"),
            StartsWith("gateway.yaml:4: upstreams[0].aliases:")));
  // Several upstreams may serve one name: that is what the auction chooses between.
  const GatewayConfig c = parse(head +
                                "  - {name: a, base_url: 'http://h:1', model: m, aliases: [n]}\n"
                                "  - {name: b, base_url: 'http://h:2', model: n, aliases: [m]}\n");
  EXPECT_EQ(c.upstreams[1].aliases, std::vector<std::string>{"m"});
}

TEST(GatewayConfigErrors, HealthSettings) {
  EXPECT_TRUE(Check(error_of(kMinimal + "health: {failure_threshold: 0}\n"),
                    HasSubstr("health.failure_threshold: must be an integer")));
  EXPECT_TRUE(Check(error_of(kMinimal + "health: {cooldown_seconds: 0}\n"),
                    HasSubstr("health.cooldown_seconds: must be a number > 0 and <= 86400")));
  EXPECT_TRUE(Check(error_of(kMinimal + "health: {cooldown: 5}\n"),
                    HasSubstr("health.cooldown: unknown key (known: failure_threshold, "
                              "cooldown_seconds)")));
}

TEST(GatewayConfigErrors, AccuracyCurveIsValidated) {
  const std::string head =
      "ledger: x.db\nbudget: {completion_tokens: 1}\nupstreams:\n"
      "  - name: a\n    base_url: http://h:1\n    model: m\n";
  EXPECT_TRUE(
      Check(error_of(head + "    accuracy_curve: [[1024, 0.7], [256, 0.4]]\n"),
            StartsWith("gateway.yaml:7: upstreams[0].accuracy_curve: point 1: tokens must be "
                       "strictly increasing")));
  EXPECT_TRUE(Check(
      error_of(head + "    accuracy_curve: [[256, 1.5]]\n"),
      HasSubstr("upstreams[0].accuracy_curve[0][1]: must be a number in [0, 1] (got \"1.5\")")));
  EXPECT_TRUE(
      Check(error_of(head + "    accuracy_curve: [[256]]\n"),
            HasSubstr("upstreams[0].accuracy_curve[0]: must be a pair [tokens, accuracy]")));
}

TEST(GatewayConfigErrors, ApiKeyEnvMustBeSetAndIsNeverEchoed) {
  const std::string yaml =
      kMinimal + "  - {name: b, base_url: 'http://h:1', model: m, api_key_env: B_KEY}\n";
  EXPECT_EQ(error_of(yaml),
            "gateway.yaml:5: upstreams[1].api_key_env: environment variable B_KEY is not set");
  EXPECT_TRUE(Check(error_of(yaml, env_of({{"B_KEY", ""}})),
                    HasSubstr("environment variable B_KEY is empty")));
  // A line break in the key would end its Authorization header early (and it is not echoed).
  const std::string broken = error_of(yaml, env_of({{"B_KEY", "sk-abc\r\nX-Injected: 1"}}));
  EXPECT_TRUE(Check(broken, HasSubstr("environment variable B_KEY holds a control character")));
  EXPECT_EQ(broken.find("sk-abc"), std::string::npos);
  EXPECT_TRUE(
      Check(error_of(kMinimal +
                     "  - {name: b, base_url: 'http://h:1', model: m, api_key_env: 'B-KEY'}\n"),
            HasSubstr("upstreams[1].api_key_env: must be an environment variable name")));
  // An error later in the file, after the key was read, does not carry it either.
  const std::string e =
      error_of(yaml + "keys: [{id: a, sha256: nothex}]\n", env_of({{"B_KEY", kUpstreamSecret}}));
  EXPECT_TRUE(Check(e, HasSubstr("keys[0].sha256")));
  EXPECT_TRUE(Check(e, Not(HasSubstr(kUpstreamSecret))));
}

TEST(GatewayConfigErrors, KeysAndAdminKey) {
  const std::string hash_a = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  const std::string hash_b = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
  // A raw key pasted where the hash belongs must not be printed.
  const std::string pasted = error_of(kMinimal + "keys:\n  - {id: a, sha256: ch-raw-secret-key}\n");
  EXPECT_EQ(
      pasted,
      "gateway.yaml:6: keys[0].sha256: must be 64 hex characters: the SHA-256 of the key, from "
      "`clearhouse hash-key` (got 17 characters, not shown)");
  EXPECT_TRUE(
      Check(error_of(kMinimal + "keys:\n  - {id: a, sha256: " + hash_a +
                     "}\n  - {id: a, sha256: " + hash_b + "}\n"),
            StartsWith("gateway.yaml:7: keys[1]: duplicate key id \"a\" (also keys[0], line 6)")));
  // The same hash in another case is the same key.
  std::string upper = hash_a;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(
      Check(error_of(kMinimal + "keys:\n  - {id: a, sha256: " + hash_a +
                     "}\n  - {id: b, sha256: " + upper + "}\n"),
            StartsWith("gateway.yaml:7: keys[1].sha256: the same hash as keys[0] (line 6)")));
  EXPECT_TRUE(
      Check(error_of(kMinimal + "keys:\n  - {id: a, sha256: " + hash_a + ", budget_tokens: -5}\n"),
            HasSubstr("keys[0].budget_tokens: must be an integer in [0,")));
  EXPECT_TRUE(Check(error_of(kMinimal + "keys:\n  - {id: a, sha256: " + hash_a +
                             "}\nadmin_key: {sha256: " + hash_a + "}\n"),
                    StartsWith("gateway.yaml:7: admin_key.sha256: the same hash as keys[0]")));
  const std::string admin_scalar = error_of(kMinimal + "admin_key: my-admin-secret\n");
  EXPECT_EQ(admin_scalar, "gateway.yaml:5: admin_key: must be a mapping (got a scalar)");
}

TEST(GatewayConfigErrors, ListenMustBeHostPort) {
  EXPECT_TRUE(Check(error_of("listen: 8080\n" + kMinimal),
                    StartsWith("gateway.yaml:1: listen: must be host:port: no port")));
  EXPECT_TRUE(
      Check(error_of("listen: 'localhost:70000'\n" + kMinimal),
            HasSubstr("listen: must be host:port: the port must be an integer in [0, 65535] "
                      "(got \"localhost:70000\")")));
  EXPECT_TRUE(Check(error_of("listen: '::1:8080'\n" + kMinimal), HasSubstr("needs brackets")));
  EXPECT_TRUE(Check(error_of("listen: ':8080'\n" + kMinimal), HasSubstr("the host is empty")));
}

TEST(GatewayConfigErrors, SyntaxErrorsEmptyFilesAndMissingFiles) {
  const std::string syntax = error_of("ledger: x\nbudget: {completion_tokens: 1\n");
  EXPECT_TRUE(Check(syntax, StartsWith("gateway.yaml:")));
  EXPECT_TRUE(Check(syntax, HasSubstr(": YAML syntax error: ")));
  EXPECT_TRUE(Check(error_of("ledger: x\n  bad: indent: here\n"), StartsWith("gateway.yaml:2:")));
  EXPECT_TRUE(Check(error_of(""), StartsWith("gateway.yaml:1: the file is empty")));
  EXPECT_TRUE(
      Check(error_of("# only a comment\n"), StartsWith("gateway.yaml:1: the file is empty")));
  const auto missing = clearhouse::testing::scratch_dir() / "nope.yaml";
  try {
    (void)load_gateway_config(missing);
    ADD_FAILURE() << "no error for a missing file";
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              missing.string() + ": cannot open the config file (missing or unreadable)");
  }
}

}  // namespace
}  // namespace clearhouse::gateway
